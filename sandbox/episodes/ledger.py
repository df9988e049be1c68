"""The episode ledger: one SQLite file per episode holding everything a verifier or report needs.

Writers: the proxy (exchanges, faults), the fakes (state changes, and exchanges when an agent calls
a fake directly by base URL), the episode store (meta, events) and scoring (scores). Every write is
its own committed transaction in WAL mode with synchronous=NORMAL: measured at ~25 µs per commit,
and a committed row survives a killed process.

What an exchange row keeps is bounded and redacted, here in the `Ledger` class, so every writer
(the proxy's ledger stage, the fakes in direct mode) does the same:
- bodies: the first `body_cap` bytes (the home's `ledger_body_bytes`, 64 KiB by default) of the
  redacted body, with the full body's length and SHA-256 (of the body as sent, before redaction) in
  `*_body_size` / `*_body_sha256`, and `*_body_truncated` = 1 when the kept bytes are not all of it.
  Without the cap, one 20 MB upload left 84 MB of ledger files.
- secrets: path, query, headers and bodies go through the recordings' `Redactor` (credential
  headers, secret-named fields, token shapes of every vendor and fake, the request's own known
  secrets wherever they come back); state changes get the token shapes redacted. World data
  (emails, card fingerprints, notes) is not secret-shaped and stays readable for leak detection.

Files are private to the operator: `secure(path)` makes a ledger (and its -wal/-shm) 0600.
Schema 1 ledgers (no body sizes) are upgraded in place when opened (`upgrade`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_plus

from sandbox.clock import EPISODE_START, STEP_SECONDS, episode_time
from sandbox.errors import LedgerError
from sandbox.recordings.redact import Redactor

SCHEMA_VERSION = 2
# What the ledger keeps of a body when its writer gives no cap: the default of `Limits.ledger_body_bytes`.
DEFAULT_BODY_CAP = 64 * 1024
# Bodies up to this size are redacted whole, then cut to the cap. A bigger one only as far as it is
# kept (plus a margin, so a token that crosses the cut is still recognised): redacting costs ~0.1 s
# per MB of the proxy's one event-loop thread (measured: 8 MiB took 0.8-1.4 s), which an agent must
# not be able to buy with big bodies.
REDACT_WHOLE_MAX = 256 * 1024
REDACT_MARGIN = 4096
# `"name": "value"` in JSON text that does not parse (a document cut at the cap): secret-named values
# are still redacted by name there.
_JSON_PAIR = re.compile(r'"((?:[^"\\]|\\.){1,200})"\s*:\s*"((?:[^"\\]|\\.)*)"')
# Headers the redactor always rewrites by their name, whatever their value.
_BY_NAME = {name: True for name in ("authorization", "proxy-authorization", "cookie", "set-cookie")}
# Exchanges begun but not yet ended whose request secrets are kept to scrub the response; a writer
# that never ends some exchanges (a killed flow) must not grow this without end.
MAX_PENDING_SECRETS = 4096

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
    request_body BLOB,                -- the first body_cap bytes, redacted
    status INTEGER,
    response_headers TEXT,
    response_body BLOB,
    error TEXT,
    request_body_size INTEGER,        -- the whole body as sent: length and SHA-256 (hex)
    request_body_sha256 TEXT,
    request_body_truncated INTEGER NOT NULL DEFAULT 0,
    response_body_size INTEGER,
    response_body_sha256 TEXT,
    response_body_truncated INTEGER NOT NULL DEFAULT 0,
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

# Columns added by each schema version, for `upgrade`: ALTER TABLE ADD COLUMN is instant in SQLite
# (no table rewrite), so a schema-1 ledger or template becomes a schema-2 one in well under a ms.
UPGRADES: dict[int, tuple[str, ...]] = {
    2: tuple(
        f"ALTER TABLE exchanges ADD COLUMN {column}"
        for column in (
            "request_body_size INTEGER",
            "request_body_sha256 TEXT",
            "request_body_truncated INTEGER NOT NULL DEFAULT 0",
            "response_body_size INTEGER",
            "response_body_sha256 TEXT",
            "response_body_truncated INTEGER NOT NULL DEFAULT 0",
        )
    ),
}

REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


def connect(path: Path) -> sqlite3.Connection:
    """A connection tuned for the ledger's many small commits (WAL, synchronous=NORMAL)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def secure(path: Path | str) -> None:
    """Make a ledger file, and its -wal and -shm files if there, readable by the operator only (0600):
    a ledger holds what agents sent, and a redactor can only catch the secrets it can recognise."""
    for suffix in ("", "-wal", "-shm"):
        try:
            os.chmod(f"{path}{suffix}", 0o600)
        except FileNotFoundError:
            if not suffix:
                raise


