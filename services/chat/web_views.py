"""What the web client shows of messages: Slack's message objects (services/chat/objects.py, the
ones the Web API answers) plus author names, readable times and mentions rendered as names.

Text is escaped and shown as stored; only Slack's own markup becomes HTML: `<@U123>` a mention
showing the person's real name (the id kept in `data-user-id`, linked to their profile page),
`<#C123|name>` a channel, `<https://...|label>` a link.
"""

from __future__ import annotations

import html
import re
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flask import g
from markupsafe import Markup

from services.chat import objects
from services.chat.store import workspace

_MARKUP = re.compile(r"<(@U[A-Z0-9]+|#C[A-Z0-9]+|https?://[^>|\s]+)(?:\|([^>]*))?>")


def user_names() -> dict[str, str]:
    """user id -> the name the client shows (real name; the bot's own name for the bot)."""
    names = g.get("chat_user_names")
    if names is None:
        names = {r["id"]: r["real_name"] or r["name"] for r in g.db.execute("SELECT id, name, real_name FROM users")}
        names[workspace().bot_user] = workspace().bot_name
        names.setdefault("USLACKBOT", "Slackbot")
        g.chat_user_names = names
    return names


def render_text(text: str) -> Markup:
    """Slack message text as safe HTML, mentions shown by name and linked to the person's profile.
    Every piece of markup keeps its source in `data-slack`, so a reader can put the text back
    together exactly as the Web API answers it."""
    names, team = user_names(), workspace().id
    out: list[str] = []
    last = 0
    for match in _MARKUP.finditer(text):
        out.append(html.escape(text[last:match.start()]))
        target, label = match.group(1), match.group(2)
        source = html.escape(match.group(0), quote=True)
        if target.startswith("@"):
            user = target[1:]
            name = html.escape(names.get(user, label or user))
            out.append(f'<a class="mention" href="/client/{team}/users/{user}" data-user-id="{user}"'
                       f' data-slack="{source}">@{name}</a>')
        elif target.startswith("#"):
            out.append(f'<span class="channel-mention" data-channel-id="{target[1:]}" data-slack="{source}">#'
                       f"{html.escape(label or target[1:])}</span>")
        else:
            href = html.escape(target, quote=True)
            out.append(f'<a href="{href}" rel="noreferrer" data-slack="{source}">{html.escape(label or target)}</a>')
        last = match.end()
    out.append(html.escape(text[last:]))
    return Markup("".join(out))


def iso_time(ts: str) -> str:
    return datetime.fromtimestamp(int(ts.partition(".")[0]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shown_time(ts: str) -> str:
    return datetime.fromtimestamp(int(ts.partition(".")[0]), UTC).strftime("%b %d, %H:%M UTC")


def messages(rows: Sequence[sqlite3.Row]) -> list[dict[str, Any]]:
    """Rows of one channel -> what a message row of the page shows, from the Web API's objects."""
    names = user_names()
    shown = []
    for body in objects.messages(rows):
        user = body.get("user") or ""
        shown.append({
            "ts": body["ts"],
            "user": user,
            "author": names.get(user, user or "unknown"),
            "text": body.get("text", ""),
            "html": render_text(body.get("text", "")),
            "subtype": body.get("subtype", ""),
            "thread_ts": body.get("thread_ts"),
            "reply_count": body.get("reply_count", 0),
            "reactions": body.get("reactions", []),
            "iso": iso_time(body["ts"]),
            "when": shown_time(body["ts"]),
        })
    return shown
