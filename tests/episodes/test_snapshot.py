"""Snapshots and forks at the store level: files, registry, limits, fault state (no running sandbox)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from sandbox.clock import episode_time
from sandbox.episodes import snapshot as snapshots
from sandbox.episodes.images import open_image
from sandbox.episodes.ledger import Ledger
from sandbox.episodes.snapshot import (
    Snapshot,
    fork,
    list_snapshots,
    load_snapshot,
    restore_faults,
    saved_fault_state,
    snapshot,
)
from sandbox.episodes.snapshot_file import Images, read_manifest
from sandbox.episodes.store import EpisodeLimitError, EpisodeStore
from sandbox.errors import EpisodeError
from sandbox.faults import load_profile
from sandbox.faults.engine import Call, EpisodeFaults
from sandbox.home import Home
from sandbox.limits import Limits, save_limits
from services import service_ids
from services.common.db import ExchangeContext, open_service_db

PROFILE = """
name: counted
seed: 3
rules:
  - name: fifth-customer-lookup
    match: {host: api.stripe.com, method: GET, path: /v1/customers*, nth: [5]}
    action: {kind: error, status: 500}
  - name: every-third-write
    match: {method: POST, every: 3}
    action: {kind: error, status: 503}
"""
CALLS = [("GET", "/v1/customers"), ("POST", "/v1/refunds"), ("GET", "/v1/customers/cus_1"), ("POST", "/v1/refunds"),
         ("GET", "/v1/charges"), ("GET", "/v1/customers"), ("POST", "/v1/refunds"), ("GET", "/v1/customers"),
         ("GET", "/v1/customers"), ("POST", "/v1/refunds"), ("GET", "/v1/customers"), ("POST", "/v1/refunds"),
         ("POST", "/v1/refunds"), ("GET", "/v1/customers")]


@pytest.fixture
def store(tmp_path):
    store = EpisodeStore(Home.resolve(tmp_path / "home"))
    yield store
    store.close()


def image_rows(image: bytes, table: str) -> list[tuple]:
    conn = open_image(image)
    try:
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    finally:
        conn.close()


def rows(path, table: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    finally:
        conn.close()


def write_exchanges(store: EpisodeStore, episode_id: str, calls) -> None:
    """Exchanges as the proxy writes them (begun, then answered), in order."""
    with Ledger(store.home.ledger_path(episode_id), redact=False) as ledger:
        for method, path in calls:
            xid = ledger.begin_exchange(via="proxy", method=method, scheme="https", host="api.stripe.com", port=443,
                                        path=path, service="payments")
            ledger.end_exchange(xid, outcome="routed", status=200, response_headers=[], response_body=b"{}")


def test_a_snapshot_is_one_private_file_of_consistent_images_with_a_manifest(store):
    parent = store.create(7, task="refund-duplicate-charge")
    write_exchanges(store, parent.id, CALLS[:3])
    snap = snapshot(store, parent.id)
    assert snap.ref == f"{parent.id}/snap1" and snap.position == 3
    root = store.home.episode_dir(parent.id) / "snapshots"
    assert snap.path == root / "snap1.snapshot"
    assert root.stat().st_mode & 0o777 == 0o700 and snap.path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in root.iterdir()] == ["snap1.snapshot"]  # nothing aside is left
    images = Images(snap.path, snap.ref, [])
    try:
        assert sorted(images) == sorted([*(f"{s}.db" for s in service_ids()), "ledger.db"])
        assert image_rows(images["payments.db"], "customers") == rows(store.home.service_db(parent.id, "payments"),
                                                                      "customers")
    finally:
        images.close()
    manifest = read_manifest(snap.path, snap.ref)
    assert {k: manifest[k] for k in ("version", "episode", "seed", "task", "mode", "position", "fault_state")} == {
        "version": 2, "episode": parent.id, "seed": 7, "task": "refund-duplicate-charge", "mode": "live",
        "position": 3, "fault_state": None}
    with store.ledger(parent.id) as ledger:
        assert [(e["kind"], e["detail"]) for e in ledger.events()] == [("snapshot", {"name": "snap1", "position": 3})]
    assert snapshot(store, parent.id).name == "snap2"
    assert snapshot(store, parent.id, "before-refund").ref == f"{parent.id}/before-refund"
    assert [s.name for s in list_snapshots(store, parent.id)] == ["snap1", "snap2", "before-refund"]
    assert load_snapshot(store, snap.ref).manifest == snap.manifest


def test_a_fork_is_a_new_episode_that_starts_where_the_snapshot_is_and_leaves_the_parent_alone(store):
    parent = store.create(7, task="refund-duplicate-charge")
    write_exchanges(store, parent.id, CALLS[:2])
    snap = snapshot(store, parent.id)
    child = fork(store, snap, episode_id="child-1")
    assert child.id == "child-1" and child.live and (child.seed, child.task) == (7, "refund-duplicate-charge")
    assert child.token != parent.token and set(child.api_keys.values()).isdisjoint(parent.api_keys.values())
    with store.ledger(child.id) as ledger:
        assert [e["path"] for e in ledger.exchanges()] == ["/v1/customers", "/v1/refunds"]
        assert ledger.meta()["episode"] == "child-1"
        assert ledger.meta()["forked_from"] == {"episode": parent.id, "snapshot": "snap1", "position": 2}
        assert [e["kind"] for e in ledger.events()] == ["forked"]  # its snapshot event is the parent's
        # Its clock goes on from the parent's: the next exchange is 3.
        assert ledger.begin_exchange(via="proxy", method="GET", scheme="https", host="api.stripe.com", port=443,
                                     path="/v1/charges") == 3
    # A write in the fork is the fork's alone.
    before = rows(store.home.service_db(parent.id, "payments"), "customers")
    conn = open_service_db(store.home.service_db(child.id, "payments"))
    conn.execute("DELETE FROM customers")
    conn.close()
    assert rows(store.home.service_db(parent.id, "payments"), "customers") == before != []
    images = Images(snap.path, snap.ref, [])
    assert image_rows(images["payments.db"], "customers") == before
    images.close()
    with store.ledger(parent.id) as ledger:
        assert len(ledger.exchanges()) == 2


def test_forking_an_episode_id_snapshots_it_now(store):
    parent = store.create(7)
    child = fork(store, parent.id)
    assert [s.name for s in list_snapshots(store, parent.id)] == ["snap1"]
    with store.ledger(child.id) as ledger:
        assert ledger.meta()["forked_from"]["snapshot"] == "snap1"


def test_a_fork_of_a_finished_episode_does_not_inherit_its_end(store):
    parent = store.create(7)
    store.finish(parent.id)
    child = fork(store, parent.id)
    assert child.live
    with store.ledger(child.id) as ledger:
        assert "finished" not in [e["kind"] for e in ledger.events()]


def test_forks_count_against_the_homes_limits(store):
    save_limits(store.home, Limits(max_live_episodes=1))
    parent = store.create(7)
    snap = snapshot(store, parent.id)
    with pytest.raises(EpisodeLimitError) as refused:
        fork(store, snap)
    assert refused.value.limit == "max_live_episodes"
    store.finish(parent.id)
    assert fork(store, snap).live


def test_bad_names_and_unknown_snapshots_say_what_to_do(store):
    parent = store.create(7)
    snapshot(store, parent.id, "a")
    with pytest.raises(EpisodeError, match="snapshot 'a' already"):
        snapshot(store, parent.id, "a")
    with pytest.raises(EpisodeError, match="not usable"):
        snapshot(store, parent.id, "../escape")
    with pytest.raises(EpisodeError, match="unknown snapshot") as unknown:
        fork(store, f"{parent.id}/b")
    assert "a" in unknown.value.hint
    with pytest.raises(EpisodeError, match="unknown episode"):
        snapshot(store, "nope")


def test_a_record_episode_snapshots_but_does_not_fork(store, tmp_path):
    parent = store.create(7, mode="record", recording=str(tmp_path / "r.jsonl"))
    snap = snapshot(store, parent.id)
    with pytest.raises(EpisodeError, match="record episode, which cannot be forked"):
        fork(store, snap)


def test_an_open_exchange_makes_the_snapshot_wait_then_say_why(store, monkeypatch):
    monkeypatch.setattr(snapshots, "BUSY_WAIT_S", 0.05)
    parent = store.create(7)
    with Ledger(store.home.ledger_path(parent.id), redact=False) as ledger:
        ledger.begin_exchange(via="proxy", method="GET", scheme="https", host="api.stripe.com", port=443,
                              path="/v1/customers")
    with pytest.raises(EpisodeError, match="exchange 1 is still open") as busy:
        snapshot(store, parent.id)
    assert "between the agent's calls" in busy.value.hint
    assert list_snapshots(store, parent.id) == []  # nothing half-made is left


@pytest.mark.parametrize("cut", [0, 3, 5, 8, 12])
def test_the_fault_state_of_a_fork_fires_at_the_same_later_calls_as_the_parents(store, tmp_path, cut):
    """The parent's proxy state after `cut` calls, rebuilt from its ledger, then both go on with the
    same calls: the same rules fire at the same calls (`nth: [5]` and `every: 3` included)."""
    path = tmp_path / "counted.yaml"
    path.write_text(PROFILE)
    parent = store.create(7, faults=str(path))
    profile = load_profile(str(path))

    def call(i: int) -> Call:
        method, url = CALLS[i]
        return Call("api.stripe.com", method, url, "payments", float(i + 1))

    proxy = EpisodeFaults(profile, parent.fault_seed)  # what the parent's proxy does
    fired = [[(f.rule.name, f.n) for f in proxy.decide(call(i))] for i in range(len(CALLS))]
    assert ("fifth-customer-lookup", 5) in sum(fired, []) and ("every-third-write", 3) in sum(fired, [])
    write_exchanges(store, parent.id, CALLS[:cut])
    snap = snapshot(store, parent.id)
    forked = EpisodeFaults(profile, parent.fault_seed)  # what the proxy makes on first sight of the fork
    assert restore_faults(forked, snap.manifest["fault_state"])
    assert [[(f.rule.name, f.n) for f in forked.decide(call(i))] for i in range(cut, len(CALLS))] == fired[cut:]


def test_a_saved_fault_state_of_another_profile_is_not_applied(store, tmp_path):
    path = tmp_path / "counted.yaml"
    path.write_text(PROFILE)
    parent = store.create(7, faults=str(path))
    write_exchanges(store, parent.id, CALLS[:4])
    child = fork(store, parent.id)
    from sandbox.episodes.snapshot import saved_fault_state

    saved = saved_fault_state(store.home.ledger_path(child.id))
    assert saved["counts"] == [2, 2]  # two customer lookups, two POSTs
    assert saved_fault_state(store.home.ledger_path(parent.id)) is None
    other = EpisodeFaults(load_profile("rate-limit"), 7)
    assert not restore_faults(other, saved) and other.counts == [0]


def test_snapshot_is_a_value_with_a_ref():
    snap = Snapshot("ep1", "s", None, {"position": 4})  # type: ignore[arg-type]
    assert (snap.ref, snap.position) == ("ep1/s", 4)


def test_a_fork_goes_on_with_the_parents_clock_fault_state_and_rows(store, tmp_path):
    path = tmp_path / "counted.yaml"
    path.write_text(PROFILE)
    parent = store.create(7, faults=str(path))
    write_exchanges(store, parent.id, CALLS[:4])
    snap = snapshot(store, parent.id)
    assert snap.manifest["clock"] == episode_time(4, parent.clock_start)
    child = fork(store, snap)
    assert saved_fault_state(store.home.ledger_path(child.id)) == snap.manifest["fault_state"]
    assert snap.manifest["fault_state"]["counts"] == [2, 2]
    with store.ledger(parent.id) as ledger:
        ledger.begin_exchange(via="proxy", method="GET", scheme="https", host="api.stripe.com", port=443, path="/a")
        parents_next = ledger.exchanges()[-1]
    with store.ledger(child.id) as ledger:
        ledger.begin_exchange(via="proxy", method="GET", scheme="https", host="api.stripe.com", port=443, path="/a")
        childs_next = ledger.exchanges()[-1]
    assert (childs_next["id"], childs_next["clock"]) == (parents_next["id"], parents_next["clock"]) == (
        5, episode_time(5, parent.clock_start))
    for service in service_ids():
        assert rows(store.home.service_db(child.id, service), "_sandbox_changes") == rows(
            store.home.service_db(parent.id, service), "_sandbox_changes")
    # The fork's files are whole WAL databases of their own, no -wal or -shm made on the way.
    folder = store.home.episode_dir(child.id)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*(f"{s}.db" for s in service_ids()), "ledger.db"])
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in folder.iterdir())
    conn = sqlite3.connect(folder / "payments.db")
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_a_change_the_ledger_lacks_is_in_the_snapshots_ledger(store):
    """A fake killed between its write and its ledger write: the snapshot copies the change into its
    ledger, as finishing the episode would (`reconcile`)."""
    parent = store.create(7)
    write_exchanges(store, parent.id, CALLS[:1])
    context = ExchangeContext()
    context.exchange_id = 1
    conn = open_service_db(store.home.service_db(parent.id, "payments"), context)
    conn.execute("UPDATE customers SET name = 'Changed Name' WHERE rowid = 1")
    conn.close()
    with store.ledger(parent.id) as ledger:
        assert ledger.state_changes() == []
    child = fork(store, parent.id)
    with store.ledger(child.id) as ledger:
        changes = ledger.state_changes()
    assert [(c["service"], c["exchange_id"], c["tbl"], c["op"]) for c in changes] == [
        ("payments", 1, "customers", "update")]
    with store.ledger(parent.id) as ledger:
        assert ledger.state_changes() == []  # the parent is left as it was


def test_a_damaged_snapshot_is_refused_and_no_half_made_fork_is_left(store):
    parent = store.create(7)
    snap = snapshot(store, parent.id)
    data = bytearray(snap.path.read_bytes())
    where = data.find(b"SQLite format 3\x00", 100)  # the first image inside the file
    data[where + 5000] ^= 0xFF
    snap.path.write_bytes(bytes(data))
    with pytest.raises(EpisodeError, match="is damaged") as damaged:
        fork(store, snap.ref)
    assert str(snap.path) in damaged.value.message and "take a new snapshot" in damaged.value.hint
    assert [e.id for e in store.list()] == [parent.id]
    assert sorted(p.name for p in store.home.episodes_dir.iterdir()) == [parent.id]
    snap.path.write_bytes(bytes(data[: len(data) // 2]))  # cut short
    with pytest.raises(EpisodeError, match="is damaged"):
        fork(store, snap.ref)
    snap.path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(EpisodeError, match="is damaged or not a snapshot"):
        load_snapshot(store, snap.ref)
    assert [e.id for e in store.list()] == [parent.id]


def test_a_format_1_snapshot_folder_still_forks(store):
    """Snapshots taken before the one-file format: a folder with a file per database and manifest.json."""
    parent = store.create(7, task="refund-duplicate-charge")
    write_exchanges(store, parent.id, CALLS[:2])
    new = snapshot(store, parent.id)
    old = new.path.parent / "old"
    old.mkdir(mode=0o700)
    images = Images(new.path, new.ref, [])
    for name in images:
        (old / name).write_bytes(images[name])
    images.close()
    manifest = {k: v for k, v in new.manifest.items() if k != "name"}
    (old / "manifest.json").write_text(json.dumps({**manifest, "version": 1, "name": "old"}))
    assert [s.name for s in list_snapshots(store, parent.id)] == ["snap1", "old"]
    child = fork(store, f"{parent.id}/old")
    with store.ledger(child.id) as ledger:
        assert [e["path"] for e in ledger.exchanges()] == ["/v1/customers", "/v1/refunds"]
        assert ledger.meta()["forked_from"] == {"episode": parent.id, "snapshot": "old", "position": 2}
    (old / "manifest.json").write_text(json.dumps({**manifest, "version": 7}))
    with pytest.raises(EpisodeError, match="manifest version 7"):
        load_snapshot(store, f"{parent.id}/old")
    with pytest.raises(EpisodeError, match="snapshot 'old' already"):
        snapshot(store, parent.id, "old")  # a format-1 folder's name is taken too