def upgrade(conn: sqlite3.Connection, path: Path | str = "ledger") -> int:
    """Bring a ledger's schema to SCHEMA_VERSION in place (one transaction); returns the version it had.
    A ledger newer than this code is refused: it may hold what this version would misread."""
    conn.execute("BEGIN IMMEDIATE")  # concurrent openers of an old ledger: one upgrades, the rest see it done
    try:
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        version = json.loads(row[0]) if row else None
        if not isinstance(version, int) or version > SCHEMA_VERSION or version < 1:
            raise LedgerError(
                f"{path} has ledger schema {version}, this sandbox reads {SCHEMA_VERSION} and older",
                hint="score it with the sandbox version that wrote it",
            )
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in UPGRADES[step]:
                conn.execute(statement)
        if version != SCHEMA_VERSION:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                         (json.dumps(SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version


class BodyDigest:
    """A body seen piece by piece (a stream): its first `cap` bytes, its length and its SHA-256, in
    memory bounded by `cap` however long the body is."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.head = bytearray()
        self.size = 0
        self._sha = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self.size += len(data)
        self._sha.update(data)
        room = self.cap - len(self.head)
        if room > 0:
            self.head += data[:room]

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    @classmethod
    def of(cls, body: bytes, cap: int) -> BodyDigest:
        digest = cls(cap)
        digest.update(body)
        return digest


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The schema-1 header redaction (four names; scheme and last 4 characters kept). The `Ledger`
    now redacts with the recordings' `Redactor`; kept for readers of old ledgers' conventions."""
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
    secure(path)


def write_meta(conn: sqlite3.Connection, meta: Mapping[str, Any]) -> None:
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        [(k, json.dumps(v)) for k, v in meta.items()],
    )
    conn.execute("COMMIT")


class Ledger:
    """Read and write one episode's ledger file.

    body_cap: bytes of each body kept (default DEFAULT_BODY_CAP; writers pass their home's
    `ledger_body_bytes`). redactor: what redacts exchanges and state changes before they are
    written (default: the recordings' `Redactor()`); `redact=False` writes them as given (tests only).
    """

    def __init__(self, path: Path | str, *, body_cap: int | None = None, redactor: Redactor | None = None,
                 redact: bool = True) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise LedgerError(
                f"no ledger at {self.path}",
                hint="pass the ledger.db of an episode (sandbox episodes list shows them)",
            )
        self.body_cap = DEFAULT_BODY_CAP if body_cap is None else body_cap
        self.redactor = (redactor or default_redactor()) if redact else None
        self._known: OrderedDict[int, frozenset[str]] = OrderedDict()  # exchange -> its request's secrets
        self._names: dict[str, bool] = {}  # header name -> redacted by its name (see _quick_head)
        self.conn = connect(self.path)
        try:
            version = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise LedgerError(f"{self.path} is not a sandbox ledger: {exc}") from exc
        if version is None or json.loads(version[0]) != SCHEMA_VERSION:
            try:
                upgrade(self.conn, self.path)
            except sqlite3.OperationalError as exc:  # read-only file or folder: read it as it is
                if "readonly" not in str(exc):
                    self.conn.close()
                    raise
            except LedgerError:
                self.conn.close()
                raise
        self._clock_start = int(self.meta().get("clock_start", EPISODE_START))

    def set_redactor(self, redactor: Redactor) -> None:
        """Redact what is written from now on with `redactor` (the proxy's redaction options changed)."""
        self.redactor = redactor
        self._names.clear()

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
        known_secrets: Iterable[str] = (),
    ) -> int:
        """Write the request before anything answers it; returns the exchange id (its sequence).
        Path, query, headers and body are redacted, the body capped; `known_secrets` are more values
        to scrub wherever they appear, in this request and in its response (e.g. the episode's keys)."""
        headers = list(request_headers)
        body = request_body or b""
        digest = BodyDigest.of(body, self.body_cap) if request_body is not None else None
        known: frozenset[str] = frozenset()
        if self.redactor is not None:
            redactor = self.redactor
            content_type = _header(headers, "content-type")
            body, partial = self._redactable(body)
            known = redactor.known_secrets(headers, query, body, content_type) | {k for k in known_secrets if k}
            head = self._quick_head(path, query, headers, known)
            if head is not None:
                path, query, headers = head
                body = redactor.scrub(redactor.body(body, content_type), known)
            else:
                path, query, headers, body = redactor.request(path, query, headers, body, content_type, known)
            if partial:
                body = self._redact_pairs(body)
        cur = self.conn.execute(
            "INSERT INTO exchanges (via, service, outcome, method, scheme, host, port, path, query,"
            " request_headers, request_body, request_body_size, request_body_sha256, request_body_truncated,"
            " clock, started_at)"
            # The clock follows the sequence: the next id is computed inside the same write, so
            # concurrent writers (serialised by SQLite) each see their own.
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ? + (SELECT COALESCE(MAX(id), 0) + 1 FROM exchanges) * ?, ?)",
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
                json.dumps(headers),
                *self._body_columns(body, digest),
                self._clock_start,
                STEP_SECONDS,
                time.time(),
            ),
        )
        exchange_id = int(cur.lastrowid)
        if known:
            self._known[exchange_id] = known
            while len(self._known) > MAX_PENDING_SECRETS:
                self._known.popitem(last=False)
        return exchange_id

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
        response_digest: BodyDigest | None = None,
    ) -> None:
        """Write the answer. `response_digest` stands for a body the caller only saw go by (a stream):
        its head is what is kept, its size and SHA-256 are the whole body's."""
        headers = list(response_headers)
        if response_digest is not None:
            body, digest = bytes(response_digest.head), response_digest
        else:
            body = response_body or b""
            digest = BodyDigest.of(body, self.body_cap) if response_body is not None else None
        if self.redactor is not None:
            known = self._known.pop(exchange_id, frozenset())
            head = self._quick_head("", "", headers, known)
            headers = head[2] if head is not None else self.redactor.response_headers(headers, known)
            body, partial = self._redactable(body)
            body = self.redactor.response_body(body, _header(headers, "content-type"), known)
            if partial or response_digest is not None and response_digest.size > len(response_digest.head):
                body = self._redact_pairs(body)
            if error:
                error = self.redactor.scrub_text(self.redactor.text(error), known)
        self.conn.execute(
            "UPDATE exchanges SET outcome=?, status=?, response_headers=?, response_body=?, response_body_size=?,"
            " response_body_sha256=?, response_body_truncated=?, error=?,"
            " service=COALESCE(?, service), duration_ms=(? - started_at) * 1000.0 WHERE id=?",
            (
                outcome,
                status,
                json.dumps(headers),
                *self._body_columns(body, digest),
                error,
                service,
                time.time(),
                exchange_id,
            ),
        )

    def _quick_head(self, path: str, query: str, headers: list[tuple[str, str]], known: frozenset[str]
                    ) -> tuple[str, str, list[tuple[str, str]]] | None:
        """Path, query and headers as `Redactor.request` would give them, found cheaply for the usual
        exchange, or None to take the full way. The redactor runs its token regex and its scrub once
        per string (~20 strings an exchange, ~150 µs); here they run once over all the strings joined,
        and only headers redacted by their name (Authorization, *-Key...) go through it one by one.
        Whatever the joined check finds, or any query string, takes the full way."""
        redactor = self.redactor
        assert redactor is not None
        if query:
            return None
        names = self._names
        named = [names[name] if name in names else self._name_rule(name) for name, _ in headers]
        joined = "\n".join([path, *(value for (_, value), by_name in zip(headers, named, strict=True) if not by_name)])
        variants = [joined]
        if "%" in joined or "+" in joined:
            variants += [unquote(joined, errors="surrogateescape"), unquote_plus(joined, errors="surrogateescape")]
        if any(redactor.text(v) != v or redactor.scrub_text(v, known) != v for v in variants):
            return None
        out = [(name, redactor.scrub_text(redactor.headers([(name, value)])[0][1], known)) if by_name else (name, value)
               for (name, value), by_name in zip(headers, named, strict=True)]
        return path, query, out

    def _name_rule(self, name: str) -> bool:
        """Whether the redactor rewrites a header by its name; remembered (an episode sends few names)."""
        assert self.redactor is not None
        if len(self._names) > 1024:
            self._names.clear()
        rule = self._names[name] = bool(_BY_NAME.get(name.lower()) or self.redactor.secret_name(name))
        return rule

    def _redactable(self, body: bytes) -> tuple[bytes, bool]:
        """What of `body` is redacted: all of it up to REDACT_WHOLE_MAX, else the part that is kept plus
        a margin; and whether that is only a part."""
        if len(body) <= max(REDACT_WHOLE_MAX, self.body_cap + REDACT_MARGIN):
            return body, False
        return body[: self.body_cap + REDACT_MARGIN], True

    def _redact_pairs(self, body: bytes) -> bytes:
        """Secret-named `"name": "value"` pairs in a body cut short, whose JSON no longer parses."""
        assert self.redactor is not None
        secret_name = self.redactor.secret_name

        def replace(match: re.Match) -> str:
            return f'"{match.group(1)}": "REDACTED"' if secret_name(match.group(1)) else match.group(0)

        text = body.decode("utf-8", "surrogateescape")
        redacted = _JSON_PAIR.sub(replace, text)
        return body if redacted == text else redacted.encode("utf-8", "surrogateescape")

    def _body_columns(self, redacted: bytes, digest: BodyDigest | None) -> tuple[Any, ...]:
        """(body, size, sha256, truncated) as written: the redacted body cut to the cap. The body is
        redacted whole before it is cut, so a secret-named JSON field is still found in a big body."""
        if digest is None:
            return None, None, None, 0
        kept = redacted[: self.body_cap]
        truncated = digest.size > len(digest.head) or len(redacted) > len(kept)
        return kept or None, digest.size, digest.sha256, int(truncated)

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
        if self.redactor is not None:
            # Token shapes only, as recordings do: the rows' JSON text stays valid (no token pattern
            # spans a quote), world data such as emails stays readable for verifiers and leak checks.
            text = self.redactor.text
            rows = [(svc, seq, xid, tbl, text(str(key)), op, before and text(before), after and text(after))
                    for svc, seq, xid, tbl, key, op, before, after in rows]
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


