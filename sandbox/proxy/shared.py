"""Per-episode state that every proxy worker sees: a JSON value in the episode's ledger meta.

With N proxy workers on one port (sandbox.proxy.reuseport) any worker may serve any request of any
episode: the kernel picks the worker per connection, and an agent opens several. State that
decides what an episode meets must then live where all of them read it, in order: a fault rule's
match and firing counts (`nth: [3]` fires on the episode's third matching call, whichever worker
sees it), a replay's position in its recording, when a recording started. It lives in the
episode's ledger (SQLite, WAL), the file every worker already writes each exchange to, under a
`meta` key, and is read, changed and written back inside one `BEGIN IMMEDIATE` transaction: one
worker at a time, so two calls of one episode are decided one after the other, never both from
the same old counts. ~30 µs per change (bench/bench_proxy_workers.py runs through it).

A lone proxy goes the same way: one code path, and the state survives a proxy restart.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sandbox.errors import LedgerError

# What reading or writing a ledger may raise (the ledger stage answers 503 for these, as the fault stage does).
WRITE_ERRORS = (LedgerError, sqlite3.Error, OSError)


@dataclass
class Shared:
    """The value under one meta key, as read at the start of the transaction (None: never set)."""

    key: str
    value: Any
    changed: bool = False

    def set(self, value: Any) -> None:
        self.value = value
        self.changed = True


@contextlib.contextmanager
def exclusive(conn: sqlite3.Connection, key: str) -> Iterator[Shared]:
    """The episode-wide value under meta `key` of the ledger `conn` (autocommit mode), to read and
    `set`, with every other worker's writers of this ledger waiting until the block ends. Written
    back, and committed, only if the block set it and did not raise."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        shared = Shared(key, json.loads(row[0]) if row else None)
        yield shared
        if shared.changed:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                         (key, json.dumps(shared.value, separators=(",", ":"))))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
