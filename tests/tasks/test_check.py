"""`sandbox tasks check` over every shipped task, and the check catching tasks that measure nothing.

One sandbox for the whole session (tests/conftest.py); each agent runs in its own episode."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sandbox.scoring.score import score_ledger
from sandbox.sweep.episode import project_pythonpath, run_episode
from sandbox.tasks import library_ids, load_task
from sandbox.tasks.check import check_task
from sandbox.tasks.registry import task_path
from tests.tasks.test_model import active_or_skip

ROOT = Path(__file__).resolve().parents[2]
ORACLE = [sys.executable, "-m", "sandbox.tasks.oracles.refund_duplicate_charge"]


@pytest.mark.parametrize("task_id", library_ids())
def test_every_shipped_task_passes_its_self_check(running_sandbox, task_id):
    active_or_skip(task_id)
    check = check_task(load_task(task_id), home=running_sandbox.home, ports=running_sandbox.ports)
    assert check.ok, check.render()
    assert [r.role for r in check.results] == ["oracle", "no-op", "reckless"], check.render()


def variant(tmp_path, name, **changes):
    doc = yaml.safe_load(task_path("refund-duplicate-charge").read_text())
    doc.update(id=name, **changes)
    for key in [k for k, v in changes.items() if v is None]:
        doc.pop(key)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_task(path)


def test_a_task_that_allows_everything_is_caught_not_catching_the_reckless_agent(running_sandbox, tmp_path):
    lax = variant(tmp_path, "lax", private_data=False, forbidden=[],
                  allowed=[{"service": "payments", "table": t} for t in ("charges", "refunds", "customers")])
    check = check_task(lax, home=running_sandbox.home, ports=running_sandbox.ports)
    assert not check.ok
    reckless = next(r for r in check.results if r.role == "reckless")
    assert not reckless.ok and "not caught" in reckless.verdict
    assert next(r for r in check.results if r.role == "oracle").ok


def test_a_task_without_agents_is_reported_as_lacking_them(running_sandbox, tmp_path):
    bare = variant(tmp_path, "bare", oracle=None, reckless=None)
    check = check_task(bare, home=running_sandbox.home, ports=running_sandbox.ports)
    assert [(r.role, r.ok) for r in check.results] == [("oracle", False), ("no-op", True)]
    assert "no `reckless:` agent" in check.warnings[0]
    strict = check_task(bare, home=running_sandbox.home, ports=running_sandbox.ports, strict=True)
    assert ("reckless", False) in [(r.role, r.ok) for r in strict.results]


def test_a_copied_ledger_scores_exactly_as_the_live_episode(running_sandbox, tmp_path):
    run = run_episode(load_task("refund-duplicate-charge"), ORACLE, home=running_sandbox.home,
                      ports=running_sandbox.ports, extra_env=project_pythonpath())
    assert run.score.success
    copy = tmp_path / "elsewhere" / "ledger.db"
    copy.parent.mkdir()
    shutil.copyfile(running_sandbox.home.ledger_path(run.episode), copy)  # the .db file alone, no -wal
    assert score_ledger(copy).to_dict() == run.score.to_dict()
    proc = subprocess.run([sys.executable, "-m", "sandbox.cli", "score", str(copy), "--json"], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == run.score.to_dict()


def test_a_verifier_hook_adds_its_verdict(running_sandbox, tmp_path):
    checked = variant(tmp_path, "verified", verifier="tests.tasks.verifiers:refund_names_the_order")
    env, where = project_pythonpath(), {"home": running_sandbox.home, "ports": running_sandbox.ports}
    careful = [sys.executable, str(ROOT / "examples" / "careful_refund_agent.py")]
    good = run_episode(checked, careful, extra_env=env, **where)
    assert good.score.success and good.score.details["verifier"] is True
    bad = run_episode(checked, ORACLE, extra_env=env, **where)  # the oracle's refund has no order metadata
    assert (bad.score.success, bad.score.score) == (False, 0.5)
    assert any(r.endswith("names no order") for r in bad.score.reasons) and "verifier: failed" in bad.score.reasons
    broken = variant(tmp_path, "verified3", verifier="tests.tasks.verifiers:crashes")
    crashed = run_episode(broken, careful, extra_env=env, **where)
    assert not crashed.score.success
    assert "verifier tests.tasks.verifiers:crashes crashed: RuntimeError: bug in the check" in crashed.score.reasons


def test_tasks_check_command(running_sandbox):
    proc = subprocess.run([sys.executable, "-m", "sandbox.cli", "--home", str(running_sandbox.home.root), "tasks",
                           "check", "refund-duplicate-charge"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "refund-duplicate-charge: OK" in proc.stdout and "1 of 1 tasks check out" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "sandbox.cli", "tasks", "check", "refund-duplicat-charge"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "did you mean 'refund-duplicate-charge'" in proc.stderr
