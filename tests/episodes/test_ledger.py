import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.episodes.ledger import SCHEMA_VERSION, BodyDigest, Ledger, create_ledger_file, secure
from sandbox.errors import LedgerError


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
    assert headers["Authorization"] == "Bearer REDACTED" and headers["Accept"] == "*/*"


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
        "from sandbox.episodes.ledger import Ledger\n"
        f"led = Ledger({str(path)!r})\n"
        "i = led.begin_exchange(via='proxy', method='GET', scheme='http', host='h', port=80, path='/')\n"
        "led.end_exchange(i, outcome='routed', status=201)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -9
    with Ledger(path) as led:
        assert [r["status"] for r in led.exchanges()] == [201]


# -- body caps ----------------------------------------------------------------------------------------


def test_bodies_are_capped_with_their_full_length_and_sha256(tmp_path):
    create_ledger_file(tmp_path / "ledger.db", {"episode": "e1"})
    body = os.urandom(10_000)
    with Ledger(tmp_path / "ledger.db", body_cap=1024) as ledger:
        xid = _exchange(ledger, request_body=body)
        ledger.end_exchange(xid, outcome="routed", status=200, response_body=b'{"ok": true}')
        row = ledger.exchanges()[0]
    assert row["request_body"] == body[:1024]
    assert (row["request_body_size"], row["request_body_sha256"], row["request_body_truncated"]) == (
        10_000, hashlib.sha256(body).hexdigest(), 1)
    assert (row["response_body"], row["response_body_size"], row["response_body_truncated"]) == (
        b'{"ok": true}', 12, 0)
    assert row["response_body_sha256"] == hashlib.sha256(b'{"ok": true}').hexdigest()


def test_no_body_has_no_size(ledger):
    xid = _exchange(ledger)
    ledger.end_exchange(xid, outcome="routed", status=204)
    row = ledger.exchanges()[0]
    assert (row["request_body"], row["request_body_size"], row["response_body_size"]) == (None, None, None)


def test_a_stream_digest_stands_for_a_body_never_held_whole(tmp_path):
    create_ledger_file(tmp_path / "ledger.db", {"episode": "e1"})
    digest, whole = BodyDigest(100), hashlib.sha256()
    for i in range(1000):
        chunk = f"data: {i}\n\n".encode()
        digest.update(chunk)
        whole.update(chunk)
    assert len(digest.head) == 100
    with Ledger(tmp_path / "ledger.db", body_cap=100) as ledger:
        xid = _exchange(ledger)
        ledger.end_exchange(xid, outcome="forwarded", status=200, response_digest=digest,
                            response_headers=[("Content-Type", "text/event-stream")])
        row = ledger.exchanges()[0]
    assert row["response_body"] == bytes(digest.head) and row["response_body"].startswith(b"data: 0\n\n")
    assert (row["response_body_size"], row["response_body_sha256"], row["response_body_truncated"]) == (
        digest.size, whole.hexdigest(), 1)


def test_a_secret_past_the_cap_is_still_redacted_in_what_is_kept(tmp_path):
    """The body is redacted whole, then cut: a JSON document cut in the middle would not parse."""
    create_ledger_file(tmp_path / "ledger.db", {"episode": "e1"})
    doc = json.dumps({"password": "correct horse battery staple", "filler": "x" * 5000}).encode()
    with Ledger(tmp_path / "ledger.db", body_cap=64) as ledger:
        _exchange(ledger, request_body=doc, request_headers=[("Content-Type", "application/json")])
        row = ledger.exchanges()[0]
    assert b"horse" not in row["request_body"] and row["request_body"].startswith(b'{"password": "REDACTED"')


# -- old ledgers ------------------------------------------------------------------------------------

SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE exchanges (id INTEGER PRIMARY KEY AUTOINCREMENT, via TEXT NOT NULL, service TEXT,
    outcome TEXT NOT NULL, method TEXT NOT NULL, scheme TEXT NOT NULL, host TEXT NOT NULL, port INTEGER,
    path TEXT NOT NULL, query TEXT NOT NULL DEFAULT '', request_headers TEXT NOT NULL DEFAULT '[]',
    request_body BLOB, status INTEGER, response_headers TEXT, response_body BLOB, error TEXT,
    clock INTEGER NOT NULL, started_at REAL NOT NULL, duration_ms REAL);
CREATE TABLE faults (id INTEGER PRIMARY KEY AUTOINCREMENT, exchange_id INTEGER, rule TEXT NOT NULL,
    action TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '{}', clock INTEGER);
CREATE TABLE state_changes (id INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, seq INTEGER NOT NULL,
    exchange_id INTEGER, tbl TEXT NOT NULL, row_key TEXT NOT NULL, op TEXT NOT NULL, before TEXT, after TEXT,
    UNIQUE (service, seq));
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '{}',
    at REAL NOT NULL);
