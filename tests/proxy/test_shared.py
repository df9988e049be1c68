"""The episode-wide state proxy workers share: one value under a ledger meta key, changed in one
BEGIN IMMEDIATE transaction, written only when set, rolled back when the block fails."""

from __future__ import annotations

import sqlite3

import pytest

from sandbox.episodes.ledger import Ledger, create_ledger_file
from sandbox.proxy.shared import exclusive


@pytest.fixture
def ledger(tmp_path):
    path = tmp_path / "ledger.db"
    create_ledger_file(path, {"clock_start": 0})
    with Ledger(path) as opened:
        yield opened


def test_a_value_set_in_the_block_is_there_for_the_next_one(ledger):
    with exclusive(ledger.conn, "cursor") as shared:
        assert shared.value is None
        shared.set({"a": 1})
    with exclusive(ledger.conn, "cursor") as shared:
        assert shared.value == {"a": 1}
    assert ledger.meta()["cursor"] == {"a": 1}


def test_a_failing_block_changes_nothing_not_even_the_rows_written_inside(ledger):
    with pytest.raises(RuntimeError), exclusive(ledger.conn, "cursor") as shared:
        ledger.begin_exchange(via="proxy", method="GET", scheme="https", host="h", port=443, path="/")
        shared.set(1)
        raise RuntimeError("boom")
    assert "cursor" not in ledger.meta() and ledger.exchanges() == []
    assert not ledger.conn.in_transaction


def test_another_writer_waits_for_the_block(ledger, tmp_path):
    other = sqlite3.connect(tmp_path / "ledger.db", timeout=0, isolation_level=None)
    with exclusive(ledger.conn, "cursor") as shared:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")  # a second worker cannot decide from the same old value
        shared.set(2)
    other.execute("BEGIN IMMEDIATE")
    assert other.execute("SELECT value FROM meta WHERE key='cursor'").fetchone() == ("2",)
    other.execute("ROLLBACK")
    other.close()
