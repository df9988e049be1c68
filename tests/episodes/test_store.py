import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.episodes.store import MAX_SEED, EpisodeLimitError, EpisodeStore
from sandbox.episodes.templates import ensure_templates
from sandbox.errors import EpisodeError
from sandbox.home import Home
from sandbox.limits import Limits, save_limits
from services import service_ids
from services.common.db import ExchangeContext, open_service_db, write_transaction


def test_create_copies_the_template_and_registers_keys(store, sandbox_home):
    ep = store.create(7, task="t")
    assert ep.live and ep.seed == 7 and set(ep.api_keys) == set(service_ids())
    for service in service_ids():
        assert sandbox_home.service_db(ep.id, service).exists()
    assert store.by_api_key(ep.api_keys["payments"])[0].id == ep.id
    with store.ledger(ep.id) as ledger:
        assert ledger.meta()["episode"] == ep.id


def test_ids_are_unique_and_bad_ids_refused(store):
    a, b = store.create(1), store.create(1)
    assert a.id != b.id
    store.create(1, episode_id="mine")
    with pytest.raises(EpisodeError, match="exists already"):
        store.create(1, episode_id="mine")
    with pytest.raises(EpisodeError, match="not usable"):
        store.create(1, episode_id="../escape")
    for bad in (-1, MAX_SEED + 1, 2**64, True, 1.0, "7"):
        with pytest.raises(EpisodeError, match="seed must be an integer from 0 to 2\\*\\*63-1"):
            store.create(bad)
    with pytest.raises(EpisodeError, match="unknown episode mode"):
        store.create(1, mode="turbo")


def test_same_seed_builds_byte_identical_templates(tmp_path):
    digests = []
    for name in ("a", "b"):
        folder = ensure_templates(Home.resolve(tmp_path / name), 7)
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.db")})
    assert digests[0] == digests[1] and digests[0]


def test_episodes_do_not_share_writes(store, sandbox_home):
    a, b = store.create(7), store.create(7)
    conn = open_service_db(sandbox_home.service_db(a.id, "payments"))
    with write_transaction(conn):
        conn.execute("DELETE FROM customers")
    conn.close()
    other = sqlite3.connect(sandbox_home.service_db(b.id, "payments"))
    assert other.execute("SELECT COUNT(*) FROM customers").fetchone()[0] > 0


def test_finish_reconciles_changes_a_crashed_fake_never_copied(store, sandbox_home):
    ep = store.create(7)
    context = ExchangeContext()
    context.exchange_id = 42
    conn = open_service_db(sandbox_home.service_db(ep.id, "payments"), context)
    with write_transaction(conn):
        conn.execute("UPDATE customers SET name='Changed' WHERE rowid = 1")
    conn.close()  # no sync_changes: as if the fake died right after its commit
    with store.ledger(ep.id) as ledger:
        assert ledger.state_changes() == []
    finished = store.finish(ep.id)
    assert not finished.live
    with store.ledger(ep.id) as ledger:
        (row,) = ledger.state_changes()
        assert (row["tbl"], row["op"], row["exchange_id"], row["after"]["name"]) == ("customers", "update", 42,
                                                                                      "Changed")
        assert ledger.events()[-1]["detail"]["reconciled_changes"] == 1
    assert store.finish(ep.id).finished_at == finished.finished_at  # finishing twice is a no-op


def test_unknown_episode(store):
    with pytest.raises(EpisodeError, match="unknown episode 'nope'"):
        store.require("nope")


def test_allowed_hosts_are_checked_normalized_and_kept(store, sandbox_home):
    ep = store.create(7, allowed_hosts=["API.Partner.test.", "*.cdn.test", "api.partner.test"])
    assert ep.allowed_hosts == ("api.partner.test", "*.cdn.test")
    assert store.get(ep.id).allowed_hosts == ep.allowed_hosts  # as the proxy reads it from the registry
    assert store.create(7).allowed_hosts == ()
    with store.ledger(ep.id) as ledger:
        assert ledger.meta()["allowed_hosts"] == ["api.partner.test", "*.cdn.test"]
    for bad in ("https://example.org/", "example.org:443", "a b", 7):
        with pytest.raises(EpisodeError, match="is not a host name") as caught:
            store.create(7, allowed_hosts=[bad])
        assert "*.example.org" in caught.value.hint
    assert len(store.list()) == 2  # a refused allow list creates nothing