CREATE TABLE scores (id INTEGER PRIMARY KEY AUTOINCREMENT, task TEXT NOT NULL, success INTEGER NOT NULL,
    score REAL NOT NULL, reasons TEXT NOT NULL, details TEXT NOT NULL, at REAL NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1'), ('episode', '"old"');
INSERT INTO exchanges (via, outcome, method, scheme, host, path, request_body, status, clock, started_at)
    VALUES ('proxy', 'routed', 'GET', 'https', 'api.stripe.com', '/v1/x', X'6869', 200, 1, 0);
"""


def _schema_1_ledger(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_1)
    conn.close()
    return path


def test_a_schema_1_ledger_opens_keeps_its_rows_and_takes_new_ones(tmp_path):
    path = _schema_1_ledger(tmp_path / "ledger.db")
    with Ledger(path) as ledger:
        [old] = ledger.exchanges()
        assert (old["path"], old["request_body"], old["request_body_size"], old["request_body_truncated"]) == (
            "/v1/x", b"hi", None, 0)
        assert ledger.meta()["schema_version"] == SCHEMA_VERSION and ledger.meta()["episode"] == "old"
        _exchange(ledger, request_body=b"abc")
        assert ledger.exchanges()[1]["request_body_size"] == 3
    with Ledger(path) as again:  # upgraded once; opening it again changes nothing
        assert len(again.exchanges()) == 2


def test_a_ledger_from_a_newer_sandbox_is_refused(tmp_path):
    path = _schema_1_ledger(tmp_path / "ledger.db")
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="schema 99"):
        Ledger(path)


def test_an_old_template_in_a_home_is_rebuilt_with_the_new_schema(tmp_path, monkeypatch):
    """Templates are cached in homes across versions: a schema-1 ledger template is replaced."""
    from sandbox.episodes import templates
    from sandbox.home import Home

    home = Home(tmp_path / "home")
    monkeypatch.setattr(templates, "all_services", list)  # the ledger template is what is under test
    target = templates.ensure_templates(home, 5)
    (target / templates.LEDGER_TEMPLATE).unlink()
    (target / templates.LEDGER_MARK).unlink()
    _schema_1_ledger(target / templates.LEDGER_TEMPLATE)
    templates.ensure_templates(home, 5)
    conn = sqlite3.connect(target / templates.LEDGER_TEMPLATE)
    try:
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(exchanges)")}
    finally:
        conn.close()
    assert {"request_body_size", "response_body_sha256", "response_body_truncated"} <= columns
    assert not [p for p in target.iterdir() if p.name.startswith(".building")]


# -- redaction and file modes ---------------------------------------------------------------------

SLACK = "xoxb-123456789012-abcdefABCDEF1234"
OPENAI = "sk-live0123456789abcdefghijklmnopqrstuv"
CUSTOM = "k3y-9f8e7d6c5b4a39281706"  # no known vendor shape: caught by the header's or field's name
BODY_KEY = "b0dy-1a2b3c4d5e6f7a8b9c0d"


def test_secrets_never_reach_the_ledger_file_in_clear(tmp_path):
    """Slack's `token` query parameter, a key in a JSON body, a custom key header, an LLM key; read
    from the raw bytes of the file and its WAL, where a redaction bug could not hide."""
    path = tmp_path / "ledger.db"
    create_ledger_file(path, {"episode": "e1"})
    with Ledger(path) as ledger:
        xid = ledger.begin_exchange(via="proxy", method="POST", scheme="https", host="slack.com", port=443,
                                    path="/api/chat.postMessage", query=f"token={SLACK}&channel=C1",
                                    request_headers=[("X-Acme-Api-Key", CUSTOM), ("Content-Type", "application/json")],
                                    request_body=json.dumps({"api_key": BODY_KEY, "note": "fp 5L5DQ2X9"}).encode())
        ledger.end_exchange(xid, outcome="routed", status=200,
                            response_headers=[("Content-Type", "application/json")],
                            response_body=json.dumps({"echo": f"{CUSTOM} {BODY_KEY}", "ok": True}).encode())
        llm = ledger.begin_exchange(via="proxy", method="POST", scheme="https", host="api.openai.com", port=443,
                                    path="/v1/chat/completions",
                                    request_headers=[("Authorization", f"Bearer {OPENAI}"), ("x-api-key", OPENAI)])
        ledger.end_exchange(llm, outcome="forwarded", status=401, error=f"upstream said no to {OPENAI}")
        ledger.add_state_changes("chat", [(1, xid, "messages", "m1", "insert", None,
                                           json.dumps({"text": f"my key is {SLACK}", "user": "ann@example.com"}))])
        rows = ledger.exchanges()
        assert rows[0]["query"] == "token=REDACTED&channel=C1"
        assert b"fp 5L5DQ2X9" in rows[0]["request_body"]  # world data is not a secret
        assert ledger.state_changes()[0]["after"]["user"] == "ann@example.com"
        raw = b"".join(Path(f"{path}{s}").read_bytes() for s in ("", "-wal") if Path(f"{path}{s}").exists())
        for secret in (SLACK, OPENAI, CUSTOM, BODY_KEY):
            assert secret.encode() not in raw, secret


def test_ledger_files_are_private(tmp_path):
    path = tmp_path / "ledger.db"
    create_ledger_file(path, {"episode": "e1"})
    with Ledger(path) as ledger:
        _exchange(ledger)
        os.chmod(path, 0o644)
        secure(path)
        for suffix in ("", "-wal", "-shm"):
            assert stat.S_IMODE(os.stat(f"{path}{suffix}").st_mode) == 0o600, suffix


def test_a_big_body_is_redacted_only_as_far_as_it_is_kept(tmp_path):
    """Redacting costs ~0.1 s a MB of the proxy's thread: a body over REDACT_WHOLE_MAX is redacted in
    its kept part, where a JSON document cut short is still redacted by field name."""
    from sandbox.episodes.ledger import REDACT_WHOLE_MAX

    create_ledger_file(tmp_path / "ledger.db", {"episode": "e1"})
    doc = json.dumps({"client_secret": "cs_correcthorsebattery", "filler": "x" * REDACT_WHOLE_MAX,
                      "tail_token": "sk_live_abcdefghijklmnop"}).encode()
    with Ledger(tmp_path / "ledger.db", body_cap=256) as ledger:
        _exchange(ledger, request_body=doc, request_headers=[("Content-Type", "application/json")])
        row = ledger.exchanges()[0]
    assert row["request_body"].startswith(b'{"client_secret": "REDACTED"') and b"horse" not in row["request_body"]
    assert (row["request_body_size"], row["request_body_truncated"]) == (len(doc), 1)
