"""The episode ledger: one SQLite file per episode holding everything a verifier or report needs.

Writers: the proxy (exchanges, faults), the fakes (state changes, and exchanges when an agent calls
a fake directly by base URL), the episode store (meta, events) and scoring (scores). Every write is
its own committed transaction in WAL mode with synchronous=NORMAL: measured at ~25 µs per commit,
and a committed row survives a killed process.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sandbox.clock import EPISODE_START, STEP_SECONDS, episode_time
from sandbox.errors import LedgerError

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    via TEXT NOT NULL,                -- proxy | direct
    service TEXT,                     -- the fake that answered, if any
    outcome TEXT NOT NULL,            -- pending | routed | refused | forwarded | faulted | error
    method TEXT NOT NULL,
    scheme TEXT NOT NULL,
    host TEXT NOT NULL,
    port INTEGER,
    path TEXT NOT NULL,
    query TEXT NOT NULL DEFAULT '',
    request_headers TEXT NOT NULL DEFAULT '[]',
    request_body BLOB,
    status INTEGER,
    response_headers TEXT,
    response_body BLOB,
    error TEXT,
    clock INTEGER NOT NULL,           -- episode clock, unix seconds
    started_at REAL NOT NULL,         -- wall clock, for timing only
    duration_ms REAL
);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    exchange_id INTEGER REFERENCES exchanges(id),
    rule TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    clock INTEGER
);
CREATE TABLE IF NOT EXISTS state_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    seq INTEGER NOT NULL,             -- the change's number in its service database
    exchange_id INTEGER,
    tbl TEXT NOT NULL,
    row_key TEXT NOT NULL,
    op TEXT NOT NULL,                 -- insert | update | delete
    before TEXT,
    after TEXT,
    UNIQUE (service, seq)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS scores (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task TEXT NOT NULL,
    success INTEGER NOT NULL,
    score REAL NOT NULL,
    reasons TEXT NOT NULL,
    details TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS state_changes_exchange ON state_changes (exchange_id);
"""

REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


def connect(path: Path) -> sqlite3.Connection:
    """A connection tuned for the ledger's many small commits (WAL, synchronous=NORMAL)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Credentials never reach the ledger in clear: keep the scheme and the last 4 characters."""
    out = []
    for name, value in headers:
        if name.lower() in REDACTED_HEADERS:
            scheme, _, secret = value.partition(" ")
            tail = secret[-4:] if secret else value[-4:]
            value = f"{scheme} <redacted …{tail}>" if secret else f"<redacted …{tail}>"
        out.append((name, value))
    return out


def create_ledger_file(path: Path, meta: Mapping[str, Any]) -> None:
    """Create a new ledger file with its schema and `meta`; fails if the file exists."""
    if path.exists():
        raise LedgerError(f"ledger {path} already exists", hint="episode ids must be unique")
    conn = connect(path)
    try:
        conn.executescript(SCHEMA)
        write_meta(conn, {"schema_version": SCHEMA_VERSION, **meta})
    finally:
        conn.close()


def write_meta(conn: sqlite3.Connection, meta: Mapping[str, Any]) -> None:
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        [(k, json.dumps(v)) for k, v in meta.items()],
    )
    conn.execute("COMMIT")


