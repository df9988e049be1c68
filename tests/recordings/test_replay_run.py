"""The issue's first "must show": record an agent that uses a fake and a stand-in "real" upstream,
then replay it with both stopped: byte-identical answers, the same score; `sandbox replay` says so,
and says what changed when the agent behaves differently."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.home import Home
from sandbox.recordings.compare import differences, summarize
from sandbox.recordings.format import read_recording
from sandbox.run.runner import run_task
from sandbox.run.supervisor import running_service
from sandbox.tasks import load_task
from tests.proxy.conftest import running_proxy, stand_in

AGENT = Path(__file__).with_name("refund_agent.py")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SANDBOX_SERVICES", "payments")
        root = tmp_path_factory.mktemp("replay-run")
        home = Home.resolve(root / "home")
        task = load_task("refund-duplicate-charge")
        recording = root / "recordings" / "refund.jsonl"
        fake = running_service(home, "payments")
        fake_port = fake.__enter__()
        internet = stand_in()
        upstream = internet.__enter__()
        try:
            with running_proxy(home, "--service", f"payments={fake_port}", "--allow-host", "127.0.0.1") as proxy:
                ports = {"proxy": proxy.port, "services": {"payments": fake_port}}
                env = {"STAND_IN": f"http://127.0.0.1:{upstream.port}"}
                first = run_task(task, [sys.executable, str(AGENT), str(root / "recorded.out")], home=home,
                                 ports=ports, mode="record", recording=str(recording), extra_env=env)
                fake.__exit__(None, None, None)  # the fake and the "internet" are gone from here on
                internet.__exit__(None, None, None)
                fake = internet = None
                second = run_task(task, [sys.executable, str(AGENT), str(root / "replayed.out")], home=home,
                                  ports=ports, mode="replay", recording=str(recording), extra_env=env)
                (home.run_dir / "ports.json").write_text(json.dumps({**ports, "control": None}))
                yield home, root, recording, first, second, env
        finally:
            for ctx in (fake, internet):
                if ctx is not None:
                    ctx.__exit__(None, None, None)


def test_the_replayed_agent_gets_byte_identical_answers_and_the_same_score(recorded):
    home, root, recording, first, second, _ = recorded
    assert first.exit_code == 0 and second.exit_code == 0
    answers = (root / "recorded.out").read_bytes()
    assert answers.count(b"\n200 ") == 3 and b'"object": "refund"' in answers.replace(b'"object":"refund"',
                                                                                       b'"object": "refund"')
    assert (root / "replayed.out").read_bytes() == answers
    assert first.score.success and (second.score.success, second.score.score) == (True, first.score.score)
    rec = read_recording(recording)
    assert [e.upstream for e in rec.exchanges] == ["fake:payments", "fake:payments", "real", "fake:payments"]
    assert any(effect["table"] == "refunds" for effect in rec.exchanges[3].effects)
    assert differences(rec.header["original"], summarize(home.ledger_path(second.episode.id))) == []


def _sandbox_replay(home, recording, env, extra=()):
    return subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "--home", str(home.root), "replay", str(recording), "--",
         sys.executable, str(AGENT), str(home.root / "cli.out")],
        capture_output=True, text=True, cwd=REPO, env={**_base_env(), **env, **dict(extra)}, timeout=120)


def _base_env():
    import os

    return {**os.environ, "SANDBOX_SERVICES": "payments"}


def test_sandbox_replay_passes_when_the_run_is_the_same(recorded):
    home, _, recording, _, _, env = recorded
    result = _sandbox_replay(home, recording, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "same exchanges, state changes and score as the original run" in result.stdout


def test_sandbox_replay_fails_and_says_what_changed(recorded):
    home, _, recording, _, _, env = recorded
    result = _sandbox_replay(home, recording, env, {"AGENT_SKIP_REFUND": "1"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "-POST api.stripe.com /v1/refunds 200" in result.stdout
    assert "state changes differ" in result.stdout and "score: original PASS" in result.stdout


HANGING_AGENT = """
import subprocess, sys
child = subprocess.Popen(["sleep", "60"])  # a child of its own: a tool the agent started
open(sys.argv[1], "w").write(str(child.pid))
child.wait()
"""


def _dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # a zombie waiting for a reaper has ended too


def test_sandbox_replay_kills_a_hung_agent_and_its_children_and_logs_how_it_ended(recorded, tmp_path):
    from sandbox.episodes.ledger import Ledger
    from sandbox.recordings.har import read_har
    from sandbox.recordings.store import save
    from tests.proxy.test_replay import json_har

    home, _, _, _, _, env = recorded
    imported, _ = read_har(json_har(tmp_path))  # no task: the run is `sandbox replay`'s own
    save(imported, tmp_path / "site.jsonl")
    pid_file = tmp_path / "child.pid"
    # --no-isolate: the pid the agent writes must be the host's (isolated, it is its pid namespace's;
    # tests/isolation covers the kill of an isolated agent's whole namespace).
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "--home", str(home.root), "replay", str(tmp_path / "site.jsonl"),
         "--timeout", "1", "--no-isolate", "--", sys.executable, "-c", HANGING_AGENT, str(pid_file)],
        capture_output=True, text=True, cwd=REPO, env={**_base_env(), **env}, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr  # no original, but the agent was killed
    assert "agent killed at the time limit" in result.stdout
    child = int(pid_file.read_text())
    assert _dead(child), "the agent's own child outlived the replay"
    ledger_path = Path(result.stdout.split("(ledger ", 1)[1].split(")", 1)[0])
    with Ledger(ledger_path) as ledger:
        exits = [e["detail"] for e in ledger.events() if e["kind"] == "agent_exit"]
    assert [(e["exit_code"], e["timed_out"]) for e in exits] == [(None, True)]


FETCHING_AGENT = """
import os, ssl, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"https": os.environ["HTTPS_PROXY"]}),
                                     urllib.request.HTTPSHandler(context=ssl.create_default_context()))
for url in sys.argv[1:]:
    try:
        print(opener.open(url, timeout=10).read().decode())
    except urllib.error.HTTPError as exc:
        print(exc.code)
"""


def _replay_import(home, tmp_path, env, *urls):
    from sandbox.recordings.har import read_har
    from sandbox.recordings.store import save
    from tests.proxy.test_replay import json_har

    imported, _ = read_har(json_har(tmp_path))
    save(imported, tmp_path / "site.jsonl")
    return subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "--home", str(home.root), "replay", str(tmp_path / "site.jsonl"),
         "--", sys.executable, "-c", FETCHING_AGENT, *urls],
        capture_output=True, text=True, cwd=REPO, env={**_base_env(), **env}, timeout=120)


def test_sandbox_replay_of_an_imported_recording_exits_0_with_a_note(recorded, tmp_path):
    home, _, _, _, _, env = recorded
    result = _replay_import(home, tmp_path, env, "https://docs.example.net/page?x=1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "note: the recording has no summary of an original run" in result.stdout
    assert "1 exchange(s), each answered from the recording; the agent exited cleanly" in result.stdout


def test_sandbox_replay_of_an_imported_recording_still_fails_on_a_request_it_has_no_answer_for(recorded, tmp_path):
    home, _, _, _, _, env = recorded
    result = _replay_import(home, tmp_path, env, "https://docs.example.net/page?x=1",
                            "https://docs.example.net/other")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "note: the recording has no summary of an original run" in result.stdout
    assert "1 request(s) the recording has no answer for:" in result.stdout
    assert "GET docs.example.net/other: no recorded request has the same" in result.stdout
