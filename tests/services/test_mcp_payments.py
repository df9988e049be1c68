"""Stripe's MCP server (`https://mcp.stripe.com/`) on the payments fake, through the real proxy, with
the `mcp` SDK's own streamable HTTP client configured only from `sandbox env`."""

from __future__ import annotations

import json

import pytest
import requests

from sandbox.tasks.oracles.mcp_clients import ToolFailed, call, mcp_session
from sandbox.world import world
from tests.services.mcp_helpers import SEED, agent, episode, ledger_of, run  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow
FACTS = world(SEED).facts["double_charge"]


def test_list_read_and_refund_over_mcp(running_sandbox, episode, agent):  # noqa: F811
    assert agent["SANDBOX_MCP_PAYMENTS_URL"] == "https://mcp.stripe.com/"

    async def scenario():
        async with mcp_session("payments") as stripe:
            tools = {tool.name: tool for tool in (await stripe.list_tools()).tools}
            customers = await call(stripe, "list_customers", email=FACTS["customer_email"])
            intents = await call(stripe, "list_payment_intents", customer=FACTS["customer"], limit=100)
            duplicate = next(i for i in intents if i["latest_charge"] == FACTS["duplicate_charge"])
            refund = await call(stripe, "create_refund", payment_intent=duplicate["id"], reason="duplicate")
            with pytest.raises(ToolFailed) as again:
                await call(stripe, "create_refund", payment_intent=duplicate["id"])
            return tools, customers, refund, str(again.value)

    tools, customers, refund, again = run(scenario)
    assert {"list_customers", "create_customer", "list_payment_intents", "create_refund"} <= set(tools)
    assert tools["create_refund"].inputSchema["required"] == ["payment_intent"]
    assert tools["list_customers"].annotations.readOnlyHint is True
    assert [c["id"] for c in customers] == [FACTS["customer"]]
    assert refund["amount"] == FACTS["amount"] and refund["status"] == "succeeded"
    assert f"Charge {FACTS['duplicate_charge']} has already been refunded." in again

    exchanges, changes = ledger_of(running_sandbox.home, episode)
    assert {(e["host"], e["path"], e["service"]) for e in exchanges} == {("mcp.stripe.com", "/", "payments")}
    refund_exchange = next(e for e in exchanges if b'"create_refund"' in (e["request_body"] or b"")
                           and b'"isError":false' in (e["response_body"] or b"").replace(b" ", b""))
    assert [(c["tbl"], c["op"], c["row_key"]) for c in changes] == [
        ("refunds", "insert", refund["id"]), ("charges", "update", FACTS["duplicate_charge"])]
    assert {c["exchange_id"] for c in changes} == {refund_exchange["id"]}


def test_the_transport_is_stateless_and_refuses_clearly(running_sandbox, episode, agent):  # noqa: F811
    url = agent["SANDBOX_MCP_PAYMENTS_URL"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {agent['STRIPE_API_KEY']}"
    session.headers["Accept"] = "application/json, text/event-stream"

    def post(message, **headers):
        return session.post(url, data=json.dumps(message), headers={"Content-Type": "application/json", **headers})

    init = post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    assert init.status_code == 200 and "Mcp-Session-Id" not in init.headers
    assert init.json()["result"]["protocolVersion"] == "2025-06-18"
    assert init.json()["result"]["serverInfo"]["name"] == "stripe"
    # No handshake needed: any request stands alone, with a made-up session id ignored.
    listed = post({"jsonrpc": "2.0", "id": "a", "method": "tools/list"}, **{"Mcp-Session-Id": "whatever"})
    assert listed.json()["id"] == "a" and listed.json()["result"]["tools"]
    assert post({"jsonrpc": "2.0", "method": "notifications/initialized"}).status_code == 202

    unknown = post({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "delete_everything"}})
    assert unknown.json()["error"]["code"] == -32602 and "delete_everything" in unknown.json()["error"]["message"]
    method = post({"jsonrpc": "2.0", "id": 3, "method": "resources/list"})
    assert method.json()["error"]["code"] == -32601
    bad_args = post({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                     "params": {"name": "create_refund", "arguments": {"amount": "all"}}}).json()["result"]
    assert bad_args["isError"] is True and "payment_intent" in bad_args["content"][0]["text"]
    garbage = session.post(url, data=b"{not json", headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400 and garbage.json()["error"]["code"] == -32700
    assert session.get(url).status_code == 405 and session.delete(url).status_code == 405
    version = post({"jsonrpc": "2.0", "id": 5, "method": "ping"}, **{"MCP-Protocol-Version": "1999-01-01"})
    assert version.status_code == 400 and "1999-01-01" in version.json()["error"]["message"]

    forged = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                           headers={"Authorization": "Bearer sk_test_forged"})
    assert forged.status_code == 401 and "Invalid API Key" in forged.json()["error"]["message"]
