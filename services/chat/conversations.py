"""Conversations: list, info, history, replies, members, join.

History is a channel's top level, newest first: thread replies stay in their thread unless they
were broadcast (`reply_broadcast`). Replies are a thread, root first, oldest first. Both page
with a `next_ts:` cursor naming the first message of the next page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g

from services.chat import events, objects, pagination
from services.chat.errors import SlackError
from services.chat.params import Args, request_args
from services.chat.store import channel, insert, is_member, new_ts, parse_ts, ts_key, workspace
from services.chat.wire import ok, warn

bp = Blueprint("conversations", __name__)

TYPES = ("public_channel", "private_channel", "mpim", "im")
TOP_LEVEL = "(thread_ts IS NULL OR thread_ts = ts OR subtype = 'thread_broadcast')"


@bp.route("/api/conversations.list", methods=["GET", "POST"])
def list_all() -> Response:
    """Lists the channels the bot can see (private ones only where it is a member)."""
    args = request_args()
    types = [t.strip() for t in (args.string("types") or "public_channel").split(",") if t.strip()]
    if not types or any(t not in TYPES for t in types):
        raise SlackError("invalid_types", messages=[f"[ERROR] types must be among {', '.join(TYPES)}"])
    limit = pagination.limit(args, pagination.CHANNELS)
    start = pagination.decode(args, "team")
    conditions, params = [], []
    kinds = []
    if "public_channel" in types:
        kinds.append("is_private = 0")
    if "private_channel" in types:
        kinds.append("(is_private = 1 AND id IN (SELECT channel FROM members WHERE user = ?))")
        params.append(workspace().bot_user)
    if not kinds:  # only im / mpim asked for: the bot has no direct messages
        return ok({"channels": [], **pagination.metadata("team", None)})
    conditions.append("(" + " OR ".join(kinds) + ")")
    if args.boolean("exclude_archived"):
        conditions.append("is_archived = 0")
    if start:
        conditions.append("id >= ?")
        params.append(start)
    rows = g.db.execute(
        f"SELECT * FROM channels WHERE {' AND '.join(conditions)} ORDER BY id LIMIT ?", (*params, limit + 1)
    ).fetchall()
    more = rows[limit]["id"] if len(rows) > limit else None
    channels = [objects.conversation(r, num_members=True) for r in rows[:limit]]
    return ok({"channels": channels, **pagination.metadata("team", more)})


@bp.route("/api/conversations.info", methods=["GET", "POST"])
def info() -> Response:
    """Retrieves a conversation's metadata."""
    args = request_args()
    row = channel(args.string("channel", required=True) or "")
    return ok({"channel": objects.conversation(row, num_members=args.boolean("include_num_members"),
                                               locale=args.boolean("include_locale"))})


def _window(args: Args) -> tuple[list[str], list[Any]]:
    """`latest` / `oldest` / `inclusive` as SQL over ts_key."""
    conditions, params = [], []
    inclusive = args.boolean("inclusive")
    for name, op in (("latest", "<"), ("oldest", ">")):
        raw = args.string(name)
        if raw is None or raw.strip() == "":
            continue
        ts = parse_ts(raw)
        if ts is None:
            raise SlackError(f"invalid_ts_{name}")
        if name == "oldest" and ts_key(ts) == 0:
            continue
        conditions.append(f"ts_key {op}{'=' if inclusive else ''} ?")
        params.append(ts_key(ts))
    return conditions, params


@bp.route("/api/conversations.history", methods=["GET", "POST"])
def history() -> Response:
    """Fetches a conversation's history of messages, newest first."""
    args = request_args()
    row = channel(args.string("channel", required=True) or "", member=True)
    limit = pagination.limit(args, pagination.HISTORY)
    conditions, params = _window(args)
    start = pagination.decode(args, "next_ts")
    if start:
        conditions.append("ts_key <= ?")
        params.append(int(start))
    where = " AND ".join(["channel = ?", TOP_LEVEL, *conditions])
    rows = g.db.execute(
        f"SELECT * FROM messages WHERE {where} ORDER BY ts_key DESC LIMIT ?", (row["id"], *params, limit + 1)
    ).fetchall()
    more = str(rows[limit]["ts_key"]) if len(rows) > limit else None
    return ok({
        "messages": objects.messages(rows[:limit]),
        "has_more": more is not None,
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
        **pagination.metadata("next_ts", more),
    })


@bp.route("/api/conversations.replies", methods=["GET", "POST"])
def replies() -> Response:
    """Retrieves a thread: its root, then its replies, oldest first."""
    args = request_args()
    row = channel(args.string("channel", required=True) or "", member=True)
    ts = parse_ts(args.string("ts", required=True))
    found = g.db.execute("SELECT * FROM messages WHERE channel=? AND ts=?", (row["id"], ts)).fetchone() if ts else None
    if found is None:
        raise SlackError("thread_not_found")
    limit = pagination.limit(args, pagination.REPLIES)
    conditions, params = _window(args)
    start = pagination.decode(args, "next_ts")
    if start:
        conditions.append("ts_key >= ?")
        params.append(int(start))
    if found["thread_ts"]:  # a reply names its thread too
        where = " AND ".join(["channel = ?", "thread_ts = ?", *conditions])
        rows = g.db.execute(
            f"SELECT * FROM messages WHERE {where} ORDER BY ts_key LIMIT ?",
            (row["id"], found["thread_ts"], *params, limit + 1),
        ).fetchall()
    else:  # a message without a thread is a thread of one
        rows = [found]
    more = str(rows[limit]["ts_key"]) if len(rows) > limit else None
    return ok({"messages": objects.messages(rows[:limit]), "has_more": more is not None,
               **pagination.metadata("next_ts", more)})


@bp.route("/api/conversations.members", methods=["GET", "POST"])
def members() -> Response:
    """Retrieves the members of a conversation."""
    args = request_args()
    row = channel(args.string("channel", required=True) or "")
    limit = pagination.limit(args, pagination.MEMBERS)
    start = pagination.decode(args, "user_id")
    rows = g.db.execute(
        "SELECT user FROM members WHERE channel=? AND user >= ? ORDER BY user LIMIT ?",
        (row["id"], start or "", limit + 1),
    ).fetchall()
    more = rows[limit]["user"] if len(rows) > limit else None
    return ok({"members": [r["user"] for r in rows[:limit]], **pagination.metadata("user_id", more)})


@bp.route("/api/conversations.join", methods=["GET", "POST"])
def join() -> Response:
    """Joins a public channel (the bot; a private channel needs an invitation)."""
    args = request_args()
    row = channel(args.string("channel", required=True) or "")
    if row["is_private"]:
        raise SlackError("method_not_supported_for_channel_type")
    if row["is_archived"]:
        raise SlackError("is_archived")
    bot = workspace().bot_user
    if is_member(row["id"]):
        warn("already_in_channel")
    else:
        with events.transaction():
            ts = new_ts()
            insert("members", id=f"{row['id']}/{bot}", channel=row["id"], user=bot, joined=int(float(ts)))
            # Slack announces a join in the channel: a `channel_join` message from the joiner.
            insert("messages", id=f"{row['id']}/{ts}", channel=row["id"], channel_private=row["is_private"], ts=ts,
                   ts_key=ts_key(ts), user=bot, subtype="channel_join", text=f"<@{bot}> has joined the channel")
    return ok({"channel": objects.conversation(row)})