class Ledger:
    """Read and write one episode's ledger file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise LedgerError(
                f"no ledger at {self.path}",
                hint="pass the ledger.db of an episode (sandbox episodes list shows them)",
            )
        self.conn = connect(self.path)
        try:
            version = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path} is not a sandbox ledger: {exc}") from exc
        if version is None or json.loads(version[0]) != SCHEMA_VERSION:
            raise LedgerError(
                f"{self.path} has ledger schema {version and version[0]}, this sandbox reads {SCHEMA_VERSION}",
                hint="score it with the sandbox version that wrote it",
            )
        self._clock_start = int(self.meta().get("clock_start", EPISODE_START))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------

    def begin_exchange(
        self,
        *,
        via: str,
        method: str,
        scheme: str,
        host: str,
        port: int | None,
        path: str,
        query: str = "",
        request_headers: Sequence[tuple[str, str]] = (),
        request_body: bytes | None = None,
        service: str | None = None,
        outcome: str = "pending",
    ) -> int:
        """Write the request before anything answers it; returns the exchange id (its sequence)."""
        cur = self.conn.execute(
            "INSERT INTO exchanges (via, service, outcome, method, scheme, host, port, path, query,"
            " request_headers, request_body, clock, started_at)"
            # The clock follows the sequence: the next id is computed inside the same write, so
            # concurrent writers (serialised by SQLite) each see their own.
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? + (SELECT COALESCE(MAX(id), 0) + 1 FROM exchanges) * ?, ?)",
            (
                via,
                service,
                outcome,
                method,
                scheme,
                host,
                port,
                path,
                query,
                json.dumps(redact_headers(request_headers)),
                request_body,
                self._clock_start,
                STEP_SECONDS,
                time.time(),
            ),
        )
        return int(cur.lastrowid)

    def end_exchange(
        self,
        exchange_id: int,
        *,
        outcome: str,
        status: int | None,
        response_headers: Sequence[tuple[str, str]] = (),
        response_body: bytes | None = None,
        error: str | None = None,
        service: str | None = None,
    ) -> None:
        self.conn.execute(
            "UPDATE exchanges SET outcome=?, status=?, response_headers=?, response_body=?, error=?,"
            " service=COALESCE(?, service), duration_ms=(? - started_at) * 1000.0 WHERE id=?",
            (
                outcome,
                status,
                json.dumps(redact_headers(response_headers)),
                response_body,
                error,
                service,
                time.time(),
                exchange_id,
            ),
        )

    def clock_of(self, exchange_id: int) -> int:
        return episode_time(exchange_id, self._clock_start)

    def record_fault(self, exchange_id: int | None, rule: str, action: str, detail: Mapping[str, Any]) -> None:
        clock = self.clock_of(exchange_id) if exchange_id else None
        self.conn.execute(
            "INSERT INTO faults (exchange_id, rule, action, detail, clock) VALUES (?, ?, ?, ?, ?)",
            (exchange_id, rule, action, json.dumps(detail, sort_keys=True), clock),
        )

    def add_state_changes(self, service: str, changes: Iterable[Sequence[Any]]) -> int:
        """Copy change rows (seq, exchange_id, tbl, row_key, op, before, after) from a service
        database. Idempotent: a change already copied is skipped. Returns how many were new."""
        rows = [(service, *row) for row in changes]
        if not rows:
            return 0
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            before = self.conn.total_changes
            self.conn.executemany(
                "INSERT OR IGNORE INTO state_changes (service, seq, exchange_id, tbl, row_key, op, before, after)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            added = self.conn.total_changes - before
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return added

    def max_change_seq(self, service: str) -> int:
        row = self.conn.execute("SELECT MAX(seq) FROM state_changes WHERE service=?", (service,)).fetchone()
        return int(row[0] or 0)

    def record_event(self, kind: str, detail: Mapping[str, Any] | None = None) -> None:
        self.conn.execute(
            "INSERT INTO events (kind, detail, at) VALUES (?, ?, ?)",
            (kind, json.dumps(detail or {}, sort_keys=True), time.time()),
        )

    def record_score(self, task: str, success: bool, score: float, reasons: list[str], details: dict) -> None:
        self.conn.execute(
            "INSERT INTO scores (task, success, score, reasons, details, at) VALUES (?, ?, ?, ?, ?, ?)",
            (task, int(success), score, json.dumps(reasons), json.dumps(details, sort_keys=True), time.time()),
        )

    def set_meta(self, **values: Any) -> None:
        write_meta(self.conn, values)

    # -- reading ---------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def exchanges(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM exchanges ORDER BY id")
        for row in rows:
            row["request_headers"] = json.loads(row["request_headers"] or "[]")
            row["response_headers"] = json.loads(row["response_headers"] or "[]")
        return rows

    def state_changes(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM state_changes ORDER BY service, seq")
        for row in rows:
            row["before"] = json.loads(row["before"]) if row["before"] else None
            row["after"] = json.loads(row["after"]) if row["after"] else None
        return rows

    def faults(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM faults ORDER BY id")
        for row in rows:
            row["detail"] = json.loads(row["detail"])
        return rows

    def events(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM events ORDER BY id")
        for row in rows:
            row["detail"] = json.loads(row["detail"])
        return rows

    def scores(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM scores ORDER BY id")
        for row in rows:
            row["reasons"] = json.loads(row["reasons"])
            row["details"] = json.loads(row["details"])
        return rows
