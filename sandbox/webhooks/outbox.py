"""The outbox a fake fills and the ledger table the deliverer writes.

Outbox (`_webhook_outbox` in a service's episode database, see services/payments/schema.sql): one
row per (event, endpoint), written with the event in the transaction of the change that raised it,
so a killed sandbox loses no delivery: what is `pending` is sent when the deliverer next runs.

Ledger (`deliveries` in the episode's ledger.db): one row per attempt and per copy, with what was
sent and what the agent's endpoint answered. Deliveries are not rows of `exchanges`: an exchange's
number is the episode clock (sandbox/clock.py), and deliveries happen at wall-clock moments, so
numbering them among the agent's calls would shift every later `created` by the timing of a
thread. A delivery's `clock` is its event's. Created on first use, so templates and ledgers from
before webhooks need no migration.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sandbox.episodes.ledger import Ledger

DELIVERIES_TABLE = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    via TEXT NOT NULL DEFAULT 'webhook',
    direction TEXT NOT NULL DEFAULT 'inbound',  -- towards the agent
    service TEXT NOT NULL,            -- the fake that raised the event
    outbox_id INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,         -- 1: the first try; 2, 3, ...: the vendor's retries
    copy INTEGER NOT NULL DEFAULT 0,  -- 0: the delivery; 1, 2, ...: duplicates a fault sent
    url TEXT NOT NULL,
    request_headers TEXT NOT NULL DEFAULT '[]',
    request_body BLOB,
    status INTEGER,
    response_headers TEXT,
    response_body BLOB,
    error TEXT,
    outcome TEXT NOT NULL,            -- pending | delivered | failed | faulted | refused | error
    faults TEXT NOT NULL DEFAULT '[]',  -- names of the rules that acted on this attempt
    clock INTEGER NOT NULL,           -- the event's episode clock
    started_at REAL NOT NULL,         -- wall clock, for timing only
    duration_ms REAL
);
CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries (event_id);
"""


def ensure_deliveries_table(conn: sqlite3.Connection) -> None:
    conn.executescript(DELIVERIES_TABLE)


def deliveries(ledger: Ledger) -> list[dict[str, Any]]:
    """Every delivery attempt of the episode, in the order they were sent (for verifiers and reports)."""
    exists = ledger.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='deliveries'").fetchone()
    if not exists:
        return []
    rows = ledger.conn.execute("SELECT * FROM deliveries ORDER BY id").fetchall()
    names = [d[0] for d in ledger.conn.execute("SELECT * FROM deliveries LIMIT 0").description]
    out = []
    for row in rows:
        item = dict(zip(names, row, strict=True))
        item["faults"] = json.loads(item["faults"])
        out.append(item)
    return out


def delivered_events(ledger: Ledger, event_type: str | None = None) -> list[str]:
    """Ids of the events the agent's endpoint accepted (2xx), in arrival order, duplicates included:
    what a verifier reads to ask "did the agent get charge.refunded, and how often"."""
    return [d["event_id"] for d in deliveries(ledger)
            if d["outcome"] == "delivered" and (event_type is None or d["event_type"] == event_type)]
