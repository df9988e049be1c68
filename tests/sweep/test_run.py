"""A sweep keeps what it finished: an episode that fails is a failed row (not the sweep's end), each
row reaches results.partial.jsonl as it is made, an interrupted sweep says where they are, and the
result files are replaced whole or not at all. Against the session's sandbox unless said otherwise."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import EpisodeStore
from sandbox.sweep import build_plan, run_sweep, write_results
from sandbox.sweep.plan import Cell
from sandbox.tasks import load_task
from sandbox.tasks.registry import task_path
from tests.proxy.conftest import stand_in

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
TASK = "refund-duplicate-charge"


def task_file(tmp_path: Path, name: str, **changes) -> Path:
    doc = yaml.safe_load(task_path(TASK).read_text())
    doc.update(id=name, **changes)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def sweep(home, out, *args, **kwargs):
    return subprocess.Popen([PY, "-m", "sandbox.cli", "--home", str(home.root), "sweep", "--out", str(out), *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_an_episode_that_fails_is_a_failed_row_and_the_others_are_kept(running_sandbox, tmp_path):
    home = running_sandbox.home
    # A setup step that matches no row fails once its episode exists; a bad host fails before it does.
    no_row = load_task(task_file(tmp_path, "no-row", setup=[
        {"service": "payments", "table": "customers", "op": "update", "match": {"id": "cus_nobody"},
         "values": {"description": "VIP"}}]))
    plan = build_plan({"noop": [PY, "-c", "pass"]}, [TASK], ["none"], seeds=1, trials=3)
    plan.cells[1] = dataclasses.replace(plan.cells[1], task=no_row)
    plan.cells[2] = dataclasses.replace(plan.cells[2], task=dataclasses.replace(
        plan.cells[0].task, id="bad-host", allowed_hosts=("https://example.org/",)))
    partial = tmp_path / "results.partial.jsonl"
    partial.write_text('{"left": "by an interrupted sweep"}\n')

    doc = run_sweep(plan, home=home, ports=running_sandbox.ports, parallel=2, partial=partial)

    # The rows an earlier interrupted sweep left are kept aside, not overwritten.
    assert (tmp_path / "results.partial.previous.jsonl").read_text() == '{"left": "by an interrupted sweep"}\n'

    rows = {r["task"]: r for r in doc["rows"]}
    assert len(doc["rows"]) == 3
    assert rows[TASK]["error"] is None and rows[TASK]["exit_code"] == 0
    failed = rows["no-row"]
    assert (failed["success"], failed["score"]) == (False, 0.0)
    assert "matched no row of payments.customers" in failed["error"]
    assert any(r.startswith("sweep error:") and "matched no row" in r for r in failed["reasons"])
    store = EpisodeStore(home)
    try:
        assert not store.get(failed["episode"]).live  # the failed episode is closed, not left open to traffic
    finally:
        store.close()
    with Ledger(home.ledger_path(failed["episode"])) as ledger:
        [event] = [e for e in ledger.events() if e["kind"] == "run_error"]
        assert "TaskError" in event["detail"]["traceback"]
    assert rows["bad-host"]["episode"] == "" and "is not a host name" in rows["bad-host"]["error"]
    # Every row reached the partial file as it finished, the failed ones too.
    lines = [json.loads(line) for line in partial.read_text().splitlines()]
    assert sorted(lines, key=lambda r: r["task"]) == sorted(doc["rows"], key=lambda r: r["task"])


def test_an_interrupted_sweep_keeps_its_finished_rows_and_says_where(running_sandbox, tmp_path):
    pid_file = tmp_path / "hang.pid"
    hang = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    out = tmp_path / "out"
    # --no-isolate: the pid the agent writes must be the host's (isolated, it is its pid namespace's;
    # tests/isolation covers the kill of an isolated agent).
    proc = sweep(running_sandbox.home, out, "--tasks", TASK, "--parallel", "1", "--no-isolate",
                 f"--agent=quick={PY} -c pass", f"--agent=hang={PY} -c \"{hang}\"")
    partial = out / "results.partial.jsonl"
    try:
        deadline = time.monotonic() + 120
        while not (pid_file.exists() and pid_file.read_text()) and proc.poll() is None:
            assert time.monotonic() < deadline, "the hanging agent never started"
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)  # a kill, not only Ctrl-C, stops the sweep cleanly
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stdout + stderr
    assert f"interrupted: 1 of 2 episodes finished; their rows are kept in {partial}" in stderr
    [row] = [json.loads(line) for line in partial.read_text().splitlines()]
    assert (row["agent"], row["exit_code"], row["task"]) == ("quick", 0, TASK)
    assert not (out / "results.json").exists()
    hang_pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # the running agent was killed, not left to its time limit
        os.kill(hang_pid, 0)


def test_result_files_are_replaced_whole_or_not_at_all(tmp_path):
    cell = Cell("a", load_task(TASK), "none", 7, 1)
    row = {"agent": "a", "task": TASK, "faults": "none", "seed": 7, "trial": 1, "episode": "ep1", "success": True,
           "score": 1.0, "calls": 1, "errors": 0, "retries": 0, "duplicated_writes": 0, "reasons": ["ok: done"]}
    good = {"version": 1, "config": {}, "rows": [row]}
    paths = write_results(good, tmp_path)
    before = {name: path.read_bytes() for name, path in paths.items()}
    assert before["csv"].count(b"\n") == 2 and cell.task.id in before["csv"].decode()
    broken = {**good, "rows": [row, {k: v for k, v in row.items() if k != "reasons"}]}  # fails half-way
    with pytest.raises(KeyError):
        write_results(broken, tmp_path)
    assert {name: path.read_bytes() for name, path in paths.items()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "results.json"]  # no temp file left


@pytest.mark.slow
def test_a_sweeps_own_sandbox_gives_a_tasks_allowed_hosts_to_its_episodes_only(tmp_path):
    """Without a sandbox up, the sweep starts one: it must not open one task's hosts to all episodes."""
    from sandbox.home import Home

    home = Home.resolve(tmp_path / "home")
    outside = task_file(tmp_path, "needs-outside", allowed_hosts=["127.0.0.1"])
    agent = tmp_path / "outside_agent.py"
    agent.write_text("import os, sys, requests\n"
                     "answer = requests.get(os.environ['OUTSIDE_URL'], timeout=10)\n"
                     "sys.exit(0 if answer.status_code == 200 else 3)\n")
    with stand_in() as internet:
        env = {**os.environ, "SANDBOX_SERVICES": "payments", "OUTSIDE_URL": f"http://127.0.0.1:{internet.port}/x"}
        proc = sweep(home, tmp_path / "out", "--tasks", f"{outside},{TASK}", "--", PY, str(agent), env=env)
        stdout, stderr = proc.communicate(timeout=180)
        assert proc.returncode == 0, stdout + stderr
        assert len(internet.seen) == 1
    rows = {r["task"]: r for r in json.loads((tmp_path / "out" / "results.json").read_text())["rows"]}
    assert rows["needs-outside"]["exit_code"] == 0
    assert rows[TASK]["exit_code"] == 3  # refused: the other task's allowance is not its own
