"""`sandbox recordings scan` on ledgers (a ledger.db, an episode's folder, `--ledgers`), a name that
is not there (exit 2, no traceback), and recordings written private (0600)."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.episodes.ledger import Ledger, create_ledger_file
from sandbox.home import Home
from sandbox.recordings.format import Exchange, RecordedRequest, RecordedResponse
from sandbox.recordings.store import append_partial, partial_path, write_atomic

SLACK = "xoxb-123456789012-abcdefABCDEF1234"


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("SANDBOX_RECORDINGS", str(tmp_path / "recordings"))
    runner = CliRunner()
    return lambda *args: runner.invoke(main, ["--home", str(tmp_path / "home"), *args])


def _episode_ledger(tmp_path, episode_id: str = "ep1"):
    home = Home.resolve(tmp_path / "home")
    path = home.ledger_path(episode_id)
    path.parent.mkdir(parents=True)
    create_ledger_file(path, {"episode": episode_id})
    with Ledger(path) as ledger:  # written through the ledger: redacted
        xid = ledger.begin_exchange(via="proxy", method="GET", scheme="https", host="slack.com", port=443,
                                    path="/api/auth.test", query=f"token={SLACK}")
        ledger.end_exchange(xid, outcome="routed", status=200, response_body=b'{"ok": true}')
    return path


def test_a_redacted_ledger_scans_clean_and_a_leaked_token_is_found(cli, tmp_path):
    path = _episode_ledger(tmp_path)
    for args in (("--ledgers",), (str(path),), (str(path.parent),), (str(path.parent.parent),)):
        result = cli("recordings", "scan", *args)
        assert result.exit_code == 0 and "1 ledger(s): 0 secret(s) found" in result.output, (args, result.output)
    conn = sqlite3.connect(path)  # a token that got in some other way (an old ledger, a bug)
    conn.execute("UPDATE exchanges SET response_body=?, request_headers=?",
                 (f'{{"token": "{SLACK}"}}'.encode(), '[["Authorization", "Bearer abc"]]'))
    conn.execute("INSERT INTO state_changes (service, seq, tbl, row_key, op, after) VALUES"
                 " ('chat', 1, 'messages', 'm1', 'insert', ?)", (f'{{"text": "{SLACK}"}}',))
    conn.commit()
    conn.close()
    result = cli("recordings", "scan", "--ledgers")
    assert result.exit_code == 1, result.output
    assert f"{path}:1: exchange 1.response_body: slack token" in result.output
    assert f"{path}:1: exchange 1.request_headers.Authorization: credential header not redacted" in result.output
    assert "state change 1 (chat.messages).after: slack token" in result.output
    assert "123456789012" not in result.output  # findings never print the secret


def test_a_name_that_is_not_there_is_a_clear_error(cli, tmp_path):
    for name in ("nonexist", str(tmp_path / "gone.db"), str(tmp_path / "gone.jsonl")):
        result = cli("recordings", "scan", name)
        assert result.exit_code == 2 and "error: no " in result.output and "Traceback" not in result.output, name
    (tmp_path / "empty").mkdir()
    result = cli("recordings", "scan", str(tmp_path / "empty"))
    assert result.exit_code == 2 and "holds no ledger.db and no recording" in result.output


def test_recordings_and_partials_are_written_private(tmp_path):
    target = tmp_path / "recordings" / "r.jsonl"
    stale = target.with_name(target.name + ".tmp")
    stale.parent.mkdir(parents=True)
    stale.write_text("left by a crash")
    os.chmod(stale, 0o644)
    write_atomic(target, ['{"x": 1}\n'])
    one = Exchange(RecordedRequest("GET", "a.example", "/"), RecordedResponse(200))
    append_partial(target, "ep1", one, {"fields": [], "patterns": []})
    for path in (target, partial_path(target, "ep1")):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