def test_a_registry_from_before_allowed_hosts_gains_the_column(sandbox_home):
    sandbox_home.control_db.parent.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(sandbox_home.control_db)
    old.execute("CREATE TABLE episodes (id TEXT PRIMARY KEY, token TEXT NOT NULL, seed INTEGER NOT NULL, task TEXT,"
                " mode TEXT NOT NULL, faults TEXT, status TEXT NOT NULL, clock_start INTEGER NOT NULL,"
                " created_at REAL NOT NULL, finished_at REAL)")
    old.execute("INSERT INTO episodes VALUES ('old', 't', 7, NULL, 'live', NULL, 'live', 0, 1.0, NULL)")
    old.commit()
    old.close()
    store = EpisodeStore(sandbox_home)
    try:
        assert store.get("old").allowed_hosts == () and store.get("old").recording is None
        assert store.create(7, allowed_hosts=["example.org"]).allowed_hosts == ("example.org",)
    finally:
        store.close()


def test_episodes_create_allow_host_adds_to_the_tasks(sandbox_home, tmp_path):
    task = tmp_path / "needs-outside.yaml"
    source = Path(__file__).resolve().parents[2] / "sandbox" / "tasks" / "library" / "refund-duplicate-charge.yaml"
    task.write_text(source.read_text().replace("id: refund-duplicate-charge", "id: needs-outside")
                    + "allowed_hosts: [api.partner.test]\n")
    home = ["--home", str(sandbox_home.root)]
    result = CliRunner().invoke(main, [*home, "episodes", "create", "--task", str(task), "--allow-host", "*.cdn.test"])
    assert result.exit_code == 0, result.output
    store = EpisodeStore(sandbox_home)
    try:
        assert store.require(result.output.strip()).allowed_hosts == ("api.partner.test", "*.cdn.test")
    finally:
        store.close()
    refused = CliRunner().invoke(main, [*home, "episodes", "create", "--allow-host", "https://cdn.test/"])
    assert refused.exit_code == 2 and "is not a host name" in refused.output


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_limit_on_live_episodes_refuses_with_the_fix_and_a_row(store, sandbox_home):
    save_limits(sandbox_home, Limits(max_live_episodes=2))
    first, _ = store.create(7), store.create(7)
    with pytest.raises(EpisodeLimitError) as refused:
        store.create(7, episode_id="third")
    error = refused.value
    assert error.limit == "max_live_episodes"
    assert "2 episodes are live in this sandbox, the limit is 2 (max_live_episodes)" in error.message
    assert "sandbox episodes finish" in error.hint and "--max-live-episodes" in error.hint
    assert str(sandbox_home.root / "limits.json") in error.hint
    assert not sandbox_home.episode_dir("third").exists()  # refused before any copying
    (row,) = store.events("create_refused")
    assert row["detail"]["limit"] == "max_live_episodes" and row["detail"]["message"] == error.message
    store.finish(first.id)  # a finished episode frees its slot
    assert store.create(7, episode_id="third").live


