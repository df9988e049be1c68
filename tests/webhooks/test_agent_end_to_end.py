"""A real agent program (stripe SDK and a tiny HTTP server, examples/webhook_refund_agent.py) against
the embedded sandbox: its calls go through the real proxy, the refund's events come back from the
sandbox's own deliverer, signed; under `webhook-chaos` the ledger shows the duplicate and the order,
and the same seed gives the same deliveries, the same faults and the same rows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sandbox.episodes.store import EpisodeStore
from sandbox.run.agent_env import agent_env
from sandbox.run.runner import run_task
from sandbox.tasks import load_task
from sandbox.webhooks.outbox import deliveries
from sandbox.world import world

ROOT = Path(__file__).resolve().parents[2]
FACT = world(7).facts["double_charge"]
AGENT = ROOT / "examples" / "webhook_refund_agent.py"


def _run(sandbox) -> tuple[list[str], list[tuple], list[tuple], list[tuple]]:
    store = EpisodeStore(sandbox.home)
    try:
        episode = store.create(7, faults="webhook-chaos")
        env = agent_env(sandbox.home, episode, sandbox.ports)
        done = subprocess.run([sys.executable, str(ROOT / "examples" / "webhook_refund_agent.py"),
                               FACT["duplicate_charge"]], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        with store.ledger(episode.id) as ledger:
            sent = [(d["event_type"], d["attempt"], d["copy"], d["outcome"], tuple(d["faults"]), d["clock"])
                    for d in deliveries(ledger)]
            faults = [(f["rule"], f["action"]) for f in ledger.faults()]
            changes = [(c["tbl"], c["row_key"], c["op"], c["after"]) for c in ledger.state_changes()
                       if c["tbl"] != "webhook_endpoints"]
            assert all(e["via"] == "proxy" for e in ledger.exchanges())  # the agent's calls went through the proxy
        # What the agent printed about its events (its refund line may come before or after the first
        # reception: the endpoint's thread and the main thread race to print).
        told = [line for line in done.stdout.splitlines() if line.startswith(("received", "acknowledged"))]
        return told, sent, faults, changes
    finally:
        store.close()


def test_an_agent_receives_its_refund_twice_and_out_of_order_and_acts_once(running_sandbox):
    out, sent, faults, changes = _run(running_sandbox)
    received = [line for line in out if line.startswith("received")]
    assert [line.split()[1] for line in received] == ["charge.refunded", "charge.refunded", "refund.created"]
    assert received[1].endswith("(again: ignored)") and received[0].split()[2] == received[1].split()[2]
    assert [s[:5] for s in sent] == [
        ("charge.refunded", 1, 0, "delivered", ("twice",)),
        ("charge.refunded", 1, 1, "delivered", ("twice",)),
        ("refund.created", 1, 0, "delivered", ("out-of-order",)),
    ]
    assert faults == [("twice", "duplicate"), ("out-of-order", "reorder")]
    marked = [c for c in changes if c[0] == "charges" and "refund_event" in (c[3] or {}).get("metadata", "")]
    assert len(marked) == 1  # one acknowledgement for an event delivered twice
    assert _run(running_sandbox) == (out, sent, faults, changes)  # same seed, same everything


TASK = load_task(ROOT / "examples" / "tasks" / "refund-webhook-ack.yaml")


def test_the_webhook_task_passes_an_idempotent_handler_and_catches_a_naive_one(running_sandbox, tmp_path):
    """A task that scores a reaction to charge.refunded: under webhook-chaos the event arrives twice;
    handling each delivery as new acknowledges twice, which the task's count and verifier catch."""
    good = run_task(TASK, [sys.executable, str(AGENT)], home=running_sandbox.home, ports=running_sandbox.ports,
                    faults="webhook-chaos", log=tmp_path / "good.log", timeout=60)
    assert good.score.success, (good.score.reasons, (tmp_path / "good.log").read_text())
    assert any("acknowledged evt_" in r for r in good.score.reasons)
    naive = run_task(TASK, [sys.executable, str(AGENT), "--every-delivery"], home=running_sandbox.home,
                     ports=running_sandbox.ports, faults="webhook-chaos", log=tmp_path / "naive.log", timeout=60)
    assert not naive.score.success
    assert any("acknowledged 2 times" in r for r in naive.score.reasons), naive.score.reasons
    assert any("fault: a duplicated delivery (1 more) hit the webhook delivery of charge.refunded" in r
               for r in naive.score.reasons), naive.score.reasons
