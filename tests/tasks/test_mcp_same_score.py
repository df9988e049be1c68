"""The same task solved once through the vendors' REST APIs (the task's oracle, on their SDKs) and
once through their MCP servers (an oracle on the `mcp` SDK's client) scores the same: the tools write
the rows the REST routes write, and scoring reads only rows."""

from __future__ import annotations

import re
import sys

import pytest

from sandbox.sweep.episode import project_pythonpath, run_episode
from sandbox.tasks import load_task

pytestmark = pytest.mark.slow


def verdicts(reasons: list[str]) -> list[str]:
    return [re.sub(r" \(\d+ found", " (", r) for r in reasons if not r.startswith("efficiency")]


@pytest.mark.parametrize("task_id, mcp_oracle", [
    ("refund-duplicate-charge", "sandbox.tasks.oracles.refund_duplicate_charge_mcp"),
    ("double-charge-ticket", "sandbox.tasks.oracles.double_charge_ticket_mcp"),
])
def test_rest_and_mcp_oracles_score_alike(running_sandbox, task_id, mcp_oracle):
    task = load_task(task_id)
    runs = {door: run_episode(task, [sys.executable, "-m", module], home=running_sandbox.home,
                              ports=running_sandbox.ports, extra_env=project_pythonpath())
            for door, module in (("rest", task.oracle), ("mcp", mcp_oracle))}
    rest, mcp = runs["rest"].score, runs["mcp"].score
    assert (mcp.success, mcp.score) == (rest.success, rest.score) == (True, 1.0), mcp.reasons
    # The same verdict on every effect; counts may differ (the REST oracle solves the ticket in the
    # update that carries the reply, then writes again with the note; the MCP tools are one write each).
    assert verdicts(mcp.reasons) == verdicts(rest.reasons)
    assert len(verdicts(rest.reasons)) == len(task.required)
    assert mcp.cost == rest.cost == 0
