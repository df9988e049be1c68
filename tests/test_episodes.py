import hashlib
import sqlite3

import pytest

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
