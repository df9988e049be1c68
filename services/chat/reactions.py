"""Reactions: add, remove, get — on messages of channels the bot is in.

Slack names the message by `channel` + `timestamp`; without both it is `no_item_specified`. A name
may come wrapped in colons (":eyes:") and carry a skin tone ("thumbsup::skin-tone-2").
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, g

from services.chat import events, objects
from services.chat.errors import SlackError, missing_argument
from services.chat.params import Args, request_args
from services.chat.store import channel, insert, message, message_id, parse_ts, workspace
from services.chat.wire import ok

bp = Blueprint("reactions", __name__)

_NAME = re.compile(r"^[a-z0-9_+'\-]{1,100}(::skin-tone-[2-6])?$")
MAX_EMOJI = 23  # distinct reactions one message can carry


def _target(args: Args, *, member: bool = True):
    name_channel, stamp = args.string("channel"), args.string("timestamp")
    if name_channel is None or stamp is None:
        raise SlackError("no_item_specified")
    row = channel(name_channel, member=member)
    ts = parse_ts(stamp)
    if ts is None:
        raise SlackError("bad_timestamp")
    found = message(row["id"], ts)
    if found is None or found["subtype"] == "tombstone":
        raise SlackError("message_not_found")
    return row, found


def _name(args: Args) -> str:
    raw = args.string("name")
    if raw is None:
        raise missing_argument("name")
    name = raw.strip().strip(":").lower()
    if not _NAME.match(name):
        raise SlackError("invalid_name")
    return name


@bp.route("/api/reactions.add", methods=["GET", "POST"])
def add() -> Response:
    """Adds a reaction to a message."""
    add_reaction(request_args())
    return ok()


def add_reaction(args: Args) -> None:
    """reactions.add's work, for the Web API and the web client alike (the same rows and events)."""
    row, found = _target(args)
    name = _name(args)
    bot = workspace().bot_user
    key = f"{message_id(row['id'], found['ts'])}/{name}/{bot}"
    with events.transaction():
        if g.db.execute("SELECT 1 FROM reactions WHERE id=?", (key,)).fetchone():
            raise SlackError("already_reacted")
        names = {r[0] for r in g.db.execute("SELECT name FROM reactions WHERE channel=? AND ts=?",
                                            (row["id"], found["ts"]))}
        if name not in names and len(names) >= MAX_EMOJI:
            raise SlackError("too_many_emoji")
        # Slack lists reactions in the order they were first added.
        (n,) = g.db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM reactions").fetchone()
        insert("reactions", id=key, channel=row["id"], ts=found["ts"], name=name, user=bot, n=n)


@bp.route("/api/reactions.remove", methods=["GET", "POST"])
def remove() -> Response:
    """Removes the bot's reaction from a message."""
    remove_reaction(request_args())
    return ok()


def remove_reaction(args: Args) -> None:
    """reactions.remove's work, for the Web API and the web client alike."""
    row, found = _target(args)
    name = _name(args)
    key = f"{message_id(row['id'], found['ts'])}/{name}/{workspace().bot_user}"
    with events.transaction():
        if g.db.execute("DELETE FROM reactions WHERE id=?", (key,)).rowcount == 0:
            raise SlackError("no_reaction")


@bp.route("/api/reactions.get", methods=["GET", "POST"])
def get() -> Response:
    """Gets the reactions of a message (the message itself, with its `reactions`)."""
    args = request_args()
    row, found = _target(args)
    body = objects.one_message(found)
    body["permalink"] = (f"https://{workspace().domain}.slack.com/archives/{row['id']}/p"
                         f"{found['ts'].replace('.', '')}")
    return ok({"type": "message", "channel": row["id"], "message": body})
