"""Bad command lines get a clear error, never a traceback: exit status 2, an `error:` line (ours, or
click's `Error:` for a bad option value) and no "Traceback", run as a user runs them, in a subprocess.

Each of these once crashed with a traceback (a huge seed, a file that is not a ledger, an id too long
for a file name, ports out of range or not numbers, a fake that does not exist); ids that would
build paths outside the home (`../..`) must be refused, not followed.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

LONG_ID = "a" * 300


def sandbox(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`sandbox --home HOME ARGS...` in its own process group, killed whole if it outlives `timeout`
    (a regression could start a sandbox instead of refusing the command line)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SANDBOX_HOME", "SANDBOX_SERVICES")}
    child = subprocess.Popen(
        [sys.executable, "-m", "sandbox.cli", "--home", str(home), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
    )
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        out, err = child.communicate()
        pytest.fail(f"sandbox {' '.join(args)} ran for {timeout} s instead of refusing its command line:\n{err}")
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def assert_clear_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == 2, (result.returncode, output)
    assert "error:" in output.lower(), output
    for text in expected:
        assert text in output, (text, output)


@pytest.fixture
def not_a_ledger(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("this is not a database\n" * 100)
    return path


BAD_COMMAND_LINES: list[tuple[list[str], list[str]]] = [  # (arguments, what the error must say)
    (["episodes", "create", "--seed", "9" * 23], ["seed"]),
    (["episodes", "create", "--seed", "-1"], ["seed"]),
    (["score", LONG_ID], ["neither an episode id nor a ledger file", "hint:"]),
    (["up", "--proxy-port", "99999"], ["--proxy-port", "99999"]),
    (["up", "--proxy-port", "0"], ["--proxy-port"]),
    (["up", "--control-port", "-5"], ["--control-port"]),
    (["up", "--service-port", "payments=abc"], ["--service-port", "payments=abc"]),
    (["up", "--service-port", "nope=1"], ["--service-port", "no fake is called 'nope'"]),
    (["up", "--service-port", "payments"], ["SERVICE=PORT"]),
    (["up", "--service-port", "code=70000"], ["code=70000"]),
    (["up", "--workers", "0"], ["--workers"]),
    (["serve", "payments", "--port", "99999"], ["--port"]),
    (["control", "--port", "70000"], ["--port"]),
    (["run", "--timeout", "-1", "refund-duplicate-charge", "--", "true"], ["--timeout"]),
    (["recordings", "scan", "nonexist"], ["nonexist"]),
    (["run", "--route", "api.openai.com", "refund-duplicate-charge", "--", "true"], ["--route", "HOST=URL"]),
    (["run", "--route", "api.openai.com=localhost:8000/v1", "refund-duplicate-charge", "--", "true"],
     ["--route", "must start with http:// or https://"]),
    (["up", "--route", "api.stripe.com=http://127.0.0.1:8000"], ["--route", "answered by the payments fake"]),
    (["sweep", "--tasks", "refund-duplicate-charge", "--route", "*.openai.com=http://127.0.0.1:1", "--", "true"],
     ["--route", "not a host name"]),
    (["paired", "--faults", "ghost-refund", "--route", "api.openai.com=http://h:0", "refund-duplicate-charge",
      "--", "true"], ["--route", "port"]),
    (["episodes", "create", "--route", "api.openai.com=http://127.0.0.1:8000/v1#keep-everything"],
     ["--route", "#keep-everything"]),
]


@pytest.mark.parametrize(("args", "expected"), BAD_COMMAND_LINES,
                         ids=[" ".join(args)[:40] for args, _ in BAD_COMMAND_LINES])
def test_a_bad_command_line_is_a_clear_error(tmp_path: Path, args: list[str], expected: list[str]) -> None:
    assert_clear_error(sandbox(tmp_path / "home", *args), *expected)


def test_scoring_a_file_that_is_not_a_ledger_is_a_clear_error(tmp_path: Path, not_a_ledger: Path) -> None:
    assert_clear_error(sandbox(tmp_path / "home", "score", str(not_a_ledger)), "is not an episode ledger", "hint:")
    empty = tmp_path / "other.db"
    sqlite3.connect(empty).close()
    assert_clear_error(sandbox(tmp_path / "home", "score", str(empty)))


@pytest.mark.parametrize("episode_id", ["../../etc/x", "../../outside", "a/b", ".."])
def test_ids_that_would_leave_the_home_are_refused(tmp_path: Path, episode_id: str) -> None:
    home = tmp_path / "home"
    # A ledger where `../../outside` leads if the id is joined to <home>/episodes/ unchecked.
    planted = tmp_path / "outside" / "ledger.db"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"")
    for command in (["score", episode_id], ["env", episode_id], ["episodes", "finish", episode_id]):
        result = sandbox(home, *command)
        assert_clear_error(result)
        assert str(planted) not in result.stdout + result.stderr, (command, result.stderr)
    assert planted.read_bytes() == b"", "nothing was written outside the home"
