"""Row access shared by the methods: the workspace, channel lookup with Slack's visibility rules,
message timestamps, and inserts/updates through the episode's connection.

Visibility is the bot's, as Slack applies it to a bot token: a private channel the bot is not in
does not exist for it (`channel_not_found`, never `not_in_channel`, which would confirm it exists);
a public channel it is not in can be listed and described, but not read or written
(`not_in_channel`) until it joins.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from flask import g

from sandbox.clock import episode_time
from services.chat.errors import SlackError
from services.common.db import next_counter
from services.common.rows import insert as insert  # re-exported: handlers write with store.insert
from services.common.rows import update as update

_TS = re.compile(r"^\s*(\d{1,12})(?:\.(\d{0,6}))?\d*\s*$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    domain: str
    email_domain: str
    bot_user: str
    bot_id: str
    app_id: str
    bot_name: str
    created: int

    @property
    def url(self) -> str:
        return f"https://{self.domain}.slack.com/"


def workspace() -> Workspace:
    """The episode's workspace and bot (read once per request)."""
    found = g.get("chat_workspace")
    if found is None:
        row = g.db.execute(
            "SELECT t.*, u.name AS bot_name FROM team t JOIN users u ON u.id = t.bot_user"
        ).fetchone()
        found = g.chat_workspace = Workspace(**{k: row[k] for k in row.keys()})
    return found


# -- timestamps -------------------------------------------------------------------------------


def ts_key(ts: str) -> int:
    """`"1736930000.000100"` -> 1736930000000100: exact ordering (a float loses the micros)."""
    seconds, _, micro = ts.partition(".")
    return int(seconds) * 1_000_000 + int((micro + "000000")[:6])


def parse_ts(value: str | None) -> str | None:
    """A ts argument in Slack's canonical form ("123.000450"), or None when it is not a ts."""
    if value is None:
        return None
    match = _TS.match(value)
    if not match:
        return None
    return f"{int(match.group(1))}.{(match.group(2) or '').ljust(6, '0')}"


def new_ts() -> str:
    """A fresh ts: the episode clock's second, and a per-episode counter for the micro part, so
    two messages in one exchange (or in one second) still differ and sort in posting order."""
    seconds = episode_time(g.exchange_id or 0, g.episode.clock_start)
    return f"{seconds}.{next_counter(g.db, 'ts') % 1_000_000:06d}"


def message_id(channel: str, ts: str) -> str:
    return f"{channel}/{ts}"


# -- channels ---------------------------------------------------------------------------------


def is_member(channel_id: str, user: str | None = None) -> bool:
    user = user or workspace().bot_user
    return g.db.execute("SELECT 1 FROM members WHERE channel=? AND user=?", (channel_id, user)).fetchone() is not None


def visible(row: sqlite3.Row | None) -> bool:
    return row is not None and (not row["is_private"] or is_member(row["id"]))


def channel(value: str, *, by_name: bool = False, member: bool = False) -> sqlite3.Row:
    """The channel `value` names (an id; with `by_name` also "#name" or "name"), as the bot sees it.
    `member` also requires the bot to be in it (reading history, posting, reacting)."""
    value = value.strip()
    row = None
    if _CHANNEL_ID.match(value):
        row = g.db.execute("SELECT * FROM channels WHERE id=?", (value,)).fetchone()
    if row is None and by_name and value:
        row = g.db.execute("SELECT * FROM channels WHERE name=?", (value.removeprefix("#").lower(),)).fetchone()
    if not visible(row):
        raise SlackError("channel_not_found")
    if member and not is_member(row["id"]):
        raise SlackError("not_in_channel")
    return row


# -- messages ---------------------------------------------------------------------------------


def message(channel_id: str, ts: str | None) -> sqlite3.Row | None:
    if ts is None:
        return None
    return g.db.execute("SELECT * FROM messages WHERE id=?", (message_id(channel_id, ts),)).fetchone()




def dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def load(text: str | None) -> Any:
    return None if text is None else json.loads(text)
