"""Episodes: create, look up, finish. The registry lives in `<home>/control.db`.

An episode is a folder with a copy of each service's template database and a ledger. It becomes
visible in the registry only once its folder is complete, so a crash mid-create leaves no
half-made episode that the proxy or a fake would accept.

Creating is bounded (sandbox/limits.py): at most `max_live_episodes` live at once, and at most
`creations_per_minute` new ones a minute, counted in a token bucket kept in control.db so that
every creator (control API, CLI, sweeps, Python API, in any process) draws from the same one.
A refusal raises EpisodeLimitError and leaves a `create_refused` row in control.db's `events`:
no episode, hence no episode ledger, exists to hold it.

Everything here is the operator's: the episode folder is 0700, its databases and control.db 0600
(SQLite gives a database's -wal and -shm files the database's mode).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.clock import EPISODE_START
from sandbox.episodes.images import write_database, write_ledger
from sandbox.episodes.ledger import Ledger, write_meta
from sandbox.episodes.routes import ServerRoute, parse_routes, routes_to_dict
from sandbox.episodes.templates import LEDGER_TEMPLATE, ensure_templates
from sandbox.errors import EpisodeError, SandboxError
from sandbox.home import Home
from sandbox.limits import Limits, limits_path, load_limits
from services import all_services, service_ids
from services.common.db import open_service_db, sync_changes

CONTROL_SCHEMA = """
CREATE TABLE IF NOT EXISTS episodes (
    id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    seed INTEGER NOT NULL,
    task TEXT,
    mode TEXT NOT NULL,
    faults TEXT,
    recording TEXT,                -- the recording file a record/replay episode writes or answers from
    allowed_hosts TEXT,            -- JSON list of outside hosts this episode may reach (besides the proxy-wide list)
    routes TEXT,                   -- JSON {host: {url, keep_auth}}: hosts sent to a server of the operator's
    fault_seed INTEGER,            -- what the fault profile draws from; NULL (older rows) = the world seed
    status TEXT NOT NULL,          -- live | finished
    clock_start INTEGER NOT NULL,
    created_at REAL NOT NULL,
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS api_keys (
    key TEXT PRIMARY KEY,
    episode TEXT NOT NULL REFERENCES episodes(id),
    service TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS episodes_status ON episodes (status);
-- Token buckets shared by every process of the home (creations per minute).
CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at REAL NOT NULL);
-- What happened to the home rather than to one episode's ledger: refused creations (no ledger
-- exists for them), episodes the reaper could not finish. Kept to the last EVENTS_KEPT rows, so a
-- client hammering a limit cannot fill the disk with its refusals.
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    at REAL NOT NULL
);
"""
EVENTS_KEPT = 10_000
MAX_SEED = 2**63 - 1  # SQLite's INTEGER is 64-bit signed: a larger seed would overflow on insert

EPISODE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MODES = ("live", "record", "replay")
# A host name, `*.suffix`, or an IP address (v6 possibly in brackets): no scheme, port or path.
HOST_PATTERN = re.compile(r"^(\*\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$|^[0-9a-f:.]+$|^\[[0-9a-f:.]+\]$")
# Columns added after the first registries were made: (name, type), added by __init__ when missing.
_LATER_COLUMNS = (("recording", "TEXT"), ("allowed_hosts", "TEXT"), ("fault_seed", "INTEGER"), ("routes", "TEXT"))


def normalize_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


@dataclass(frozen=True)
class HostPatterns:
    """Hosts an episode (or the whole proxy) may reach for real: exact names (`example.org`) and
    suffixes (`*.example.org`, which matches subdomains only, not example.org itself). Kept here,
    free of mitmproxy, so creating an episode can check its list without loading the proxy."""

    exact: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()  # ".example.org" for "*.example.org"

    @classmethod
    def parse(cls, entries: Iterable[str]) -> HostPatterns:
        """Raises ValueError naming the first entry that is not a host or `*.suffix`."""
        exact, suffixes = set(), []
        for entry in entries:
            host = normalize_host(entry) if isinstance(entry, str) else ""
            if not HOST_PATTERN.match(host):
                raise ValueError(entry)
            if host.startswith("*."):
                suffixes.append(host[1:])
            else:
                exact.add(host.strip("[]"))
        return cls(frozenset(exact), tuple(suffixes))

    def __bool__(self) -> bool:
        return bool(self.exact or self.suffixes)

    def matches(self, host: str) -> bool:
        host = normalize_host(host)
        return host in self.exact or (bool(self.suffixes) and host.endswith(self.suffixes))


@dataclass(frozen=True)
class Episode:
    id: str
    token: str
    seed: int
    task: str | None
    mode: str
    faults: str | None
    status: str
    clock_start: int
    created_at: float
    finished_at: float | None
    recording: str | None = None
    allowed_hosts: tuple[str, ...] = ()  # outside hosts this episode's agent may reach, besides the proxy-wide list
    api_keys: dict[str, str] = field(default_factory=dict)
    # The seed the fault profile's draws use instead of the world seed (sweeps' per-trial draws);
    # None (and a registry row from before the column) means the world seed: always an int after init.
    fault_seed: int | None = None
    # Hosts this episode's agent calls that a server of the operator's answers (a model server), on
    # top of the proxy-wide routes: sandbox/episodes/routes.py.
    routes: tuple[ServerRoute, ...] = ()

    def __post_init__(self) -> None:
        if self.fault_seed is None:
            object.__setattr__(self, "fault_seed", self.seed)

    @property
    def live(self) -> bool:
        return self.status == "live"


class EpisodeLimitError(EpisodeError):
    """A new episode was refused by one of the home's limits (`limit` names it: max_live_episodes or
    creations_per_minute). `retry_after`: seconds until a retry can succeed, when that is known."""

    def __init__(self, message: str, hint: str, *, limit: str, retry_after: float | None = None) -> None:
        super().__init__(message, hint=hint)
        self.limit = limit
        self.retry_after = retry_after


class EpisodeStore:
    """The registry of episodes of one sandbox home. Safe to use from many processes."""

    def __init__(self, home: Home) -> None:
        self.home = home
        # Created 0600 before SQLite opens it, so its -wal and -shm are born 0600 too: it holds
        # every episode's proxy token and API keys.
        _create_private(home.control_db)
        self.conn = sqlite3.connect(home.control_db, isolation_level=None, check_same_thread=False, timeout=10)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=10000")
        for suffix in ("", "-wal", "-shm"):  # a registry made before this rule (umask modes)
            _make_private(home.control_db.with_name(home.control_db.name + suffix), 0o600)
        self.conn.executescript(CONTROL_SCHEMA)
        columns = {row[1] for row in self.conn.execute("PRAGMA table_info(episodes)")}
        for name, kind in _LATER_COLUMNS:
            if name in columns:
                continue
            try:  # a registry made before this column existed
                self.conn.execute(f"ALTER TABLE episodes ADD COLUMN {name} {kind}")
            except sqlite3.OperationalError as exc:  # another process added it first
                if "duplicate column" not in str(exc):
                    raise
        self._templates_ready: set[int] = set()

    def close(self) -> None:
        self.conn.close()

    # -- create ------------------------------------------------------------------------------

    def prepare(self, seed: int) -> None:
        """Build the templates of `seed` now, so that creating its episodes is only copying."""
        if seed not in self._templates_ready:
            ensure_templates(self.home, seed)
            self._templates_ready.add(seed)

    def create(
        self,
        seed: int = 0,
        *,
        task: str | None = None,
        episode_id: str | None = None,
        mode: str = "live",
        faults: str | None = None,
        recording: str | None = None,
        allowed_hosts: Iterable[str] | None = (),
        fault_seed: int | None = None,
        routes: Iterable[Any] | Mapping[str, Any] | None = (),
        files: Mapping[str, Path | bytes] | None = None,
        prepare_ledger: Callable[[sqlite3.Connection, Episode], None] | None = None,
    ) -> Episode:
        """A new episode whose services start from the world of `seed`. A `record` episode writes
        its traffic to `recording` (a file path), a `replay` episode is answered from it.
        `allowed_hosts`: outside hosts (`example.org`, `*.example.org`) this episode's agent may
        reach for real, on top of the proxy-wide allow list; no other episode may. `fault_seed`: what
        the fault profile draws from (default: `seed`), so trials of one world can meet different faults.
        `routes`: hosts this episode's agent calls that a server of the operator's answers
        (`api.openai.com=http://127.0.0.1:8000/v1`, or the mapping form; sandbox/episodes/routes.py).
        `files`: databases to copy instead of the seed's templates, by file name (`payments.db`,
        `ledger.db`), as files or images (bytes): a fork starts from a snapshot's (sandbox/episodes/snapshot.py).
        `prepare_ledger(conn, episode)`: more writes to the new ledger, on the connection that writes
        its meta, before the episode is registered (a fork's own history)."""
        if mode not in MODES:
            raise EpisodeError(f"unknown episode mode {mode!r}", hint=f"use one of {', '.join(MODES)}")
        if (mode == "live") != (recording is None):
            raise EpisodeError(f"a {mode} episode {'takes no' if mode == 'live' else 'needs a'} recording",
                               hint="record and replay episodes name their recording file; live ones do not")
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
            raise EpisodeError(f"seed must be an integer from 0 to 2**63-1, got {seed!r}",
                               hint="the same seed gives the same world; any number in that range will do")
        if fault_seed is not None and (not isinstance(fault_seed, int) or isinstance(fault_seed, bool)
                                       or not 0 <= fault_seed <= MAX_SEED):
            raise EpisodeError(f"fault seed must be an integer from 0 to 2**63-1, got {fault_seed!r}",
                               hint="leave it out to draw faults from the world seed")
        if faults is not None:
            from sandbox.faults import profile_ref

            faults = profile_ref(faults)  # validated now, so a bad profile fails before any agent starts
        allowed_hosts = _allowed_hosts(allowed_hosts)
        try:
            routes = parse_routes(routes)
        except SandboxError as exc:
            raise EpisodeError(exc.message, hint=exc.hint) from None
        if episode_id is not None and not EPISODE_ID.match(episode_id):
            raise EpisodeError(
                f"episode id {episode_id!r} is not usable",
                hint="use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            )
        limits = load_limits(self.home)  # read on every create: a new limits.json applies at once
        # Before any copying, so a refused creation costs next to nothing; the id's number is drawn in
        # the same write transaction (one commit instead of two: a new episode is a few ms of disk).
        number = self._admit(limits, number=episode_id is None)
        self.prepare(seed)
        template = self.home.template_dir(seed)
        episode_id = episode_id or f"ep{number:06d}"
        folder = self.home.episode_dir(episode_id)
        try:
            folder.mkdir(mode=0o700)  # the reservation: a second creator of the same id fails here
        except FileExistsError:
            raise EpisodeError(f"episode {episode_id!r} exists already", hint="choose another id") from None
        try:
            for name in [f"{spec.id}.db" for spec in all_services()]:
                write_database(folder / name, (files or {}).get(name, template / name))
            created_at = time.time()
            episode = Episode(
                id=episode_id,
                token=secrets.token_urlsafe(18),
                seed=seed,
                task=task,
                mode=mode,
                faults=faults,
                recording=str(recording) if recording is not None else None,
                allowed_hosts=allowed_hosts,
                fault_seed=fault_seed,
                routes=routes,
                status="live",
                clock_start=EPISODE_START,
                created_at=created_at,
                finished_at=None,
                api_keys={spec.id: spec.key_prefix + secrets.token_urlsafe(18) for spec in all_services()},
            )

            def first_rows(ledger: sqlite3.Connection) -> None:
                write_meta(ledger, _ledger_meta(episode))
                if prepare_ledger is not None:  # a fork's own history
                    prepare_ledger(ledger, episode)

            # Written in memory, then as one file: no -wal/-shm made and checkpointed on the way.
            write_ledger(folder / "ledger.db", (files or {}).get("ledger.db", template / LEDGER_TEMPLATE), first_rows)
            self._insert(episode, limits)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return episode

    def _next(self, name: str) -> int:
        row = self.conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1)"
            " ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
            (name,),
        ).fetchone()
        return int(row[0])

    # -- limits ------------------------------------------------------------------------------

    def live_count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM episodes WHERE status='live'").fetchone()[0])

    def _admit(self, limits: Limits, *, number: bool = False) -> int | None:
        """Raise EpisodeLimitError if the home is full or creating too fast; else take a creation
        token and, with `number`, the next episode number. One write transaction, so processes
        creating at once see each other's tokens."""
        drawn = None
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            refusal = self._full(limits) or self._take_token(limits, time.time())
            if refusal is not None:
                self._refused(refusal)  # kept: the COMMIT below stores the refusal, not a token
            elif number:
                drawn = self._next("episode")
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        if refusal is not None:
            raise refusal
        return drawn

    def _full(self, limits: Limits) -> EpisodeLimitError | None:
        live = self.live_count()
        if live < limits.max_live_episodes:
            return None
        return EpisodeLimitError(
            f"cannot create an episode: {live} episodes are live in this sandbox, the limit is "
            f"{limits.max_live_episodes} (max_live_episodes)",
            hint=f"finish the episodes you are done with (`sandbox episodes finish ID`; idle ones are "
                 f"finished after {limits.idle_seconds:g} s), or raise the limit: `sandbox up "
                 f"--max-live-episodes N`, or max_live_episodes in {limits_path(self.home)}",
            limit="max_live_episodes",
        )

    def _take_token(self, limits: Limits, now: float) -> EpisodeLimitError | None:
        """The creation token bucket: `creations_per_minute` tokens at most, refilled at that rate."""
        capacity = float(limits.creations_per_minute)
        rate = capacity / 60.0
        row = self.conn.execute("SELECT tokens, updated_at FROM buckets WHERE name='create'").fetchone()
        tokens = capacity if row is None else min(capacity, row[0] + max(0.0, now - row[1]) * rate)
        if tokens < 1.0:
            wait = (1.0 - tokens) / rate
            return EpisodeLimitError(
                f"cannot create an episode: this sandbox creates at most {limits.creations_per_minute} "
                f"episodes a minute (creations_per_minute), and they are used up",
                hint=f"retry in {wait:.1f} s, or raise the limit: `sandbox up --creations-per-minute N`, "
                     f"or creations_per_minute in {limits_path(self.home)}",
                limit="creations_per_minute",
                retry_after=wait,
            )
        self.conn.execute(
            "INSERT INTO buckets (name, tokens, updated_at) VALUES ('create', ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET tokens=excluded.tokens, updated_at=excluded.updated_at",
            (tokens - 1.0, now),
        )
        return None

    def _refused(self, error: EpisodeLimitError) -> None:
        detail = {"limit": error.limit, "message": error.message, "pid": os.getpid()}
        if error.retry_after is not None:
            detail["retry_after"] = round(error.retry_after, 3)
        self.record_event("create_refused", detail)

    def record_event(self, kind: str, detail: dict[str, Any]) -> None:
        """A home-level event (control.db `events`), for what belongs to no one episode's ledger."""
        cur = self.conn.execute("INSERT INTO events (kind, detail, at) VALUES (?, ?, ?)",
                                (kind, json.dumps(detail, sort_keys=True), time.time()))
        self.conn.execute("DELETE FROM events WHERE id <= ?", (cur.lastrowid - EVENTS_KEPT,))

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT id, kind, detail, at FROM events WHERE ? IS NULL OR kind=? ORDER BY id", (kind, kind)
        ).fetchall()
        return [{"id": i, "kind": k, "detail": json.loads(d), "at": at} for i, k, d, at in rows]

    def _insert(self, ep: Episode, limits: Limits) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            # Again, inside the write that makes the episode live: another process may have made
            # the last allowed one since _admit looked.
            refusal = self._full(limits)
            if refusal is not None:
                self._refused(refusal)
                self.conn.execute("COMMIT")
                raise refusal
            self.conn.execute(
                "INSERT INTO episodes (id, token, seed, task, mode, faults, recording, allowed_hosts, status,"
                " clock_start, created_at, fault_seed, routes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ep.id, ep.token, ep.seed, ep.task, ep.mode, ep.faults, ep.recording,
                 json.dumps(list(ep.allowed_hosts)) if ep.allowed_hosts else None, ep.status, ep.clock_start,
                 ep.created_at, ep.fault_seed, json.dumps(routes_to_dict(ep.routes)) if ep.routes else None),
            )
            self.conn.executemany(
                "INSERT INTO api_keys (key, episode, service) VALUES (?, ?, ?)",
                [(key, ep.id, service) for service, key in ep.api_keys.items()],
            )
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    # -- look up -----------------------------------------------------------------------------

    def get(self, episode_id: str) -> Episode | None:
        row = self.conn.execute("SELECT * FROM episodes WHERE id=?", (episode_id,)).fetchone()
        return self._episode(row) if row else None

    def require(self, episode_id: str) -> Episode:
        episode = self.get(episode_id)
        if episode is None:
            raise EpisodeError(f"unknown episode {episode_id!r}", hint="sandbox episodes list shows the known ones")
        return episode

    def by_api_key(self, key: str) -> tuple[Episode, str] | None:
        """(episode, service) that `key` belongs to, or None."""
        row = self.conn.execute("SELECT episode, service FROM api_keys WHERE key=?", (key,)).fetchone()
        if row is None:
            return None
        episode = self.get(row[0])
        return (episode, row[1]) if episode else None

    def list(self) -> list[Episode]:
        return [self._episode(r) for r in self.conn.execute("SELECT * FROM episodes ORDER BY created_at")]

    def live_episodes(self) -> list[Episode]:
        rows = self.conn.execute("SELECT * FROM episodes WHERE status='live' ORDER BY created_at").fetchall()
        return [self._episode(r) for r in rows]

    def _episode(self, row: tuple) -> Episode:
        names = [d[0] for d in self.conn.execute("SELECT * FROM episodes LIMIT 0").description]
        values = dict(zip(names, row, strict=True))
        values["allowed_hosts"] = tuple(json.loads(values["allowed_hosts"])) if values.get("allowed_hosts") else ()
        values["routes"] = parse_routes(json.loads(values["routes"])) if values.get("routes") else ()
        keys = dict(
            self.conn.execute("SELECT service, key FROM api_keys WHERE episode=?", (values["id"],)).fetchall()
        )
        return Episode(**values, api_keys=keys)

    # -- finish ------------------------------------------------------------------------------

    def finish(self, episode_id: str, detail: dict[str, Any] | None = None) -> Episode:
        """Close the episode: copy any state change the ledger lacks (after a crash of a fake, say),
        mark it finished, so proxy and fakes refuse further traffic for it. Finishing twice is a
        no-op that returns the finished episode."""
        episode = self.require(episode_id)
        if not episode.live:
            return episode
        reconciled = self.reconcile(episode_id)
        with self.ledger(episode_id) as ledger:
            unfinished = close_pending(ledger)
            ledger.record_event("finished", {**(detail or {}), "reconciled_changes": reconciled,
                                             **({"unfinished_exchanges": unfinished} if unfinished else {})})
        self.mark_finished(episode_id)
        return self.require(episode_id)

    def mark_finished(self, episode_id: str) -> None:
        """Only the registry's part of finishing: from now on proxy and fakes refuse the episode and
        it no longer counts as live. `finish` does this last; alone, it is for an episode whose
        folder is gone or broken, which could not be finished otherwise."""
        self.conn.execute(
            "UPDATE episodes SET status='finished', finished_at=? WHERE id=? AND status='live'",
            (time.time(), episode_id),
        )

    def reconcile(self, episode_id: str) -> int:
        """Copy state changes from the service databases into the ledger; returns how many were missing."""
        added = 0
        with self.ledger(episode_id) as ledger:
            for service in service_ids():
                path = self.home.service_db(episode_id, service)
                if path.exists():
                    conn = open_service_db(path)
                    try:
                        added += sync_changes(conn, ledger, service)
                    finally:
                        conn.close()
        return added

    def ledger(self, episode_id: str) -> Ledger:
        return Ledger(self.home.ledger_path(episode_id))


