import sqlite3
import subprocess
import sys

import pytest

from sandbox.errors import LedgerError
from sandbox.ledger import Ledger, create_ledger_file


@pytest.fixture
def ledger(tmp_path):
    create_ledger_file(tmp_path / "ledger.db", {"episode": "e1", "clock_start": 1_000})
    with Ledger(tmp_path / "ledger.db") as led:
        yield led


def _exchange(ledger, **kw):
    return ledger.begin_exchange(via="proxy", method="POST", scheme="https", host="api.stripe.com", port=443,
                                 path="/v1/refunds", **kw)


def test_exchange_ids_follow_the_episode_clock(ledger):
    first, second = _exchange(ledger), _exchange(ledger)
    assert (first, second) == (1, 2)
    clocks = [row["clock"] for row in ledger.exchanges()]
    assert clocks == [1_001, 1_002]


def test_request_is_written_before_the_response_and_completed_after(ledger):
    xid = _exchange(ledger, request_body=b"charge=ch_1")
    assert ledger.exchanges()[0]["outcome"] == "pending"
    ledger.end_exchange(xid, outcome="routed", status=200, response_body=b"{}", service="payments")
    row = ledger.exchanges()[0]
    assert (row["outcome"], row["status"], row["service"], row["request_body"]) == ("routed", 200, "payments",
                                                                                   b"charge=ch_1")
    assert row["duration_ms"] >= 0


def test_credentials_are_redacted(ledger):
    _exchange(ledger, request_headers=[("Authorization", "Bearer sk_test_secretvalue1234"), ("Accept", "*/*")])
    headers = dict(ledger.exchanges()[0]["request_headers"])
    assert "secretvalue" not in headers["Authorization"]
    assert headers["Authorization"].endswith("1234>") and headers["Accept"] == "*/*"


def test_state_changes_are_copied_once(ledger):
    rows = [(1, 1, "refunds", "re_1", "insert", None, '{"amount": 5}')]
    assert ledger.add_state_changes("payments", rows) == 1
    assert ledger.add_state_changes("payments", rows) == 0
    assert ledger.max_change_seq("payments") == 1
    assert ledger.state_changes()[0]["after"] == {"amount": 5}


def test_not_a_ledger_is_a_clear_error(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(LedgerError, match="not a sandbox ledger"):
        Ledger(other)
    with pytest.raises(LedgerError, match="no ledger at"):
        Ledger(tmp_path / "missing.db")


def test_a_committed_exchange_survives_a_killed_process(tmp_path):
    path = tmp_path / "ledger.db"
    create_ledger_file(path, {"episode": "e1"})
    code = (
        "import os, signal, sys\n"
        "from sandbox.ledger import Ledger\n"
        f"led = Ledger({str(path)!r})\n"
        "i = led.begin_exchange(via='proxy', method='GET', scheme='http', host='h', port=80, path='/')\n"
        "led.end_exchange(i, outcome='routed', status=201)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -9
    with Ledger(path) as led:
        assert [r["status"] for r in led.exchanges()] == [201]
