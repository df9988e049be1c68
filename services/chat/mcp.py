"""Slack's MCP server, as `@modelcontextprotocol/server-slack` defines it: the same eight tools, the
same argument names (`channel_id`, `thread_ts`, `timestamp`, ...), served at `https://slack.com/api/mcp`
(Slack's reference server is stdio-only; the API host keeps it behind the route the proxy already
has). The bearer is the bot token, so the episode is bound exactly as on the Web API.

Each tool runs the fake's own Web API method (services/common/mcp_rest.py), so a message posted
here is the row `chat.postMessage` writes. Slack's `{"ok": false, "error": ...}` becomes an `isError`
result naming the error code.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from services.common import mcp_rest
from services.common.mcp import McpServer, Tool, ToolError, add_mcp_endpoint

RULES = ("/api/mcp",)


def _api(method: str, **params: Any) -> Any:
    form = {name: str(value) for name, value in params.items() if value is not None}
    answer = mcp_rest.call("POST", f"/api/{method}", form=form)
    body = answer.body if isinstance(answer.body, dict) else {}
    if not body.get("ok"):
        error = body.get("error") or f"HTTP {answer.status}"
        raise ToolError(f"Slack API error from {method}: {error}")
    return body


def list_channels(args: dict[str, Any]) -> Any:
    return _api("conversations.list", types="public_channel", exclude_archived="true",
                limit=min(int(args.get("limit") or 100), 200), cursor=args.get("cursor"))


def post_message(args: dict[str, Any]) -> Any:
    return _api("chat.postMessage", channel=args["channel_id"], text=args["text"])


def reply_to_thread(args: dict[str, Any]) -> Any:
    return _api("chat.postMessage", channel=args["channel_id"], thread_ts=args["thread_ts"], text=args["text"])


def add_reaction(args: dict[str, Any]) -> Any:
    return _api("reactions.add", channel=args["channel_id"], timestamp=args["timestamp"], name=args["reaction"])


def channel_history(args: dict[str, Any]) -> Any:
    return _api("conversations.history", channel=args["channel_id"], limit=args.get("limit") or 10)


def thread_replies(args: dict[str, Any]) -> Any:
    return _api("conversations.replies", channel=args["channel_id"], ts=args["thread_ts"])


def get_users(args: dict[str, Any]) -> Any:
    return _api("users.list", cursor=args.get("cursor"), limit=min(int(args.get("limit") or 100), 200))


def user_profile(args: dict[str, Any]) -> Any:
    return _api("users.info", user=args["user_id"])


def _schema(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


_CHANNEL = {"type": "string", "description": "The ID of the channel"}
_TS = {"type": "string", "description": "The timestamp of the parent message in the format '1234567890.123456'."
       " Timestamps in the format without the period can be converted by adding the period such that 6 numbers"
       " come after it."}

TOOLS = (
    Tool("slack_list_channels", "List public or pre-defined channels in the workspace with pagination", _schema({
        "limit": {"type": "number", "default": 100, "description": "Maximum number of channels to return"
                  " (default 100, max 200)"},
        "cursor": {"type": "string", "description": "Pagination cursor for next page of results"},
    }), list_channels, read_only=True),
    Tool("slack_post_message", "Post a new message to a Slack channel", _schema({
        "channel_id": {"type": "string", "description": "The ID of the channel to post to"},
        "text": {"type": "string", "description": "The message text to post"},
    }, ("channel_id", "text")), post_message),
    Tool("slack_reply_to_thread", "Reply to a specific message thread in Slack", _schema({
        "channel_id": {"type": "string", "description": "The ID of the channel containing the thread"},
        "thread_ts": _TS,
        "text": {"type": "string", "description": "The reply text"},
    }, ("channel_id", "thread_ts", "text")), reply_to_thread),
    Tool("slack_add_reaction", "Add a reaction emoji to a message", _schema({
        "channel_id": {"type": "string", "description": "The ID of the channel containing the message"},
        "timestamp": {"type": "string", "description": "The timestamp of the message to react to"},
        "reaction": {"type": "string", "description": "The name of the emoji reaction (without ::)"},
    }, ("channel_id", "timestamp", "reaction")), add_reaction),
    Tool("slack_get_channel_history", "Get recent messages from a channel", _schema({
        "channel_id": _CHANNEL,
        "limit": {"type": "number", "default": 10, "description": "Number of messages to retrieve (default 10)"},
    }, ("channel_id",)), channel_history, read_only=True),
    Tool("slack_get_thread_replies", "Get all replies in a message thread", _schema({
        "channel_id": {"type": "string", "description": "The ID of the channel containing the thread"},
        "thread_ts": _TS,
    }, ("channel_id", "thread_ts")), thread_replies, read_only=True),
    Tool("slack_get_users", "Get a list of all users in the workspace with their basic profile information",
         _schema({
             "cursor": {"type": "string", "description": "Pagination cursor for next page of results"},
             "limit": {"type": "number", "default": 100, "description": "Maximum number of users to return"
                       " (default 100, max 200)"},
         }), get_users, read_only=True),
    Tool("slack_get_user_profile", "Get detailed profile information for a specific user", _schema({
        "user_id": {"type": "string", "description": "The user's ID"},
    }, ("user_id",)), user_profile, read_only=True),
)

SERVER = McpServer("slack-mcp-server", "0.6.2", TOOLS)


def init_app(app: Flask) -> None:
    add_mcp_endpoint(app, RULES, SERVER)
