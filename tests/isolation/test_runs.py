"""Isolation where agents are run: `sandbox run` (and --no-isolate), run_task, sweeps and the pytest
plugin's `sandbox_episode.run`, with a Node agent that has no proxy code at all (Node 20's global
fetch ignores HTTPS_PROXY), against the session's real sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.episodes.ledger import Ledger
from sandbox.isolation import available
from sandbox.tasks import load_task

ROOT = Path(__file__).resolve().parents[2]
REFUND_AGENT = str(ROOT / "examples" / "node_fetch_refund_agent.mjs")
FETCH = ("fetch('https://api.stripe.com/v1/customers?limit=2', {headers: {Authorization: 'Bearer ' + "
         "process.env.STRIPE_API_KEY}}).then(r => r.json()).then(b => console.log('customers', b.data.length))")

pytestmark = [
    pytest.mark.skipif(not available()[0], reason=f"isolation unavailable here: {available()[1]}"),
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]


def _events(home, episode: str) -> list[dict]:
    with Ledger(home.ledger_path(episode)) as ledger:
        return [e["detail"] for e in ledger.events() if e["kind"] == "agent_exit"]


def test_node_fetch_without_proxy_code_is_routed_and_ledgered(running_sandbox):
    from sandbox.run.runner import run_task

    result = run_task(load_task("refund-duplicate-charge"), ["node", "-e", FETCH], home=running_sandbox.home,
                      ports=running_sandbox.ports, timeout=30)
    assert result.exit_code == 0
    with Ledger(running_sandbox.home.ledger_path(result.episode.id)) as ledger:
        seen = [(e["via"], e["host"], e["path"], e["status"]) for e in ledger.exchanges()]
    assert seen == [("proxy", "api.stripe.com", "/v1/customers", 200)]
    assert result.score.details["calls"] == 1
    assert _events(running_sandbox.home, result.episode.id)[0]["isolated"] is True


def test_sandbox_run_scores_a_node_refund_agent_and_says_why_without_isolation(running_sandbox):
    home = str(running_sandbox.home.root)
    isolated = CliRunner().invoke(main, ["--home", home, "run", "--json", "refund-duplicate-charge", "--",
                                         "node", REFUND_AGENT])
    assert isolated.exit_code == 0, isolated.output
    score = json.loads(isolated.output[isolated.output.index("{"):])["score"]
    assert (score["success"], score["score"], score["details"]["calls"]) == (True, 1.0, 3)

    bypass = CliRunner().invoke(main, ["--home", home, "run", "--no-isolate", "--timeout", "20",
                                       "refund-duplicate-charge", "--", "node", REFUND_AGENT])
    assert bypass.exit_code == 1, bypass.output
    assert "efficiency: 0 calls" in bypass.output
    assert "no calls reached the sandbox: the agent made no request through the proxy" in bypass.output
    assert ("isolation was off (--no-isolate), so a client that ignores HTTPS_PROXY may have gone around it"
            in bypass.output)


def test_a_sweep_isolates_its_agents(running_sandbox):
    from sandbox.sweep import build_plan, run_sweep

    plan = build_plan({"node": ["node", REFUND_AGENT]}, ["refund-duplicate-charge"], ["none"], seeds=1, trials=1)
    doc = run_sweep(plan, home=running_sandbox.home, ports=running_sandbox.ports, parallel=1)
    (row,) = doc["rows"]
    assert (row["success"], row["calls"]) == (True, 3), row["reasons"]
    assert _events(running_sandbox.home, row["episode"])[0]["isolated"] is True


def test_the_pytest_plugins_episode_runs_an_isolated_agent(running_sandbox):
    from sandbox.episodes.store import EpisodeStore
    from sandbox.interfaces.pytest_plugin import SandboxEpisode
    from sandbox.run.agent_env import agent_env

    home, ports = running_sandbox.home, running_sandbox.ports
    store = EpisodeStore(home)
    try:
        episode = store.create(0)
        handle = SandboxEpisode(home, episode, agent_env(home, episode, ports), "", store, ports=ports)
        run = handle.run(["node", "-e", FETCH], timeout=30)
        assert (run.exit_code, run.isolated, run.output.strip()) == (0, True, "customers 2")
        assert [(e["host"], e["status"]) for e in handle.exchanges()] == [("api.stripe.com", 200)]
        assert _events(home, episode.id)[0]["isolated"] is True
    finally:
        store.close()
