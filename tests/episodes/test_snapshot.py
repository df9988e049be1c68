"""Snapshots and forks at the store level: files, registry, limits, fault state (no running sandbox)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from sandbox.episodes import snapshot as snapshots
from sandbox.episodes.ledger import Ledger
from sandbox.episodes.snapshot import Snapshot, fork, list_snapshots, load_snapshot, restore_faults, snapshot
from sandbox.episodes.store import EpisodeLimitError, EpisodeStore
from sandbox.errors import EpisodeError
from sandbox.faults import load_profile
from sandbox.faults.engine import Call, EpisodeFaults
from sandbox.home import Home
from sandbox.limits import Limits, save_limits
from services import service_ids
from services.common.db import open_service_db

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


def test_a_snapshot_is_a_private_folder_of_consistent_copies_with_a_manifest(store):
    parent = store.create(7, task="refund-duplicate-charge")
    write_exchanges(store, parent.id, CALLS[:3])
    snap = snapshot(store, parent.id)
    assert snap.ref == f"{parent.id}/snap1" and snap.position == 3
    assert snap.path == store.home.episode_dir(parent.id) / "snapshots" / "snap1"
    assert snap.path.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in snap.path.iterdir()) == sorted(
        [*(f"{s}.db" for s in service_ids()), "ledger.db", "manifest.json"])  # no -wal, no -shm: whole files
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in snap.path.iterdir())
    manifest = json.loads((snap.path / "manifest.json").read_text())
    assert {k: manifest[k] for k in ("episode", "seed", "task", "mode", "position", "fault_state")} == {
        "episode": parent.id, "seed": 7, "task": "refund-duplicate-charge", "mode": "live", "position": 3,
        "fault_state": None}
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
    assert rows(snap.path / "payments.db", "customers") == before
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
