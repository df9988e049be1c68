"""MCP fault kinds through the real proxy: `mcp_tool_error` answers one tool call as a failed tool
(the service never sees it, nothing is written), `mcp_timeout` as the JSON-RPC timeout error, both
with the request's own id, matched by `mcp_tool`; REST calls to the same fake are left alone. The
`mcp` SDK's client reads both as it would from a real server."""

from __future__ import annotations

import anyio
import pytest
import requests
from mcp.shared.exceptions import McpError

from sandbox.episodes.store import EpisodeStore
from sandbox.faults.notes import fault_notes
from sandbox.run.agent_env import agent_env
from sandbox.scoring.efficiency import measure
from sandbox.tasks.oracles.mcp_clients import ToolFailed, call, mcp_session
from sandbox.world import world

pytestmark = pytest.mark.slow
FACTS = world(7).facts["double_charge"]


@pytest.fixture
def env_with(running_sandbox, tmp_path, monkeypatch):
    store = EpisodeStore(running_sandbox.home)

    def make(rules: str):
        path = tmp_path / "profile.yaml"
        path.write_text(f"name: mcp\nseed: 1\nrules:\n{rules}")
        episode = store.create(7, faults=str(path))
        env = agent_env(running_sandbox.home, episode, running_sandbox.ports)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return episode, env

    yield make
    store.close()


def ledger_of(running_sandbox, episode):
    with EpisodeStore(running_sandbox.home).ledger(episode.id) as ledger:
        return ledger.exchanges(), ledger.faults(), ledger.state_changes()


def test_a_tool_error_fails_one_call_and_writes_nothing(running_sandbox, env_with):
    episode, env = env_with("""
  - name: refund-fails
    match: {mcp_tool: create_refund, nth: 1}
    action: {kind: mcp_tool_error, message: Failed to create refund}
""")

    async def scenario():
        async with mcp_session("payments") as stripe:
            intents = await call(stripe, "list_payment_intents", customer=FACTS["customer"], limit=100)
            duplicate = next(i for i in intents if i["latest_charge"] == FACTS["duplicate_charge"])
            with pytest.raises(ToolFailed) as failed:
                await call(stripe, "create_refund", payment_intent=duplicate["id"])
            retried = await call(stripe, "create_refund", payment_intent=duplicate["id"])
            return str(failed.value), retried

    failed, retried = anyio.run(scenario)
    assert failed == "create_refund: Failed to create refund" and retried["status"] == "succeeded"
    # REST on the same fake: the rule matches tool calls only.
    auth = {"Authorization": f"Bearer {env['STRIPE_API_KEY']}"}
    rest = requests.get("https://api.stripe.com/v1/refunds", headers=auth)
    assert rest.status_code == 200

    exchanges, faults, changes = ledger_of(running_sandbox, episode)
    assert [(f["rule"], f["action"], f["detail"]["tool"]) for f in faults] == [
        ("refund-fails", "mcp_tool_error", "create_refund")]
    faulted = next(e for e in exchanges if e["id"] == faults[0]["exchange_id"])
    assert (faulted["outcome"], faulted["status"]) == ("faulted", 200)
    assert b'"isError": true' in faulted["response_body"]
    refund_rows = [c for c in changes if c["tbl"] == "refunds"]
    assert len(refund_rows) == 1 and refund_rows[0]["exchange_id"] != faulted["id"]
    # What a score says about it: the call by its tool, and the agent's retry counted as one.
    n = [e["id"] for e in exchanges].index(faulted["id"]) + 1
    assert fault_notes(faults, exchanges) == [
        f"fault: an injected MCP tool error (isError) hit call {n} (tools/call create_refund) [rule 'refund-fails']"]
    efficiency = measure(exchanges, changes)
    assert (efficiency.errors, efficiency.retries, efficiency.duplicated_writes) == (1, 1, 0)


def test_a_timeout_is_the_json_rpc_timeout_error_with_the_request_id(running_sandbox, env_with):
    episode, env = env_with("""
  - name: post-times-out
    match: {mcp_tool: "slack_post_*"}
    action: {kind: mcp_timeout, ms: 50}
""")

    async def scenario():
        async with mcp_session("chat") as slack:
            channels = await call(slack, "slack_list_channels")
            with pytest.raises(McpError) as timed_out:
                await call(slack, "slack_post_message", channel_id=channels["channels"][0]["id"], text="hi")
            return timed_out.value.error

    error = anyio.run(scenario)
    assert (error.code, error.message) == (-32001, "Request timed out")
    exchanges, faults, changes = ledger_of(running_sandbox, episode)
    assert [(f["action"], f["detail"]["method"]) for f in faults] == [("mcp_timeout", "tools/call slack_post_message")]
    assert not [c for c in changes if c["tbl"] == "messages"]


def test_a_misspelt_tool_is_refused_when_the_profile_loads():
    from sandbox.faults import FaultProfileError
    from sandbox.faults.validate import parse_profile

    with pytest.raises(FaultProfileError) as info:
        parse_profile({"name": "x", "seed": 1, "rules": [
            {"match": {"mcp_tool": "create_refnd"}, "action": {"kind": "mcp_tool_error"}}]}, "x.yaml")
    assert "match.mcp_tool" in info.value.message and "create_refund" in info.value.hint
