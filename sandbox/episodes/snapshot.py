"""Snapshots and forks: an episode's state at one point, and new episodes that go on from it.

    snap = snapshot(store, "ep000003")            # <home>/episodes/ep000003/snapshots/snap1.snapshot
    child = fork(store, snap)                     # a new live episode in that state
    other = fork(store, "ep000003/snap1")         # another, from the same state
    now = fork(store, "ep000003")                 # from a live episode: snapshot now, then fork

A snapshot is one file (sandbox/episodes/snapshot_file.py): the image of each service database and
of the ledger, read in one read transaction over all of them while the fakes and the proxy may be
writing (`Connection.serialize`, the services attached to the ledger's connection), and a manifest:
parent, seed, task, fault profile and seed, mode, the ledger position (the last exchange id it
holds), the episode clock there, and the fault state. The parent's files are opened read-only.

Across files, consistency comes from the one read transaction and a check: the ledger is read first
(its last exchange id is the position), then the services; if an exchange up to the position is
still open, or a service already holds a change of a later exchange, the episode is between the
writes of one call, and it is read again (for up to BUSY_WAIT_S; then an error names the open
exchange). A service change the ledger lacks (a fake killed between its write and its ledger write)
is copied into the snapshot's ledger, as `EpisodeStore.reconcile` does at finish.

A fork is an episode like any other, created by `EpisodeStore.create` from the snapshot's images
(so the home's limits, a new id, token and API keys), each written as its file, and:
- its ledger holds the parent's exchanges, faults and state changes up to the position, so its
  score covers the whole trajectory, and its clock (the exchange ids) goes on from the parent's;
  the parent's scores and end events (finished, reaped, agent_exit) are not the fork's and go;
- the services' id counters are in the copied databases: two forks given the same calls make the
  same rows with the same ids (ids come from the world seed and those counters, never the episode);
- its fault state (each rule's match and firing counts, sessions expired until a sign-in) is in its
  ledger's meta `fault_state`, which the proxy's fault stage reads and updates on every call it
  decides (sandbox/proxy/faults.py, shared by all proxy workers): an `nth: [5]` rule fires on the
  fork's call 5 as on the parent's.
  The state is rebuilt by replaying the parent's exchanges through a fresh `EpisodeFaults`: its
  decisions depend only on the ordered calls, so the replay reaches the state the proxy had.
The parent's ledger gets a `snapshot` event, the fork's a `forked` event; the parent is not changed
otherwise. Only live-mode episodes fork: a record episode's recording and a replay episode's
position in its recording belong to the one episode.

What they cost (bench/bench_fork.py): a snapshot creates one file, a fork its folder and one file per
database, neither fsyncs nor checkpoints; the rest is CPU, ~1.4 ms of a snapshot's being SQLite
parsing the four fakes' schemas (triggers included) when they are attached.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sandbox.clock import STEP_SECONDS, episode_time
from sandbox.episodes.images import open_image
from sandbox.episodes.ledger import connect as connect_ledger
from sandbox.episodes.routes import routes_to_dict
from sandbox.episodes.snapshot_file import FORMAT_VERSION, SUFFIX, Images, SnapshotWriter, read_manifest, snapshot_path
from sandbox.episodes.store import EPISODE_ID, Episode, EpisodeStore
from sandbox.errors import EpisodeError
from services import service_ids

SNAPSHOTS = "snapshots"
LEDGER = "ledger.db"
MANIFEST = "manifest.json"  # of a format-1 snapshot (a folder)
BUSY_WAIT_S = 2.0  # how long a snapshot waits for open exchanges to finish before it gives up
# Events of the parent that say how the parent ended: history of the parent, not of the fork.
PARENT_ENDINGS = ("finished", "reaped", "agent_exit")


@dataclass(frozen=True)
class Snapshot:
    """A snapshot on disk: `ref` ("EPISODE/NAME") names it to fork, on every surface. `path`: its
    file (a format-1 snapshot: its folder)."""

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
    if name is not None and _taken(root, name):  # said before any reading; `_publish` makes sure
        raise _name_taken(episode_id, name)
    services = [s for s in service_ids() if (folder / f"{s}.db").exists()]
    reader = _reader(folder, services)
    try:
        snap = _take(episode, reader, services, root, name, writer=SnapshotWriter(root))
        # Written while the reader is open, so this write's connection is not the last to close: it
        # neither checkpoints (two fsyncs) nor deletes the -wal/-shm pair that the next snapshot of an
        # episode nobody holds open would create again. The event is committed in the WAL, as every
        # ledger write is (synchronous=NORMAL); a read-only reader never checkpoints.
        _event(store.home.ledger_path(episode_id), "snapshot", {"name": snap.name, "position": snap.position})
    finally:
        reader.close()
    return snap


def _take(episode: Episode, reader: sqlite3.Connection, services: list[str], root: Path, name: str | None,
          writer: SnapshotWriter) -> Snapshot:
    """Read the episode into `writer`, add the manifest, publish it under its name."""
    try:
        position, calls = _read_consistent(reader, services, episode.id, bool(episode.faults), writer)
        manifest = {
            "version": FORMAT_VERSION,
            "episode": episode.id,
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
            "fault_state": fault_state(episode, calls),
            "created_at": time.time(),
        }
        writer.finish(manifest)
        target = _publish(writer, root, name, episode.id)
    finally:
        writer.discard()
    snap_name = target.name[:-len(SUFFIX)]
    return Snapshot(episode.id, snap_name, target, {**manifest, "name": snap_name})


def _taken(root: Path, name: str) -> bool:
    return snapshot_path(root, name).exists() or (root / name).exists()  # a snapshot, or a format-1 folder


def _name_taken(episode_id: str, name: str) -> EpisodeError:
    return EpisodeError(f"episode {episode_id!r} has a snapshot {name!r} already",
                        hint="choose another name, or leave it out for the next free one")


def _publish(writer: SnapshotWriter, root: Path, name: str | None, episode_id: str) -> Path:
    """Link the finished file to `name`, or to the next free snapN."""
    if name is not None:
        if _taken(root, name) or not writer.publish(snapshot_path(root, name)):
            raise _name_taken(episode_id, name)
        return snapshot_path(root, name)
    # os.listdir: pathlib's iterdir took 0.5 ms here once an episode had 200 snapshots.
    names = [n.removesuffix(SUFFIX) for n in os.listdir(root) if n.startswith("snap")]
    number = max((int(n[4:]) for n in names if n[4:].isdigit()), default=0) + 1
    while _taken(root, f"snap{number}") or not writer.publish(snapshot_path(root, f"snap{number}")):
        number += 1  # taken meanwhile by another snapshot of the same episode: the next
    return snapshot_path(root, f"snap{number}")


def _reader(source: Path, services: list[str]) -> sqlite3.Connection:
    """One read-only connection to the episode's ledger with its services attached (one connection,
    not one per file). Read-only: a snapshot cannot change its parent."""
    conn = sqlite3.connect(_read_only(source / LEDGER), uri=True, timeout=10, isolation_level=None)
    try:
        for service in services:
            conn.execute("ATTACH DATABASE ? AS ?", (_read_only(source / f"{service}.db"), service))
    except BaseException:
        conn.close()
        raise
    return conn


def _read_only(path: Path) -> str:
    return f"file:{quote(str(path))}?mode=ro"


def _read_consistent(src: sqlite3.Connection, services: list[str], episode_id: str, faults: bool,
                     writer: SnapshotWriter) -> tuple[int, list[tuple]]:
    """Read the ledger and each service into `writer`, in one read transaction over all of them,
    once they show one moment. Returns the position and, for an episode with a fault profile, the
    exchanges up to it (for `fault_state`)."""
    deadline = time.monotonic() + BUSY_WAIT_S
    while True:
        position, calls, busy = _try_read(src, services, faults, writer)
        if not busy:
            return position, calls
        if time.monotonic() > deadline:
            raise EpisodeError(
                f"cannot snapshot episode {episode_id!r}: it kept moving for {BUSY_WAIT_S:g} s ({busy})",
                hint="take the snapshot between the agent's calls (or when a held call, such as a hang "
                     "fault, has ended)")
        time.sleep(0.005)


def _try_read(src: sqlite3.Connection, services: list[str], faults: bool, writer: SnapshotWriter
              ) -> tuple[int, list[tuple], str]:
    """One attempt: (position, calls, why not: "" when the images are in `writer`)."""
    # One read transaction: what is inspected is what is serialized (each file's read snapshot
    # starts at its first read below, in the order the writers write: ledger first).
    src.execute("BEGIN")
    try:
        position, open_, have, calls = _read_ledger(src, faults)
        if open_ is not None:
            return position, calls, f"exchange {open_} is still open"
        lacking = []
        for service in services:
            last, seq = src.execute(
                f'SELECT MAX(exchange_id), COALESCE(MAX(seq), 0) FROM "{service}"._sandbox_changes').fetchone()
            if last is not None and last > position:
                return position, calls, f"{service} already holds changes of exchange {last}, after the ledger's last"
            if seq > have.get(service, 0):
                lacking.append(service)
        ledger = src.serialize(name="main")
        if lacking:
            ledger = _with_changes(ledger, {s: src.serialize(name=s) for s in lacking}, writer.path.parent)
        writer.add(LEDGER, ledger)
        del ledger
        for service in services:  # one image in memory at a time
            writer.add(f"{service}.db", src.serialize(name=service))
        return position, calls, ""
    finally:
        src.execute("COMMIT")


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


def _with_changes(ledger: bytes, services: Mapping[str, bytes], scratch: Path) -> bytes:
    """The ledger image with the state changes the services' images hold and it lacks (a fake killed
    between its write and its ledger write): what `EpisodeStore.reconcile` does at finish. Rare, so
    done the plain way, through a `Ledger` (it redacts) on a scratch file."""
    from sandbox.episodes.images import write_new
    from sandbox.episodes.ledger import Ledger
    from services.common.db import sync_changes

    with tempfile.TemporaryDirectory(dir=scratch, prefix=".sync-") as tmp:
        path = Path(tmp) / LEDGER
        write_new(path, ledger)
        with Ledger(path) as target:
            for service, image in services.items():
                conn = open_image(image)
                try:
                    sync_changes(conn, target, service)
                finally:
                    conn.close()
        return path.read_bytes()  # closed: its WAL is merged into the file

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
    return save_faults(episode.faults, state)


def save_faults(ref: str, state: Any) -> dict[str, Any]:
    """An `EpisodeFaults` of profile `ref` as the ledger's meta `fault_state` holds it."""
    return {"profile": ref, "rules": [rule.name for rule in state.profile.rules], "counts": list(state.counts),
            "fired": list(state.fired), "locked": sorted(state.locked)}


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
    """The fault state the ledger holds (meta `fault_state`): a fork's from its snapshot, then the
    proxy's as it decides the episode's calls (sandbox.proxy.shared); None before either."""
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
    root = store.home.episode_dir(episode_id) / SNAPSHOTS
    path = snapshot_path(root, name)
    if path.is_file():
        return Snapshot(episode_id, name, path, {**read_manifest(path, ref), "name": name})
    path = root / name  # format 1: a folder
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except FileNotFoundError:
        known = ", ".join(s.name for s in list_snapshots(store, episode_id)) or "none"
        raise EpisodeError(f"unknown snapshot {ref!r}", hint=f"episode {episode_id}'s snapshots: {known}") from None
    if manifest.get("version") != 1:
        raise EpisodeError(f"snapshot {ref!r} has manifest version {manifest.get('version')!r}, this sandbox "
                           f"reads {FORMAT_VERSION} and 1", hint="fork it with the sandbox version that took it")
    return Snapshot(episode_id, name, path, manifest)


