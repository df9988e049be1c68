"""Webhooks to an isolated agent: its endpoint listens on its namespace's loopback, out of the host's
reach, and still gets every delivery, through the relay that polls the sandbox's mailbox via the gate;
under webhook-chaos the same duplicate and the same order as without isolation."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sandbox.episodes.ledger import Ledger
from sandbox.isolation import available
from sandbox.run.runner import run_task
from sandbox.tasks import load_task
from sandbox.webhooks.outbox import deliveries
from sandbox.world import world

ROOT = Path(__file__).resolve().parents[2]
AGENT = str(ROOT / "examples" / "webhook_refund_agent.py")
FACT = world(7).facts["double_charge"]

pytestmark = pytest.mark.skipif(not available()[0], reason=f"isolation unavailable here: {available()[1]}")


def test_an_isolated_agent_receives_its_webhooks_through_the_relay(running_sandbox, tmp_path):
    log = tmp_path / "agent.log"
    result = run_task(load_task("refund-duplicate-charge"), [sys.executable, AGENT, FACT["duplicate_charge"]],
                      home=running_sandbox.home, ports=running_sandbox.ports, faults="webhook-chaos", log=log,
                      timeout=60, isolate=True)
    output = log.read_text()
    assert result.exit_code == 0, output
    received = [line.split()[1] for line in output.splitlines() if line.startswith("received")]
    assert received == ["charge.refunded", "charge.refunded", "refund.created"], output
    with Ledger(running_sandbox.home.ledger_path(result.episode.id)) as ledger:
        sent = [(d["event_type"], d["copy"], d["outcome"], d["status"], tuple(d["faults"])) for d in deliveries(ledger)]
        isolated = [e["detail"]["isolated"] for e in ledger.events() if e["kind"] == "agent_exit"]
    assert isolated == [True]
    assert sent == [("charge.refunded", 0, "delivered", 200, ("twice",)),
                    ("charge.refunded", 1, "delivered", 200, ("twice",)),
                    ("refund.created", 0, "delivered", 200, ("out-of-order",))]
