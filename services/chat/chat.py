"""Messages the bot writes: chat.postMessage, chat.update, chat.delete.

The bot posts as itself (`user` = its user id, with `bot_id`, `app_id` and `bot_profile`, as a
bot token's messages carry) and may edit or delete only its own messages: anyone else's is
`cant_update_message` / `cant_delete_message`, as for a bot on Slack.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g

from sandbox.clock import stable_token
from services.chat import events, objects
from services.chat.errors import SlackError
from services.chat.params import Args, request_args
from services.chat.store import channel, dump, insert, message, message_id, new_ts, parse_ts, ts_key, update, workspace
from services.chat.wire import ok

bp = Blueprint("chat", __name__)

MAX_TEXT = 40_000  # Slack truncates nothing: longer text is `msg_too_long`
MAX_BLOCKS = 50
MAX_ATTACHMENTS = 100


def _content(args: Args) -> dict[str, Any]:
    """text / blocks / attachments of a post or an edit, checked like Slack checks them."""
    text = args.string("text")
    blocks = args.json_array("blocks", "invalid_blocks")
    attachments = args.json_array("attachments", "invalid_attachments")
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    if text and len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    if blocks is not None:
        if len(blocks) > MAX_BLOCKS:
            raise SlackError("invalid_blocks",
                             messages=[f"[ERROR] no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"])
        for n, block in enumerate(blocks):
            if not isinstance(block.get("type"), str):
                raise SlackError("invalid_blocks",
                                 messages=[f"[ERROR] missing required field: type [json-pointer:/blocks/{n}]"])
    if attachments is not None and len(attachments) > MAX_ATTACHMENTS:
        raise SlackError("too_many_attachments")
    if blocks is None and text:
        blocks = [_rich_text(text)]
    return {"text": text or "", "blocks": dump(blocks), "attachments": dump(attachments)}


def _rich_text(text: str) -> dict[str, Any]:
    """The block Slack derives from a plain `text` post (its `block_id` is random on Slack;
    derived from the text here)."""
    return {
        "type": "rich_text",
        "block_id": stable_token("block", text, length=5),
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }


@bp.route("/api/chat.postMessage", methods=["GET", "POST"])
def post_message() -> Response:
    """Sends a message to a channel (by id, or by name like #billing), or a reply to a thread."""
    return ok(send(request_args()))


def send(args: Args) -> dict[str, Any]:
    """chat.postMessage's work and answer, for the Web API and the web client's composer alike
    (one code path: the same rows, the same events)."""
    row = channel(args.string("channel", required=True) or "", by_name=True, member=True)
    if row["is_archived"]:
        raise SlackError("is_archived")
    content = _content(args)
    thread_arg = args.string("thread_ts")
    broadcast = args.boolean("reply_broadcast")
    w = workspace()
    with events.transaction():
        thread_ts = None
        if thread_arg:
            parent = message(row["id"], parse_ts(thread_arg))
            if parent is None or parent["subtype"] == "tombstone":
                raise SlackError("thread_not_found")
            thread_ts = parent["thread_ts"] or parent["ts"]  # a reply to a reply joins the same thread
            if parent["thread_ts"] is None:
                update("messages", parent["id"], thread_ts=parent["ts"])
        ts = new_ts()
        insert(
            "messages",
            id=message_id(row["id"], ts),
            channel=row["id"],
            channel_private=row["is_private"],
            ts=ts,
            ts_key=ts_key(ts),
            user=w.bot_user,
            bot_id=w.bot_id,
            app_id=w.app_id,
            subtype="thread_broadcast" if thread_ts and broadcast else None,
            thread_ts=thread_ts,
            **content,
        )
    body = objects.one_message(message(row["id"], ts))
    return {"channel": row["id"], "ts": ts, "message": body}


def _own_message(args: Args, refusal: str) -> tuple[Any, Any]:
    row = channel(args.string("channel", required=True) or "", by_name=True)
    found = message(row["id"], parse_ts(args.string("ts", required=True)))
    if found is None or found["subtype"] == "tombstone":
        raise SlackError("message_not_found")
    if found["user"] != workspace().bot_user:
        raise SlackError(refusal)
    return row, found


@bp.route("/api/chat.update", methods=["GET", "POST"])
def update_message() -> Response:
    """Updates one of the bot's messages."""
    args = request_args()
    row, found = _own_message(args, "cant_update_message")
    content = _content(args)
    with events.transaction():
        update("messages", found["id"], **content, edited_by=workspace().bot_user, edited_ts=new_ts())
    body = objects.one_message(message(row["id"], found["ts"]))
    return ok({"channel": row["id"], "ts": found["ts"], "text": body["text"], "message": body})


@bp.route("/api/chat.delete", methods=["GET", "POST"])
def delete_message() -> Response:
    """Deletes one of the bot's messages (a thread root with replies leaves a tombstone)."""
    args = request_args()
    row, found = _own_message(args, "cant_delete_message")
    with events.transaction():
        replies = g.db.execute(
            "SELECT COUNT(*) FROM messages WHERE channel=? AND thread_ts=? AND ts != thread_ts",
            (row["id"], found["ts"]),
        ).fetchone()[0]
        g.db.execute("DELETE FROM reactions WHERE channel=? AND ts=?", (row["id"], found["ts"]))
        if replies:
            update("messages", found["id"], subtype="tombstone", user="USLACKBOT", bot_id=None, app_id=None,
                   text="This message was deleted.", blocks=None, attachments=None, edited_by=None, edited_ts=None)
        else:
            g.db.execute("DELETE FROM messages WHERE id=?", (found["id"],))
    return ok({"channel": row["id"], "ts": found["ts"]})