def _header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)


@functools.cache
def default_redactor() -> Redactor:
    """One shared `Redactor()`: building one compiles every token pattern (~ms)."""
    return Redactor()


_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"})


def scan_ledger(path: Path | str) -> list[Any]:
    """Token-shaped strings (and credential headers not redacted) left in a ledger's exchanges and state
    changes: `sandbox recordings scan` for ledgers. Read-only: the file is not upgraded or changed.
    Returns `sandbox.recordings.scan.Leak`s; `line` is the exchange or state change id."""
    from sandbox.recordings.redact import MARK
    from sandbox.recordings.scan import Leak

    path = Path(path)
    if not path.is_file():
        raise LedgerError(f"no ledger at {path}", hint="give the ledger.db of an episode, or its folder")
    redactor = default_redactor()
    leaks: list[Leak] = []

    def check(row_id: int, where: str, value: object) -> None:
        if isinstance(value, bytes | memoryview):
            value = bytes(value).decode("utf-8", "replace")
        if isinstance(value, str) and value:
            leaks.extend(Leak(path, row_id, f.where, f.kind, f.sample) for f in redactor.findings(value, where))

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        try:
            exchanges = conn.execute("SELECT id, path, query, request_headers, request_body, response_headers,"
                                     " response_body, error FROM exchanges ORDER BY id").fetchall()
            changes = conn.execute("SELECT id, service, tbl, row_key, before, after FROM state_changes ORDER BY id"
                                   ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{path} is not a sandbox ledger: {exc}") from None
    finally:
        conn.close()
    for xid, url_path, query, req_headers, req_body, resp_headers, resp_body, error in exchanges:
        where = f"exchange {xid}"
        for name, value in (("path", url_path), ("query", query), ("request_body", req_body),
                            ("response_body", resp_body), ("error", error)):
            check(xid, f"{where}.{name}", value)
        for side, headers in (("request_headers", req_headers), ("response_headers", resp_headers)):
            for header, value in json.loads(headers or "[]"):
                check(xid, f"{where}.{side}.{header}", value)
                if header.lower() in _CREDENTIAL_HEADERS and value.strip() and MARK not in value \
                        and "<redacted" not in value:  # schema-1 ledgers wrote `<redacted …1234>`
                    leaks.append(Leak(path, xid, f"{where}.{side}.{header}", "credential header not redacted",
                                      value[:8] + "…"))
    for cid, service, table, row_key, before, after in changes:
        where = f"state change {cid} ({service}.{table})"
        for name, value in (("row_key", row_key), ("before", before), ("after", after)):
            check(cid, f"{where}.{name}", value)
    return leaks