def list_snapshots(store: EpisodeStore, episode_id: str) -> list[Snapshot]:
    root = store.home.episode_dir(episode_id) / SNAPSHOTS
    if not root.is_dir():
        return []
    found = [p.name.removesuffix(SUFFIX) for p in root.iterdir() if p.name.endswith(SUFFIX) and p.name[0] != "."]
    found += [p.name for p in root.iterdir() if (p / MANIFEST).exists()]  # format 1
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
    names = [f"{s}.db" for s in manifest["services"]] + [LEDGER]
    forked = {"episode": source.episode, "snapshot": source.name, "position": source.position}

    def own_history(conn: sqlite3.Connection, _child: Episode) -> None:
        # The fork's ledger made the fork's (its fault state, its own history) in the new ledger's first
        # write, before the episode is registered: nobody can call as it before this is done.
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

    if source.path.is_dir():  # format 1: a file per database
        files: Mapping[str, Path | bytes] = {name: source.path / name for name in names}
        images = None
    else:
        files = images = Images(source.path, source.ref, names)
    try:
        return store.create(manifest["seed"], task=manifest["task"], episode_id=episode_id, faults=manifest["faults"],
                            allowed_hosts=manifest["allowed_hosts"], fault_seed=manifest["fault_seed"], files=files,
                            routes=manifest.get("routes"), prepare_ledger=own_history)
    finally:
        if images is not None:
            images.close()


# -- files -------------------------------------------------------------------------------------------


def _event(ledger_path: Path, kind: str, detail: dict[str, Any]) -> None:
    conn = connect_ledger(ledger_path)
    try:
        conn.execute("INSERT INTO events (kind, detail, at) VALUES (?, ?, ?)",
                     (kind, json.dumps(detail, sort_keys=True), time.time()))
    finally:
        conn.close()
