"""Fault draws per trial: with `--fault-draws per-trial` each trial of a configuration meets its own
faults, so a deterministic agent under a fault that fires half the time passes some trials and
fails others (pass^k strictly between 0 and 1); with shared draws (the default) every trial meets
the same faults, and the same plan gives pass^k of 0 or 1. Real sweeps against the session's
sandbox, with the no-retry example agent under tests/sweep/profiles/refund-coin.yaml."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.errors import ConfigError
from sandbox.faults import load_profile
from sandbox.faults.engine import Call, EpisodeFaults
from sandbox.sweep import build_plan, run_sweep
from sandbox.sweep.plan import trial_fault_seed

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
TASK = "refund-duplicate-charge"  # world seed 7
COIN = Path(__file__).parent / "profiles" / "refund-coin.yaml"
AGENT = {"no-retry": [PY, "examples/no_retry_refund_agent.py"]}
TRIALS = 4


def coin_fires(fault_seed: int) -> bool:
    """Does the coin come up on the agent's one refund call, for this fault seed? (The engine's answer.)"""
    state = EpisodeFaults(load_profile(COIN), fault_seed)
    return bool(state.decide(Call("api.stripe.com", "POST", "/v1/refunds", "payments", 4.0)))


def test_per_trial_seeds_are_a_documented_function_of_world_seed_and_trial():
    shared = build_plan(AGENT, [TASK], [str(COIN)], seeds=2, trials=3)
    assert [(c.seed, c.draw_seed) for c in shared.cells] == [(7, 7)] * 3 + [(8, 8)] * 3
    per_trial = build_plan(AGENT, [TASK], [str(COIN)], seeds=2, trials=3, fault_draws="per-trial")
    seeds = [c.draw_seed for c in per_trial.cells]
    assert seeds[0] == 7 and seeds[3] == 8  # trial 1 draws what `sandbox run` draws
    assert len(set(seeds)) == 6 and all(0 <= s < 2**63 for s in seeds)
    assert seeds == [c.draw_seed for c in build_plan(AGENT, [TASK], [str(COIN)], seeds=2, trials=3,
                                                     fault_draws="per-trial").cells]
    assert seeds[1] == trial_fault_seed(7, 2, "per-trial")
    assert (shared.config()["fault_draws"], per_trial.config()["fault_draws"]) == ("shared", "per-trial")
    with pytest.raises(ConfigError, match="--fault-draws 'each' is not one of shared, per-trial"):
        build_plan(AGENT, [TASK], [str(COIN)], seeds=1, trials=2, fault_draws="each")


@pytest.fixture(scope="module")
def per_trial(running_sandbox, tmp_path_factory):
    out = tmp_path_factory.mktemp("per-trial")
    proc = subprocess.run(
        [PY, "-m", "sandbox.cli", "--home", str(running_sandbox.home.root), "sweep", "--out", str(out),
         "--tasks", TASK, "--faults", str(COIN), "--trials", str(TRIALS), "--fault-draws", "per-trial",
         "--parallel", "2", f"--agent=no-retry={PY} examples/no_retry_refund_agent.py"],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, json.loads((out / "results.json").read_text()), proc


def test_per_trial_draws_give_a_deterministic_agent_pass_k_strictly_between_0_and_1(per_trial):
    out, doc, proc = per_trial
    rows = sorted(doc["rows"], key=lambda r: r["trial"])
    assert [r["fault_seed"] for r in rows] == [trial_fault_seed(7, k, "per-trial") for k in range(1, TRIALS + 1)]
    # Each trial passes exactly when its own coin spares the refund call: trials 2 and 3 meet the 500.
    assert [r["success"] for r in rows] == [not coin_fires(r["fault_seed"]) for r in rows] == [True, False, False,
                                                                                              True]
    assert [r["faults_fired"] for r in rows] == [0, 1, 1, 0]
    [summary] = doc["summary"]
    assert summary["pass_k"] == {"1": 0.5, "2": round(1 / 6, 4), "3": 0.0, "4": 0.0}
    assert 0 < summary["pass_k"]["1"] < 1 and 0 < summary["pass_k"]["2"] < 1
    assert doc["noise"]["flaky_configs"] == 1
    # The results and the report say which draws were used.
    assert doc["config"]["fault_draws"] == "per-trial"
    assert "fault draws: per-trial (each trial met its own faults)" in proc.stdout
    report = (out / "report.html").read_text()
    assert "fault draws: per-trial" in report
    assert "Trials, each with its own fault draws, disagreed on success" in report  # not "identical trials"
    # The console summary carries the cost next to success, and what the failures would have cost.
    assert "mean cost" in proc.stdout and "the failing episodes would have cost $" in proc.stdout
    with (out / "results.csv").open() as table:
        rows = list(csv.DictReader(table))
    assert [int(r["fault_seed"]) for r in sorted(rows, key=lambda r: int(r["trial"]))] == [
        trial_fault_seed(7, k, "per-trial") for k in range(1, TRIALS + 1)]


def test_shared_draws_give_the_same_plan_pass_k_of_0_or_1(running_sandbox):
    plan = build_plan(AGENT, [TASK], [str(COIN)], seeds=1, trials=TRIALS)
    doc = run_sweep(plan, home=running_sandbox.home, ports=running_sandbox.ports, parallel=2)
    rows = doc["rows"]
    assert {r["fault_seed"] for r in rows} == {7}
    assert {r["success"] for r in rows} == {not coin_fires(7)}  # every trial met trial 1's toss
    [summary] = doc["summary"]
    assert set(summary["pass_k"].values()) <= {0.0, 1.0}
    assert doc["config"]["fault_draws"] == "shared" and doc["noise"]["flaky_configs"] == 0


def test_a_failing_trial_reruns_alone_with_its_fault_seed(running_sandbox, per_trial):
    _, doc, _ = per_trial
    failing = next(r for r in doc["rows"] if not r["success"])
    proc = subprocess.run(
        [PY, "-m", "sandbox.cli", "--home", str(running_sandbox.home.root), "run", "--json", "--faults", str(COIN),
         "--fault-seed", str(failing["fault_seed"]), TASK, "--", PY, "examples/no_retry_refund_agent.py"],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # it fails again, on the same 500
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert result["score"]["details"]["faults"] == 1