def test_concurrent_creators_never_exceed_the_live_limit(sandbox_home):
    save_limits(sandbox_home, Limits(max_live_episodes=5))
    EpisodeStore(sandbox_home).prepare(7)  # templates first, so the creators race on the registry only
    outcomes: list[str] = []

    def creator() -> None:
        own = EpisodeStore(sandbox_home)  # its own connection, as another process would have
        try:
            for _ in range(4):
                try:
                    own.create(7)
                    outcomes.append("made")
                except EpisodeLimitError:
                    outcomes.append("refused")
        finally:
            own.close()

    threads = [threading.Thread(target=creator) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check = EpisodeStore(sandbox_home)
    try:
        assert outcomes.count("made") == 5 and check.live_count() == 5
        assert len(check.events("create_refused")) == 11
        assert sorted(p.name for p in sandbox_home.episodes_dir.iterdir()) == sorted(e.id for e in check.list())
    finally:
        check.close()


def test_the_creation_rate_is_one_bucket_for_every_process(store, sandbox_home):
    save_limits(sandbox_home, Limits(creations_per_minute=3))
    for _ in range(3):
        store.create(7)
    with pytest.raises(EpisodeLimitError, match="at most 3 episodes a minute") as refused:
        store.create(7)
    assert refused.value.limit == "creations_per_minute" and 19 < refused.value.retry_after <= 20
    assert "--creations-per-minute" in refused.value.hint
    # Another process draws from the same bucket, kept in control.db.
    code = ("import sys; from sandbox.episodes.store import EpisodeStore, EpisodeLimitError\n"
            "from sandbox.home import Home\n"
            "try: EpisodeStore(Home.resolve(sys.argv[1])).create(7)\n"
            "except EpisodeLimitError as e: print(e.limit); sys.exit(3)")
    other = subprocess.run([sys.executable, "-c", code, str(sandbox_home.root)], capture_output=True, text=True,
                           cwd=Path(__file__).resolve().parents[2])
    assert (other.returncode, other.stdout.strip()) == (3, "creations_per_minute"), other.stderr
    assert [e["detail"]["limit"] for e in store.events("create_refused")] == ["creations_per_minute"] * 2
    # Twenty seconds later, the bucket holds one more token (as if: its clock is moved back).
    store.conn.execute("UPDATE buckets SET updated_at = updated_at - 20.5")
    store.create(7)
    with pytest.raises(EpisodeLimitError):
        store.create(7)


def test_refusals_are_kept_to_a_bounded_number_of_rows(store, monkeypatch):
    import sandbox.episodes.store

    monkeypatch.setattr(sandbox.episodes.store, "EVENTS_KEPT", 3)  # a flood of refusals cannot fill the disk
    for i in range(5):
        store.record_event("create_refused", {"n": i})
    assert [e["detail"]["n"] for e in store.events()] == [2, 3, 4]


def test_the_largest_seed_makes_a_world(store):
    assert store.create(MAX_SEED).seed == MAX_SEED
    assert store.get(store.list()[-1].id).seed == MAX_SEED  # round trip through SQLite's 64-bit INTEGER


def test_episode_files_are_the_operators_alone(sandbox_home):
    old = os.umask(0)  # the most permissive umask: the modes must not depend on the operator's
    try:
        store = EpisodeStore(sandbox_home)
        ep = store.create(7)
        with store.ledger(ep.id), closing(open_service_db(sandbox_home.service_db(ep.id, "payments"))):
            # While they are open, SQLite's -wal and -shm files exist: they take their database's mode.
            folder = sandbox_home.episode_dir(ep.id)
            assert _mode(folder) == 0o700
            files = list(folder.iterdir())
            assert {p.name for p in files} >= {"ledger.db", "ledger.db-wal", "payments.db-wal",
                                               *(f"{s}.db" for s in service_ids())}
            assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
            control = [p for p in sandbox_home.root.iterdir() if p.name.startswith("control.db")]
            assert {p.name for p in control} >= {"control.db", "control.db-wal", "control.db-shm"}
            assert {p.name: _mode(p) for p in control} == {p.name: 0o600 for p in control}
        store.close()
    finally:
        os.umask(old)


def test_a_registry_made_with_loose_modes_is_tightened(sandbox_home):
    EpisodeStore(sandbox_home).close()
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{sandbox_home.control_db}{suffix}")
        if path.exists():
            path.chmod(0o644)
    store = EpisodeStore(sandbox_home)
    try:
        for suffix in ("", "-wal", "-shm"):
            path = Path(f"{sandbox_home.control_db}{suffix}")
            assert not path.exists() or _mode(path) == 0o600, path
    finally:
        store.close()


def test_the_fault_seed_is_stored_in_the_registry_and_the_ledger_and_defaults_to_the_world_seed(store):
    plain = store.create(7)
    assert plain.fault_seed == 7 and store.get(plain.id).fault_seed == 7
    drawn = store.create(7, fault_seed=123456789)
    assert (drawn.seed, drawn.fault_seed) == (7, 123456789)
    assert store.get(drawn.id).fault_seed == 123456789
    with store.ledger(drawn.id) as ledger:
        assert (ledger.meta()["seed"], ledger.meta()["fault_seed"]) == (7, 123456789)
    with store.ledger(plain.id) as ledger:
        assert ledger.meta()["fault_seed"] == 7
    for bad in (-1, MAX_SEED + 1, True, "3"):
        with pytest.raises(EpisodeError, match="fault seed must be an integer from 0 to 2\\*\\*63-1"):
            store.create(7, fault_seed=bad)
    assert store.create(7, fault_seed=MAX_SEED).fault_seed == MAX_SEED


def test_a_registry_from_before_fault_seed_gains_the_column_and_old_rows_draw_from_the_world_seed(sandbox_home):
    sandbox_home.control_db.parent.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(sandbox_home.control_db)
    old.execute("CREATE TABLE episodes (id TEXT PRIMARY KEY, token TEXT NOT NULL, seed INTEGER NOT NULL, task TEXT,"
                " mode TEXT NOT NULL, faults TEXT, recording TEXT, allowed_hosts TEXT, status TEXT NOT NULL,"
                " clock_start INTEGER NOT NULL, created_at REAL NOT NULL, finished_at REAL)")
    old.execute("INSERT INTO episodes VALUES ('old', 't', 9, NULL, 'live', 'latency', NULL, NULL, 'live', 0, 1.0,"
                " NULL)")
    old.commit()
    old.close()
    store = EpisodeStore(sandbox_home)
    try:
        assert "fault_seed" in {row[1] for row in store.conn.execute("PRAGMA table_info(episodes)")}
        assert store.get("old").fault_seed == 9  # NULL in the old row: the world seed, as before
        assert store.create(9, fault_seed=4).fault_seed == 4
    finally:
        store.close()
    again = EpisodeStore(sandbox_home)  # a second opening finds the column there and adds nothing
    try:
        assert [e.fault_seed for e in again.list()] == [9, 4]
    finally:
        again.close()
