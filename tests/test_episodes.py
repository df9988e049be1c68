import hashlib
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.episodes import EpisodeStore
from sandbox.errors import EpisodeError
from sandbox.home import Home
from sandbox.templates import ensure_templates
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
    with pytest.raises(EpisodeError, match="seed must be"):
        store.create(-1)
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
    source = Path(__file__).resolve().parent.parent / "sandbox" / "tasks" / "library" / "refund-duplicate-charge.yaml"
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
