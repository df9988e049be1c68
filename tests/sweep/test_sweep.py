"""A sweep over the shipped example agents, through the CLI, against the session's sandbox.

Expected, from what each agent does under each profile:
- careful (stripe SDK, retries with one idempotency key): passes everywhere;
- careless (refunds every charge): fails everywhere, on harm;
- no-retry: passes without faults, fails when the refund call answers 500 (nothing refunded);
- retry-without-idempotency: passes without faults and when the 500 comes before the refund; when
  the refund is made and the answer lost, its second refund is refused by Stripe as already
  refunded (a full refund cannot happen twice), so it ends on an error with the customer refunded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.report.browser import chromium_page

ROOT = Path(__file__).resolve().parents[2]
PROFILES = Path(__file__).parent / "profiles"
PY = sys.executable
AGENTS = {
    "careful": "careful_refund_agent.py",
    "careless": "careless_refund_agent.py",
    "no-retry": "no_retry_refund_agent.py",
    "retry-no-idem": "retry_without_idempotency_agent.py",
}


def sweep(home, out, *args, timeout=300):
    return subprocess.run([PY, "-m", "sandbox.cli", "--home", str(home.root), "sweep", "--out", str(out), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def results(running_sandbox, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    agents = [f"--agent={name}={PY} examples/{script}" for name, script in AGENTS.items()]
    faults = f"none,{PROFILES / 'refund-500.yaml'},{PROFILES / 'ghost-refund.yaml'}"
    proc = sweep(running_sandbox.home, out, "--tasks", "refund-duplicate-charge", "--faults", faults,
                 "--trials", "2", "--parallel", "2", *agents)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads((out / "results.json").read_text())
    return out, doc, proc


def rate(doc, agent, faults):
    rows = [r for r in doc["rows"] if r["agent"] == agent and Path(r["faults"]).stem == faults]
    assert len(rows) == 2
    return sum(r["success"] for r in rows) / len(rows)


def test_every_combination_ran_as_its_own_scored_episode(results):
    out, doc, proc = results
    assert len(doc["rows"]) == 4 * 3 * 2
    assert len({r["episode"] for r in doc["rows"]}) == 24
    assert (out / "results.csv").read_text().count("\n") == 25
    assert "careful" in proc.stdout and "report.html" in proc.stdout


def test_success_orderings_across_agents_and_profiles(results):
    _, doc, _ = results
    table = {(a, f): rate(doc, a, f) for a in AGENTS for f in ("none", "refund-500", "ghost-refund")}
    assert table == {
        ("careful", "none"): 1.0, ("careful", "refund-500"): 1.0, ("careful", "ghost-refund"): 1.0,
        ("careless", "none"): 0.0, ("careless", "refund-500"): 0.0, ("careless", "ghost-refund"): 0.0,
        ("no-retry", "none"): 1.0, ("no-retry", "refund-500"): 0.0, ("no-retry", "ghost-refund"): 1.0,
        ("retry-no-idem", "none"): 1.0, ("retry-no-idem", "refund-500"): 1.0, ("retry-no-idem", "ghost-refund"): 1.0,
    }
    for faults in ("none", "refund-500", "ghost-refund"):
        assert all(table[("careful", faults)] >= table[(a, faults)] >= table[("careless", faults)] for a in AGENTS)


def test_paired_deltas_show_what_each_fault_costs(results):
    _, doc, _ = results
    deltas = {(d["agent"], Path(d["faults"]).stem): d for d in doc["deltas"]
              if d["metric"] == "score" and d["task"] == "refund-duplicate-charge"}
    brittle = deltas[("no-retry", "refund-500")]
    assert (brittle["delta"], brittle["pairs"], brittle["significant"]) == (-1.0, 2, True)
    assert brittle["ci_high"] < 0
    for key in [("careful", "refund-500"), ("careful", "ghost-refund"), ("retry-no-idem", "refund-500")]:
        assert deltas[key]["delta"] == 0.0 and not deltas[key]["significant"]
    assert doc["noise"]["flip_rate"] == 0.0  # these agents are deterministic under seeded faults


def test_the_sweep_prints_the_paired_deltas(results):
    _, _, proc = results
    assert "paired deltas against `none`" in proc.stdout
    printed = [line.split() for line in proc.stdout.splitlines() if line.startswith("no-retry ")]
    # agent, task, faults, pairs, Δscore, Δsuccess: the brittle agent loses all of it under the 500.
    assert ["no-retry", "refund-duplicate-charge", "refund-500", "2", "-1.00*", "-1.00*"] in printed
    assert ["no-retry", "refund-duplicate-charge", "ghost-refund", "2", "+0.00", "+0.00"] in printed


def test_retries_and_idempotency_show_in_the_efficiency_figures(results):
    _, doc, _ = results
    ghost = {r["agent"]: r for r in doc["rows"] if Path(r["faults"]).stem == "ghost-refund" and r["trial"] == 1}
    assert ghost["careful"]["retries"] == 1 and ghost["careful"]["exit_code"] == 0  # replayed by its key
    unsafe = ghost["retry-no-idem"]
    assert (unsafe["retries"], unsafe["errors"], unsafe["exit_code"]) == (1, 2, 1)
    episode = doc["episodes"][unsafe["episode"]]
    assert [e["status"] for e in episode["exchanges"] if e["method"] == "POST"] == [500, 400]
    assert episode["exchanges"][2]["faults"]  # the fault that fired is on the timeline
    assert all(r["duplicated_writes"] == 0 for r in doc["rows"])


def test_the_sweep_report_renders_in_chromium(results, tmp_path):
    out, doc, _ = results
    with chromium_page(out / "report.html", tmp_path / "sweep-report.png") as (page, requested):
        assert page.locator("tr.episode").count() == 24
        assert page.locator("svg.chart").nth(2).is_visible()  # the delta chart (after success and cost)
        assert "no-retry" in page.locator("table.deltas").inner_text()
        assert len(requested) == 1


def test_bad_sweep_input_fails_before_any_episode(running_sandbox, tmp_path):
    home = running_sandbox.home
    bad = sweep(home, tmp_path, "--tasks", "refund-duplicate-charge", "--faults", "none,,ghost-refund", "--", PY, "-V")
    assert bad.returncode == 2 and "--faults 'none,,ghost-refund': entry 2 is empty" in bad.stderr
    bad = sweep(home, tmp_path, "--tasks", "refund-duplicate-charge", "--faults", "none,ghost-refnd", "--", PY, "-V")
    assert bad.returncode == 2 and "did you mean 'ghost-refund'" in bad.stderr
    bad = sweep(home, tmp_path, "--tasks", "refund-duplicate-charge", "--", "no-such-agent-program")
    assert bad.returncode == 2 and "program 'no-such-agent-program' not found" in bad.stderr
    assert not (tmp_path / "results.json").exists()


def test_crashing_and_hanging_agents_still_get_scored_recorded_episodes(running_sandbox, tmp_path):
    proc = sweep(running_sandbox.home, tmp_path, "--tasks", "refund-duplicate-charge", "--timeout", "1.5",
                 f"--agent=crash={PY} -c 'raise SystemExit(3)'",
                 f"--agent=hang={PY} -c 'import time; time.sleep(60)'")
    assert proc.returncode == 0, proc.stderr
    rows = {r["agent"]: r for r in json.loads((tmp_path / "results.json").read_text())["rows"]}
    assert rows["crash"]["exit_code"] == 3 and "agent exited with status 3" in rows["crash"]["reasons"]
    assert rows["hang"]["timed_out"] and any("killed at the task's time limit" in r for r in rows["hang"]["reasons"])
    for row in rows.values():
        assert not row["success"] and running_sandbox.home.ledger_path(row["episode"]).exists()
    assert "hit the time limit (still scored)" in proc.stderr
