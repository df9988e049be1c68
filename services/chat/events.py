"""Slack's Events API: the events a write raises, in `event_callback` envelopes, into the outbox.

Like payments, events come from the change capture: every write here runs in `transaction()`,
which reads back the `_sandbox_changes` rows the write made before it commits and turns each one
Slack would announce into an event (a message's insert -> `message`, a reaction's insert ->
`reaction_added`, its delete -> `reaction_removed`, a membership -> `member_joined_channel`), if
the app's verified subscription (manifest.py) asks for it. The envelope is what Slack POSTs to the
request URL; the host-side deliverer (sandbox/webhooks/) signs and sends it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import g

from sandbox.clock import episode_time, stable_token
from services.chat.store import workspace
from services.common.db import next_counter, write_transaction

# What a manifest's `bot_events` may name (the ones this fake raises).
BOT_EVENTS = ("message.channels", "message.groups", "reaction_added", "reaction_removed", "member_joined_channel")


@contextmanager
def transaction() -> Iterator[sqlite3.Connection]:
    """`write_transaction`, plus the events of what it changed, written before it commits."""
    with write_transaction(g.db) as conn:
        since = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM _sandbox_changes").fetchone()[0]
        yield conn
        raise_events(conn, since)


def subscription(conn: sqlite3.Connection) -> sqlite3.Row | None:
    """The app's subscription, if it has a verified request URL."""
    return conn.execute("SELECT * FROM event_subscriptions WHERE id=? AND verified=1 AND request_url IS NOT NULL",
                        (workspace().app_id,)).fetchone()


def raise_events(conn: sqlite3.Connection, since_seq: int) -> int:
    sub = subscription(conn)
    if sub is None:
        return 0  # Slack sends nothing to an app without a verified request URL
    wanted = set(json.loads(sub["bot_events"]))
    changes = conn.execute("SELECT tbl, op, before, after FROM _sandbox_changes WHERE seq > ? ORDER BY seq",
                           (since_seq,)).fetchall()
    made = 0
    for tbl, op, before, after in changes:
        row = json.loads(after or before)
        event = _event(conn, tbl, op, row)
        if event is None:
            continue
        name, inner = event
        if name in wanted:
            enqueue(conn, sub, inner)
            made += 1
    return made


def _event(conn: sqlite3.Connection, tbl: str, op: str, row: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(the bot_events name that subscribes to it, the inner event) for one change, or None."""
    if tbl == "messages" and op == "insert":
        private = bool(row["channel_private"])
        inner = {"type": "message", "channel": row["channel"], "user": row["user"], "text": row["text"],
                 "ts": row["ts"], "event_ts": row["ts"], "channel_type": "group" if private else "channel"}
        for key in ("bot_id", "app_id", "subtype", "thread_ts"):
            if row.get(key):
                inner[key] = row[key]
        if row.get("blocks"):
            inner["blocks"] = json.loads(row["blocks"])
        return ("message.groups" if private else "message.channels"), inner
    if tbl == "reactions" and op in ("insert", "delete"):
        author = conn.execute("SELECT user FROM messages WHERE channel=? AND ts=?",
                              (row["channel"], row["ts"])).fetchone()
        kind = "reaction_added" if op == "insert" else "reaction_removed"
        inner = {"type": kind, "user": row["user"], "reaction": row["name"],
                 "item": {"type": "message", "channel": row["channel"], "ts": row["ts"]},
                 "item_user": author[0] if author else None, "event_ts": _event_ts(conn)}
        return kind, inner
    if tbl == "members" and op == "insert":
        private = conn.execute("SELECT is_private FROM channels WHERE id=?", (row["channel"],)).fetchone()
        inner = {"type": "member_joined_channel", "user": row["user"], "channel": row["channel"],
                 "channel_type": "G" if private and private[0] else "C", "team": workspace().id,
                 "event_ts": _event_ts(conn)}
        return "member_joined_channel", inner
    return None


def _event_ts(conn: sqlite3.Connection) -> str:
    """A ts for an event that is not a message: the episode clock, and a counter of its own (the
    messages' counter is left alone, so subscribing changes no message's ts)."""
    seconds = episode_time(g.exchange_id or 0, g.episode.clock_start)
    return f"{seconds}.{next_counter(conn, 'event_ts') % 1_000_000:06d}"


def enqueue(conn: sqlite3.Connection, sub: sqlite3.Row, inner: dict[str, Any]) -> str:
    """Wrap `inner` in Slack's event_callback envelope and add it to the outbox."""
    from services.chat.manifest import signing_secret, verification_token

    w = workspace()
    n = next_counter(conn, "event")
    event_id = "Ev" + stable_token("slack-event", g.episode.seed, n, length=9).upper()
    event_time = int(float(inner["event_ts"]))
    envelope = {
        "token": verification_token(g.episode.seed),
        "team_id": w.id,
        "context_team_id": w.id,
        "api_app_id": w.app_id,
        "event": inner,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [{"enterprise_id": None, "team_id": w.id, "user_id": w.bot_user, "is_bot": True,
                            "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
        "event_context": "4-" + stable_token("slack-event-context", g.episode.seed, n, length=40),
    }
    body = json.dumps(envelope, separators=(",", ":")).encode()
    conn.execute(
        "INSERT INTO _webhook_outbox (event_id, event_type, endpoint_id, url, scheme, secret, body, created)"
        " VALUES (?, ?, ?, ?, 'slack', ?, ?, ?)",
        (event_id, inner["type"], sub["id"], sub["request_url"], signing_secret(g.episode.seed), body, event_time),
    )
    return event_id
