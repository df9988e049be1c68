"""Per-episode service databases and their change capture.

Every table a fake declares gets three triggers that append to `_sandbox_changes` in the same
database, so a row change and its log entry commit together: a killed process can lose neither
alone. The triggers ask the connection which exchange is running via the SQL function
`sandbox_exchange_id()`; `sync_changes` then copies new entries into the episode ledger before the
response leaves the fake.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sandbox.episodes.ledger import Ledger

CHANGES_TABLE = """
CREATE TABLE IF NOT EXISTS _sandbox_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    exchange_id INTEGER,
    tbl TEXT NOT NULL,
    row_key TEXT NOT NULL,
    op TEXT NOT NULL,
    before TEXT,
    after TEXT
);
CREATE TABLE IF NOT EXISTS _sandbox_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class ExchangeContext:
    """Which exchange the connection is serving now; read by the triggers."""

    __slots__ = ("exchange_id",)

    def __init__(self) -> None:
        self.exchange_id: int | None = None


def user_tables(conn: sqlite3.Connection) -> list[str]:
    return [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE '\\_%' ESCAPE '\\'"
            " AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]


def install_change_capture(conn: sqlite3.Connection) -> None:
    """Create `_sandbox_changes` and the insert/update/delete triggers of every user table.

    Run after the template's rows are inserted, so the world's own rows are not logged as changes.
    Every table needs a single-column primary key (its row key in the ledger)."""
    conn.executescript(CHANGES_TABLE)
    for table in user_tables(conn):
        columns = conn.execute(f"PRAGMA table_info({table})").fetchall()
        keys = [c[1] for c in columns if c[5]]
        if len(keys) != 1:
            raise ValueError(f"table {table} needs exactly one primary-key column for change capture")
        key = keys[0]

        def row_json(alias: str, cols=columns) -> str:
            return "json_object(" + ", ".join(f"'{c[1]}', {alias}.\"{c[1]}\"" for c in cols) + ")"

        for op, when, key_of, before, after in (
            ("insert", "INSERT", "NEW", "NULL", row_json("NEW")),
            ("update", "UPDATE", "NEW", row_json("OLD"), row_json("NEW")),
            ("delete", "DELETE", "OLD", row_json("OLD"), "NULL"),
        ):
            conn.execute(
                f"CREATE TRIGGER IF NOT EXISTS _sandbox_{table}_{op} AFTER {when} ON {table} BEGIN"
                " INSERT INTO _sandbox_changes (exchange_id, tbl, row_key, op, before, after)"
                f" VALUES (sandbox_exchange_id(), '{table}', {key_of}.\"{key}\", '{op}', {before}, {after});"
                " END"
            )


def open_service_db(path: Path | str, context: ExchangeContext | None = None) -> sqlite3.Connection:
    """Open an episode's service database with the function its triggers call.

    Autocommit mode: a handler that writes opens its own `BEGIN IMMEDIATE` transaction (see
    `write_transaction`), so concurrent writers queue instead of failing on upgrade."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    ctx = context or ExchangeContext()
    conn.create_function("sandbox_exchange_id", 0, lambda: ctx.exchange_id, deterministic=False)
    return conn


class write_transaction:
    """`with write_transaction(conn): ...` — BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def next_counter(conn: sqlite3.Connection, name: str) -> int:
    """The next value of a named counter in this database (1, 2, ...): feeds stable ids, so
    the same sequence of creates gives the same ids in every episode of a seed."""
    conn.execute(
        "INSERT INTO _sandbox_counters (name, value) VALUES (?, 1)"
        " ON CONFLICT(name) DO UPDATE SET value = value + 1",
        (name,),
    )
    return int(conn.execute("SELECT value FROM _sandbox_counters WHERE name=?", (name,)).fetchone()[0])


def pending_changes(conn: sqlite3.Connection, after_seq: int) -> list[tuple]:
    return conn.execute(
        "SELECT seq, exchange_id, tbl, row_key, op, before, after FROM _sandbox_changes WHERE seq > ? ORDER BY seq",
        (after_seq,),
    ).fetchall()


def sync_changes(conn: sqlite3.Connection, ledger: Ledger, service: str) -> int:
    """Copy the changes the ledger does not have yet. Idempotent; returns how many were new."""
    rows = pending_changes(conn, ledger.max_change_seq(service))
    return ledger.add_state_changes(service, [tuple(r) for r in rows])
