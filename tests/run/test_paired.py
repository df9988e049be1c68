"""Paired runs: the same task, seed and agent with and without a profile, and what changed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.run.paired import paired_run
from sandbox.scoring.score import score_ledger
from sandbox.tasks import load_task

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
GOODWILL = load_task(ROOT / "examples" / "tasks" / "goodwill-refund.yaml")


def agent(name: str) -> list[str]:
    return [sys.executable, str(ROOT / "examples" / name)]


def test_a_naive_retry_under_a_ghost_write_refunds_twice_and_the_score_says_so(running_sandbox):
    result = paired_run(GOODWILL, agent("naive_retry_refund_agent.py"), faults="ghost-refund",
                        home=running_sandbox.home, ports=running_sandbox.ports)
    without, with_faults = result.comparison.without, result.comparison.with_faults
    assert (without.success, without.duplicated_effects, without.faults) == (True, 0, 0)
    assert (with_faults.success, with_faults.duplicated_effects, with_faults.retries) == (False, 1, 1)
    assert result.comparison.difference()["duplicated_effects"] == 1
    reasons = result.with_faults.score.reasons
    assert "one goodwill refund of 2000 cents (2 found, exactly 1 wanted)" in "\n".join(reasons)
    assert any(r.startswith("failed after a ghost write (the write was applied, the agent got 500) on call 1")
               for r in reasons), reasons
    table = result.render()
    assert "duplicated side effects" in table and "+1" in table
    # the score is the ledger's: recomputing it gives the same reasons
    ledger = running_sandbox.home.ledger_path(result.with_faults.episode.id)
    assert score_ledger(ledger).reasons == reasons


def test_the_stripe_sdk_with_idempotency_keys_refunds_once_under_the_same_fault(running_sandbox):
    result = paired_run(GOODWILL, agent("idempotent_refund_agent.py"), faults="ghost-refund",
                        home=running_sandbox.home, ports=running_sandbox.ports)
    with_faults = result.comparison.with_faults
    assert (with_faults.success, with_faults.duplicated_effects, with_faults.retries, with_faults.faults) == (
        True, 0, 1, 1)
    assert result.comparison.without.success is True


def test_sandbox_run_with_faults_on_the_shipped_task(running_sandbox):
    """The careful example agent (stripe SDK, retries on) meets a ghost write on its refund and still
    makes exactly one; the score notes the fault."""
    home = str(running_sandbox.home.root)
    result = CliRunner().invoke(main, ["--home", home, "run", "--json", "--faults", "ghost-refund",
                                       "refund-duplicate-charge", "--", *agent("careful_refund_agent.py")])
    assert result.exit_code == 0, result.output
    score = json.loads(result.output[result.output.index("{\n"):])["score"]
    assert score["success"] is True
    assert any("ghost write" in r and "POST /v1/refunds" in r for r in score["reasons"]), score["reasons"]