UNFINISHED = ("the proxy never finished this exchange (it crashed or was killed while the call was open); "
              "closed when the episode finished")


def close_pending(ledger: Ledger) -> int:
    """End every exchange still `pending` as an `error` saying the proxy never finished it; returns how
    many. The proxy ends each exchange it began, so at finish a pending one was cut by a proxy crash:
    left pending it would count as neither an answer nor an error, and the score would hide it."""
    cur = ledger.conn.execute(
        "UPDATE exchanges SET outcome='error', error=?, duration_ms=(? - started_at) * 1000.0"
        " WHERE outcome='pending'", (UNFINISHED, time.time()))
    return cur.rowcount


def _create_private(path: os.PathLike[str]) -> None:
    """Create `path` empty with mode 0600 if it does not exist."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _make_private(path: os.PathLike[str], mode: int) -> None:
    """chmod `path` to `mode` if it exists, is ours and is looser; someone else's file is theirs to fix."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    if info.st_uid == os.getuid() and info.st_mode & 0o777 != mode:
        os.chmod(path, mode)


def _allowed_hosts(entries: Iterable[str] | None) -> tuple[str, ...]:
    """The episode's allow list, checked now (a bad entry fails before any agent starts), normalized
    and without duplicates."""
    if entries is None:
        return ()
    if isinstance(entries, str):
        entries = (entries,)  # one host, not its letters
    hosts = tuple(dict.fromkeys(normalize_host(h) if isinstance(h, str) else h for h in entries))
    try:
        HostPatterns.parse(hosts)
    except ValueError as exc:
        raise EpisodeError(
            f"allowed host {exc.args[0]!r} is not a host name",
            hint="write example.org, or *.example.org for its subdomains, without scheme, port or path",
        ) from None
    return hosts


def _ledger_meta(ep: Episode) -> dict[str, Any]:
    return {
        "episode": ep.id,
        "seed": ep.seed,
        "task": ep.task,
        "mode": ep.mode,
        "faults": ep.faults,
        "fault_seed": ep.fault_seed,
        "recording": ep.recording,
        "allowed_hosts": list(ep.allowed_hosts),
        "routes": routes_to_dict(ep.routes),
        "clock_start": ep.clock_start,
        "created_at": ep.created_at,
        "services": json.dumps(sorted(ep.api_keys)),
    }
