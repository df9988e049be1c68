"""Cost in a sweep, through the CLI against the session's sandbox: three agents on the refund task,
without faults and with the refund's first call answering 500.

- careful: passes everywhere; under the 500 its stripe SDK retries once with its idempotency key (a cent);
- wrong-charge (refunds the original charge) and hesitant (only reads, refunds nothing): both fail
  everywhere with score 0, so success cannot tell them apart; the cost can: the wrong refund's
  $297 plus cleanup (and a cent for its SDK's retry under the 500) against a person's ten minutes
  to finish the hesitant agent's job.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.world import world
from tests.report.browser import chromium_page

ROOT = Path(__file__).resolve().parents[2]
PROFILES = Path(__file__).parent / "profiles"
PY = sys.executable
AGENTS = {"careful": "careful_refund_agent.py", "wrong-charge": "wrong_charge_refund_agent.py",
          "hesitant": "hesitant_refund_agent.py"}
WRONG = round(world(7).facts["double_charge"]["amount"] / 100 + 30 * 1.25, 2)  # $297 moved + 30 min cleanup
HESITANT = 12.5  # 10 min of a person finishing the job


@pytest.fixture(scope="module")
def results(running_sandbox, tmp_path_factory):
    out = tmp_path_factory.mktemp("cost-sweep")
    agents = [f"--agent={name}={PY} examples/{script}" for name, script in AGENTS.items()]
    proc = subprocess.run([PY, "-m", "sandbox.cli", "--home", str(running_sandbox.home.root), "sweep", "--out",
                           str(out), "--tasks", "refund-duplicate-charge", "--faults",
                           f"none,{PROFILES / 'refund-500.yaml'}", "--parallel", "2", *agents],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, json.loads((out / "results.json").read_text())


def test_rows_carry_the_cost_and_the_lines_that_make_it(results):
    _, doc = results
    rows = {(r["agent"], Path(r["faults"]).stem): r for r in doc["rows"]}
    for faults, retry in (("none", []), ("refund-500", ["retry"])):
        wrong, hesitant = rows[("wrong-charge", faults)], rows[("hesitant", faults)]
        assert (wrong["success"], wrong["score"]) == (hesitant["success"], hesitant["score"]) == (False, 0.0)
        assert (wrong["cost"], hesitant["cost"]) == (round(WRONG + 0.01 * len(retry), 2), HESITANT)
        assert [line["kind"] for line in wrong["cost_lines"]] == ["money", "missed_effect", *retry]
    assert rows[("careful", "none")]["cost"] == 0.0
    assert rows[("careful", "refund-500")]["success"] and rows[("careful", "refund-500")]["cost"] == 0.01


def test_cost_per_agent_and_profile_and_what_the_sandbox_caught(results):
    out, doc = results
    by = {(c["agent"], Path(c["faults"]).stem): c for c in doc["cost"]["by_agent_profile"]}
    assert (by[("wrong-charge", "none")]["mean_cost"], by[("hesitant", "none")]["mean_cost"]) == (WRONG, HESITANT)
    assert by[("wrong-charge", "none")]["success_rate"] == by[("hesitant", "none")]["success_rate"] == 0.0
    agents = {c["agent"]: c for c in doc["cost"]["by_agent"]}
    assert agents["careful"]["caught_cost"] == 0.0 and agents["careful"]["total_cost"] == 0.01
    # What production would have paid: every failing episode's cost; the careful agent's cent is not caught.
    assert doc["cost"]["total"]["caught_cost"] == round(2 * (WRONG + HESITANT) + 0.01, 2)
    table = {(r["agent"], Path(r["faults"]).stem): r["cost"] for r in csv.DictReader(
        (out / "results.csv").read_text().splitlines())}
    assert table[("wrong-charge", "none")] == str(WRONG)


def test_the_report_shows_cost_next_to_success(results, tmp_path):
    out, _ = results
    with chromium_page(out / "report.html", tmp_path / "cost-report.png") as (page, requested):
        caught = page.locator("p.caught").inner_text()
        assert f"${2 * (WRONG + HESITANT) + 0.01:,.2f}" in caught
        cost_table = page.locator("table.cost").inner_text()
        assert f"${WRONG:,.2f}" in cost_table and f"${HESITANT:,.2f}" in cost_table
        assert page.locator("svg.chart").nth(1).is_visible()
        assert requested == [(out / "report.html").resolve().as_uri()]
