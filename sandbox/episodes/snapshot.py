"""Snapshots and forks: an episode's state at one point, and new episodes that go on from it.

    snap = snapshot(store, "ep000003")            # <home>/episodes/ep000003/snapshots/snap1/
    child = fork(store, snap)                     # a new live episode in that state
    other = fork(store, "ep000003/snap1")         # another, from the same state
    now = fork(store, "ep000003")                 # from a live episode: snapshot now, then fork

A snapshot is a folder (0700, files 0600) holding a copy of each service database and of the
ledger, made with SQLite's backup API (a consistent copy of each file while the fakes and the
proxy may be writing), and `manifest.json`, written last (its presence says the snapshot is
whole): parent, seed, task, fault profile and seed, mode, the ledger position (the last exchange
id it holds), the episode clock there, and the fault state.

Across files, consistency comes from the order of the copies and a check: the ledger first (its
last exchange id is the position), then the services; if an exchange up to the position was still
open, or a service already holds a change of a later exchange, the episode moved between the
copies and they are taken again (for up to BUSY_WAIT_S; then an error names the open exchange).

A fork is an episode like any other, created by `EpisodeStore.create` from the snapshot's files
(so the home's limits, a new id, token and API keys), and:
- its ledger holds the parent's exchanges, faults and state changes up to the position, so its
  score covers the whole trajectory, and its clock (the exchange ids) goes on from the parent's;
  the parent's scores and end events (finished, reaped, agent_exit) are not the fork's and go;
- the services' id counters are in the copied databases: two forks given the same calls make the
  same rows with the same ids (ids come from the world seed and those counters, never the episode);
- its fault state (each rule's match and firing counts, sessions expired until a sign-in) is in its
  ledger's meta `fault_state`, which the proxy's fault stage loads on first sight of the episode
  (sandbox/proxy/faults.py): an `nth: [5]` rule fires on the fork's call 5 as on the parent's.
  The state is rebuilt by replaying the parent's exchanges through a fresh `EpisodeFaults`: its
  decisions depend only on the ordered calls, so the replay reaches the state the proxy had.
The parent's ledger gets a `snapshot` event, the fork's a `forked` event; the parent is not changed
otherwise. Only live-mode episodes fork: a record episode's recording and a replay episode's
position in its recording belong to the one episode.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.clock import STEP_SECONDS, episode_time
from sandbox.episodes.ledger import connect as connect_ledger
from sandbox.episodes.routes import routes_to_dict
from sandbox.episodes.store import EPISODE_ID, Episode, EpisodeStore
from sandbox.errors import EpisodeError
from services import service_ids

SNAPSHOTS = "snapshots"
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
LEDGER = "ledger.db"
BUSY_WAIT_S = 2.0  # how long a snapshot waits for open exchanges to finish before it gives up
# Events of the parent that say how the parent ended: history of the parent, not of the fork.
PARENT_ENDINGS = ("finished", "reaped", "agent_exit")


@dataclass(frozen=True)
class Snapshot:
    """A snapshot on disk: `ref` ("EPISODE/NAME") names it to fork, on every surface."""

    episode: str  # the episode it was taken of
    name: str
    path: Path
    manifest: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.episode}/{self.name}"

    @property
    def position(self) -> int:
        """The last exchange id the snapshot holds: a fork's first call is position + 1."""
        return int(self.manifest["position"])

    def describe(self) -> dict[str, Any]:
        return {"ref": self.ref, **self.manifest}


# -- snapshot ----------------------------------------------------------------------------------------


