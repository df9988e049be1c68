"""Row access shared by the resources: ids and timestamps of new objects, lookups, JSON columns,
and the test cards Stripe's test mode knows (`pm_card_visa`, `tok_chargeDeclined`...)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from flask import g

from sandbox.clock import episode_time, stable_id, stable_token
from services.common.db import next_counter
from services.common.rows import insert as insert  # re-exported: handlers write with store.insert
from services.common.rows import update as update
from services.payments.errors import no_such

# Stripe's id lengths: customers and products are short, money movements are long.
ID_LENGTH = {"cus": 14, "prod": 14, "pm": 24, "price": 24, "pi": 24, "ch": 24, "re": 24, "evt": 24, "we": 24}

# Stripe's test payment methods and tokens -> (brand, last4, funding, decline code or None).
TEST_CARDS: dict[str, tuple[str, str, str, str | None]] = {
    "visa": ("visa", "4242", "credit", None),
    "visa_debit": ("visa", "5556", "debit", None),
    "mastercard": ("mastercard", "4444", "credit", None),
    "amex": ("amex", "8431", "credit", None),
    "discover": ("discover", "1117", "credit", None),
    "chargeDeclined": ("visa", "0002", "credit", "generic_decline"),
    "chargeDeclinedInsufficientFunds": ("visa", "9995", "credit", "insufficient_funds"),
    "chargeDeclinedExpiredCard": ("visa", "0069", "credit", "expired_card"),
}

DECLINE_MESSAGES = {
    "generic_decline": ("card_declined", "Your card was declined."),
    "insufficient_funds": ("card_declined", "Your card has insufficient funds."),
    "expired_card": ("expired_card", "Your card has expired."),
}


def now() -> int:
    """The episode clock at this exchange: the `created` of anything this request makes."""
    return episode_time(g.exchange_id or 0, g.episode.clock_start)


def new_id(prefix: str) -> str:
    """A Stripe-style id from the episode seed and a per-database counter: the same sequence of
    creates gives the same ids in every episode of a seed. "api" keeps them apart from the
    world's own ids, which are numbered from 0 by the world builder."""
    n = next_counter(g.db, prefix)
    return stable_id(prefix, g.episode.seed, "api", n, length=ID_LENGTH.get(prefix, 24))


def client_secret(intent_id: str) -> str:
    return f"{intent_id}_secret_{stable_token('secret', intent_id, length=25)}"


def fetch(table: str, object_id: str) -> sqlite3.Row | None:
    return g.db.execute(f"SELECT * FROM {table} WHERE id=?", (object_id,)).fetchone()


def require(table: str, kind: str, object_id: str, param: str = "id") -> sqlite3.Row:
    """The row, or Stripe's `No such <kind>: '<id>'` (404 for a URL id, 400 for a parameter)."""
    row = fetch(table, object_id)
    if row is None or ("deleted" in row.keys() and row["deleted"]):
        raise no_such(kind, object_id, param)
    return row


def dump(value: Any) -> str | None:
    """JSON text for a column: compact and key-sorted, so the ledger's before/after diff well."""
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))


def load(text: str | None) -> Any:
    return None if text is None else json.loads(text)



