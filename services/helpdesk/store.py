"""Row access shared by the resources: the episode clock, new ids, lookups and JSON columns."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from flask import g

from sandbox.clock import episode_time, stable_number
from services.common.db import next_counter
from services.common.rows import insert as insert  # re-exported: handlers write with store.insert
from services.common.rows import update as update


def now() -> int:
    """The episode clock at this exchange: the `created_at` of anything this request makes."""
    return episode_time(g.exchange_id or 0, g.episode.clock_start)


def iso(ts: int | None) -> str | None:
    """Zendesk's timestamps: ISO 8601 in UTC with a `Z`, to the second."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dump(value: Any) -> str | None:
    """JSON text for a column: compact, so the ledger's before/after diff well."""
    return None if value is None else json.dumps(value, separators=(",", ":"))


def load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def account(key: str) -> str:
    """A fact about the account this database holds (subdomain, the sandbox agent's id...)."""
    cache = g.get("_account")
    if cache is None:
        cache = g._account = {r["key"]: r["value"] for r in g.db.execute("SELECT key, value FROM _account")}
    return cache[key]


def fetch(table: str, object_id: int) -> sqlite3.Row | None:
    return g.db.execute(f"SELECT * FROM {table} WHERE id=?", (object_id,)).fetchone()




# -- new ids: Zendesk's are increasing integers; ours follow from the rows and counters, so the
# same sequence of writes gives the same ids in every episode of a seed. --------------------------


def new_ticket_id() -> int:
    # Deleted tickets keep their rows, so an id is never handed out twice.
    return int(g.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM tickets").fetchone()[0])


def new_comment_id() -> int:
    return int(g.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM comments").fetchone()[0])


def new_audit_id() -> int:
    # Spaced out: an audit's events are numbered after it (audit id + 1, + 2, ...).
    return int(account("audit_base")) + 1000 * next_counter(g.db, "audits")


def new_user_id() -> int:
    n = next_counter(g.db, "users")
    return stable_number("zendesk-user", account("seed"), "api", n, low=362_000_000_000, high=362_999_999_999)