def snapshot(store: EpisodeStore, episode_id: str, name: str | None = None) -> Snapshot:
    """Copy `episode_id`'s databases and ledger now into a new snapshot `name` (default: snap1,
    snap2...). The episode may be live, even busy, or finished."""
    episode = store.require(episode_id)
    folder = store.home.episode_dir(episode_id)
    if not (folder / LEDGER).exists():
        raise EpisodeError(f"episode {episode_id!r} has no folder to snapshot ({folder})",
                           hint="its files were removed; snapshot an episode whose folder is there")
    if name is not None and not EPISODE_ID.match(name):
        raise EpisodeError(f"snapshot name {name!r} is not usable",
                           hint="use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    root = folder / SNAPSHOTS
    root.mkdir(mode=0o700, exist_ok=True)
    target = _reserve(root, name, episode_id)
    try:
        services = [s for s in service_ids() if (folder / f"{s}.db").exists()]
        position, calls = _copy_consistent(folder, target, services, episode_id, bool(episode.faults))
        state = fault_state(episode, calls)
        manifest = {
            "version": MANIFEST_VERSION,
            "episode": episode.id,
            "name": target.name,
            "seed": episode.seed,
            "fault_seed": episode.fault_seed,
            "task": episode.task,
            "faults": episode.faults,
            "mode": episode.mode,
            "allowed_hosts": list(episode.allowed_hosts),
            "routes": routes_to_dict(episode.routes),
            "services": services,
            "position": position,
            "clock": episode_time(position, episode.clock_start),
            "fault_state": state,
            "created_at": time.time(),
        }
        _write_private(target / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    _event(store.home.ledger_path(episode_id), "snapshot", {"name": target.name, "position": position})
    return Snapshot(episode.id, target.name, target, manifest)


def _reserve(root: Path, name: str | None, episode_id: str) -> Path:
    """Make the snapshot's folder (0700): the reservation of its name, as an episode's folder is."""
    if name is not None:
        try:
            (root / name).mkdir(mode=0o700)
        except FileExistsError:
            raise EpisodeError(f"episode {episode_id!r} has a snapshot {name!r} already",
                               hint="choose another name, or leave it out for the next free one") from None
        return root / name
    taken = [p.name[4:] for p in root.iterdir() if p.name.startswith("snap")]
    number = max((int(n) for n in taken if n.isdigit()), default=0) + 1
    while True:
        try:
            (root / f"snap{number}").mkdir(mode=0o700)
            return root / f"snap{number}"
        except FileExistsError:  # taken meanwhile by another snapshot of the same episode: the next
            number += 1


def _copy_consistent(source: Path, target: Path, services: list[str], episode_id: str, faults: bool
                     ) -> tuple[int, list[tuple]]:
    """Back up the ledger and each service, in one read transaction over all of them (the services
    attached to the ledger's connection: one connection, not one per file), until the copies show
    one moment. Returns the position and, for an episode with a fault profile, the exchanges up to
    it (for `fault_state`)."""
    deadline = time.monotonic() + BUSY_WAIT_S
    while True:
        copied, position, calls, lacking, busy = _try_copy(source, target, services, faults)
        if copied:
            if lacking:
                _sync_changes(target, lacking)
            return position, calls
        if time.monotonic() > deadline:
            raise EpisodeError(
                f"cannot snapshot episode {episode_id!r}: it kept moving for {BUSY_WAIT_S:g} s ({busy})",
                hint="take the snapshot between the agent's calls (or when a held call, such as a hang "
                     "fault, has ended)")
        time.sleep(0.005)


def _try_copy(source: Path, target: Path, services: list[str], faults: bool
              ) -> tuple[bool, int, list[tuple], list[str], str]:
    """One attempt: (copied, position, calls, services whose changes the ledger lacks, why not)."""
    src = sqlite3.connect(source / LEDGER, timeout=10, isolation_level=None)
    try:
        for service in services:
            src.execute("ATTACH DATABASE ? AS ?", (str(source / f"{service}.db"), service))
        # One read transaction: what is inspected is what the backups copy (each file's read
        # snapshot starts at its first read below, in the order the writers write: ledger first).
        src.execute("BEGIN")
        try:
            position, open_, have, calls = _read_ledger(src, faults)
            if open_ is not None:
                return False, position, calls, [], f"exchange {open_} is still open"
            lacking = []
            for service in services:
                last, seq = src.execute(
                    f'SELECT MAX(exchange_id), COALESCE(MAX(seq), 0) FROM "{service}"._sandbox_changes').fetchone()
                if last is not None and last > position:
                    return False, position, calls, [], (
                        f"{service} already holds changes of exchange {last}, after the ledger's last")
                if seq > have.get(service, 0):
                    lacking.append(service)
            _backup(src, "main", target / LEDGER)
            for service in services:
                _backup(src, service, target / f"{service}.db")
            return True, position, calls, lacking, ""
        finally:
            src.execute("COMMIT")
    finally:
        src.close()


def _read_ledger(conn: sqlite3.Connection, faults: bool) -> tuple[int, int | None, dict[str, int], list[tuple]]:
    """(position, first open exchange, last change seq by service, the calls the fault stage decided on)."""
    position = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM main.exchanges").fetchone()[0])
    open_ = conn.execute("SELECT MIN(id) FROM main.exchanges WHERE outcome='pending'").fetchone()[0]
    have = dict(conn.execute("SELECT service, MAX(seq) FROM main.state_changes GROUP BY service").fetchall())
    # As the proxy's fault stage skips them: refused before it (egress, body limit), tunnels, calls
    # a fake answered directly; internal routes are left out by `fault_state`.
    calls = conn.execute(
        "SELECT id, method, host, path, service FROM main.exchanges WHERE via='proxy' AND outcome != 'refused'"
        " AND scheme != 'tcp' ORDER BY id").fetchall() if faults else []
    return position, open_, have, calls


def _backup(src: sqlite3.Connection, schema: str, target: Path) -> None:
    """Copy `schema` of `src` (inside its read transaction) to `target`, 0600 from birth."""
    target.unlink(missing_ok=True)
    _create_private(target)
    dst = sqlite3.connect(target)
    try:
        # Written as create() copies a template: no journal, no fsync (a snapshot is a cache of a
        # moment, not the record: that is the parent's ledger). One file, no -wal beside it, so a
        # fork copies it like a template.
        dst.execute("PRAGMA journal_mode=OFF")
        dst.execute("PRAGMA synchronous=OFF")
        src.backup(dst, name=schema)
    finally:
        dst.close()


def _sync_changes(target: Path, services: list[str]) -> None:
    """Copy into the ledger copy the state changes its services' copies hold and it lacks (a fake
    killed between its write and its ledger write): what `EpisodeStore.reconcile` does at finish."""
    from sandbox.episodes.ledger import Ledger
    from services.common.db import sync_changes

    with Ledger(target / LEDGER) as ledger:
        for service in services:
            conn = sqlite3.connect(target / f"{service}.db")
            try:
                sync_changes(conn, ledger, service)
            finally:
                conn.close()


# -- fault state -------------------------------------------------------------------------------------


def fault_state(episode: Episode, calls: list[tuple]) -> dict[str, Any] | None:
    """The proxy's fault state of `episode` after `calls` (exchange id, method, host, path, service:
    the exchanges the fault stage decided on, in order), rebuilt through a fresh EpisodeFaults.
    None without a profile."""
    if not episode.faults:
        return None
    from sandbox.faults.engine import Call, EpisodeFaults
    from sandbox.proxy.flows import is_internal_path

    profile = _profile(episode.faults, _mtime(episode.faults))
    state = EpisodeFaults(profile, episode.fault_seed)
    for exchange_id, method, host, path, service in calls:
        if not is_internal_path(path):  # refused by the route stage, after the fault stage skipped it
            state.decide(Call(host, method, path, service, exchange_id * STEP_SECONDS))
    return {"profile": episode.faults, "rules": [rule.name for rule in profile.rules], "counts": state.counts,
            "fired": state.fired, "locked": sorted(state.locked)}


@functools.lru_cache(maxsize=64)
def _profile(ref: str, mtime: float | None) -> Any:
    """A profile read once per version of its file (parsing the YAML is ~2 ms of a ~5 ms snapshot)."""
    from sandbox.faults import load_profile

    return load_profile(ref)


def _mtime(ref: str) -> float | None:
    try:
        return os.stat(ref).st_mtime
    except OSError:
        return None  # a library name: the library ships with this code


def restore_faults(state: Any, saved: Mapping[str, Any] | None) -> bool:
    """Set a fresh `EpisodeFaults` to a saved fault state (a fork's), if it is one of the same
    profile; returns whether it did. A profile file changed since the snapshot starts afresh."""
    if not saved or [rule.name for rule in state.profile.rules] != list(saved.get("rules", ())):
        return False
    state.counts = [int(n) for n in saved["counts"]]
    state.fired = [int(n) for n in saved["fired"]]
    state.locked = {int(i) for i in saved["locked"]}
    return True


def saved_fault_state(ledger_path: Path) -> dict[str, Any] | None:
    """A fork's fault state as its ledger holds it (meta `fault_state`), or None (any other episode)."""
    # Read-write, though it only reads: a read-only open of a WAL file fails when no -shm is there yet.
    conn = sqlite3.connect(ledger_path, timeout=10)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key='fault_state'").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return json.loads(row[0]) if row else None


# -- fork --------------------------------------------------------------------------------------------


def load_snapshot(store: EpisodeStore, ref: str) -> Snapshot:
    """The snapshot named `ref`, "EPISODE/NAME"."""
    episode_id, sep, name = ref.partition("/")
    if not sep or not EPISODE_ID.match(episode_id) or not EPISODE_ID.match(name):
        raise EpisodeError(f"{ref!r} does not name a snapshot",
                           hint="write EPISODE/NAME, as `sandbox episodes snapshot` prints it")
    store.require(episode_id)
    path = store.home.episode_dir(episode_id) / SNAPSHOTS / name
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except FileNotFoundError:
        known = ", ".join(s.name for s in list_snapshots(store, episode_id)) or "none"
        raise EpisodeError(f"unknown snapshot {ref!r}", hint=f"episode {episode_id}'s snapshots: {known}") from None
    if manifest.get("version") != MANIFEST_VERSION:
        raise EpisodeError(f"snapshot {ref!r} has manifest version {manifest.get('version')!r}, this sandbox "
                           f"reads {MANIFEST_VERSION}", hint="fork it with the sandbox version that took it")
    return Snapshot(episode_id, name, path, manifest)


def list_snapshots(store: EpisodeStore, episode_id: str) -> list[Snapshot]:
    root = store.home.episode_dir(episode_id) / SNAPSHOTS
    if not root.is_dir():
        return []
    found = [p.name for p in root.iterdir() if (p / MANIFEST).exists()]
    return sorted((load_snapshot(store, f"{episode_id}/{n}") for n in found), key=lambda s: s.manifest["created_at"])


def fork(store: EpisodeStore, source: Snapshot | str, *, episode_id: str | None = None) -> Episode:
    """A new live episode from `source`: a Snapshot, its ref "EPISODE/NAME", or an episode id (a
    snapshot of it is taken now). `episode_id`: the fork's id (default: the next ep number)."""
    if isinstance(source, str):
        source = load_snapshot(store, source) if "/" in source else snapshot(store, source)
    manifest = source.manifest
    if manifest["mode"] != "live":
        raise EpisodeError(f"snapshot {source.ref} is of a {manifest['mode']} episode, which cannot be forked",
                           hint="a recording belongs to one episode: fork snapshots of live episodes")
    files = {f"{s}.db": source.path / f"{s}.db" for s in manifest["services"]}
    files[LEDGER] = source.path / LEDGER
    forked = {"episode": source.episode, "snapshot": source.name, "position": source.position}

    def own_history(conn: sqlite3.Connection, _child: Episode) -> None:
        # The fork's ledger made the fork's (its fault state, its own history) on the connection that
        # writes its meta, before the episode is registered: nobody can call as it before this is done.
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM scores")
            conn.execute(f"DELETE FROM events WHERE kind IN ({', '.join('?' * len(PARENT_ENDINGS))})",
                         PARENT_ENDINGS)
            meta = {"forked_from": forked, "fault_state": manifest["fault_state"]}
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                             [(key, json.dumps(value)) for key, value in meta.items()])
            conn.execute("INSERT INTO events (kind, detail, at) VALUES ('forked', ?, ?)",
                         (json.dumps(forked, sort_keys=True), time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    child = store.create(manifest["seed"], task=manifest["task"], episode_id=episode_id, faults=manifest["faults"],
                         allowed_hosts=manifest["allowed_hosts"], fault_seed=manifest["fault_seed"], files=files,
                         routes=manifest.get("routes"), prepare_ledger=own_history)
    return child


# -- files -------------------------------------------------------------------------------------------


def _event(ledger_path: Path, kind: str, detail: dict[str, Any]) -> None:
    conn = connect_ledger(ledger_path)
    try:
        conn.execute("INSERT INTO events (kind, detail, at) VALUES (?, ?, ?)",
                     (kind, json.dumps(detail, sort_keys=True), time.time()))
    finally:
        conn.close()


def _create_private(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
