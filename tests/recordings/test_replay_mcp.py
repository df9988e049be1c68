"""A recorded MCP session replays with no fake running: the MCP oracle of `refund-duplicate-charge`
(the `mcp` SDK's client against Stripe's MCP server on the payments fake) is recorded, the fake is
stopped, and the same agent replayed gets the same score. JSON-RPC ids do not take part in matching:
a replayed answer carries the id of the live request."""

from __future__ import annotations

import json
import sys

import pytest
import requests

from sandbox.episodes.store import EpisodeStore
from sandbox.home import Home
from sandbox.recordings.format import read_recording
from sandbox.run.agent_env import agent_env
from sandbox.run.runner import run_task
from sandbox.run.supervisor import running_service
from sandbox.sweep.episode import project_pythonpath
from sandbox.tasks import load_task
from tests.proxy.conftest import running_proxy

pytestmark = pytest.mark.slow
ORACLE = [sys.executable, "-m", "sandbox.tasks.oracles.refund_duplicate_charge_mcp"]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SANDBOX_SERVICES", "payments")
        root = tmp_path_factory.mktemp("replay-mcp")
        home = Home.resolve(root / "home")
        task = load_task("refund-duplicate-charge")
        recording = root / "mcp.jsonl"
        fake = running_service(home, "payments")
        fake_port = fake.__enter__()
        try:
            with running_proxy(home, "--service", f"payments={fake_port}") as proxy:
                ports = {"proxy": proxy.port, "services": {"payments": fake_port}}
                first = run_task(task, ORACLE, home=home, ports=ports, mode="record", recording=str(recording),
                                 extra_env=project_pythonpath())
                fake.__exit__(None, None, None)  # no fake from here on
                fake = None
                second = run_task(task, ORACLE, home=home, ports=ports, mode="replay", recording=str(recording),
                                  extra_env=project_pythonpath())
                yield home, ports, recording, first, second
        finally:
            if fake is not None:
                fake.__exit__(None, None, None)


def test_the_replayed_mcp_session_scores_as_the_recorded_one(replayed):
    home, _, recording, first, second = replayed
    assert first.exit_code == 0 and first.score.success and first.score.score == 1.0
    assert second.exit_code == 0 and (second.score.success, second.score.score) == (True, 1.0)
    rec = read_recording(recording)
    assert {(e.request.host, e.request.path, e.upstream) for e in rec.exchanges} == {
        ("mcp.stripe.com", "/", "fake:payments")}
    refund = next(e for e in rec.exchanges if b"create_refund" in e.request.body)
    assert [effect["table"] for effect in refund.effects] == ["refunds", "charges"]
    with EpisodeStore(home).ledger(second.episode.id) as ledger:
        outcomes = {e["outcome"] for e in ledger.exchanges()}
        tables = [c["tbl"] for c in ledger.state_changes()]
    assert outcomes == {"replayed"} and tables == ["refunds", "charges"]


def test_a_replayed_answer_carries_the_live_request_id(replayed):
    home, ports, recording, _, _ = replayed
    store = EpisodeStore(home)
    try:
        episode = store.create(7, mode="replay", recording=str(recording))
        env = agent_env(home, episode, ports)
    finally:
        store.close()
    proxies = {"https": env["HTTPS_PROXY"]}
    message = {"jsonrpc": "2.0", "id": "not-the-recorded-id", "method": "tools/list"}
    answer = requests.post(env["SANDBOX_MCP_PAYMENTS_URL"], data=json.dumps(message), proxies=proxies,
                           verify=env["SSL_CERT_FILE"], timeout=30,
                           headers={"Authorization": f"Bearer {env['STRIPE_API_KEY']}",
                                    "Content-Type": "application/json", "Accept": "application/json"})
    assert answer.status_code == 200
    assert answer.json()["id"] == "not-the-recorded-id"
    assert "create_refund" in [tool["name"] for tool in answer.json()["result"]["tools"]]
