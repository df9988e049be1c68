"""The REST door of MCP tools (services/common/mcp_rest.py), in a fake called directly by its base URL:
a tool's rows are linked to the MCP exchange the fake writes itself, an argument cannot steer a tool
to another route, and the sandbox's own routes are out of reach."""

from __future__ import annotations

import json

import pytest

from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import EpisodeStore
from sandbox.home import Home
from services.common.mcp_rest import _internal, segment


@pytest.fixture(scope="module")
def payments(tmp_path_factory):
    from services.payments import create_app

    home = Home.resolve(tmp_path_factory.mktemp("home"))
    store = EpisodeStore(home)
    store.prepare(7)
    yield home, store, create_app({"home": home}).test_client()
    store.close()


def tool_call(client, key, name, arguments, n=1):
    answer = client.post("/mcp", json={"jsonrpc": "2.0", "id": n, "method": "tools/call",
                                       "params": {"name": name, "arguments": arguments}},
                         headers={"Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream"})
    assert answer.status_code == 200 and answer.json["id"] == n
    return answer.json["result"]


def test_a_direct_tool_call_writes_its_rows_under_its_own_exchange(payments):
    home, store, client = payments
    episode = store.create(7)
    result = tool_call(client, episode.api_keys["payments"], "create_customer", {"name": "Ada", "email": "a@b.c"})
    created = json.loads(result["content"][0]["text"])
    with Ledger(home.ledger_path(episode.id)) as ledger:
        exchanges, changes = ledger.exchanges(), ledger.state_changes()
    assert [(e["via"], e["path"], e["status"]) for e in exchanges] == [("direct", "/mcp", 200)]
    assert [(c["tbl"], c["op"], c["row_key"], c["exchange_id"]) for c in changes] == [
        ("customers", "insert", created["id"], exchanges[0]["id"])]


def test_an_argument_names_a_resource_never_a_route(payments):
    _, store, client = payments
    key = store.create(7).api_keys["payments"]
    for sneaky in ("cus_x/../../_sandbox/health", "ch_x/refunds"):
        result = tool_call(client, key, "fetch_stripe_resources", {"id": sneaky})
        assert result["isError"] is True and "contains '/'" in result["content"][0]["text"]
    result = tool_call(client, key, "fetch_stripe_resources", {"id": "cus_x?limit=100"})
    assert result["isError"] is True and "No such customer: 'cus_x?limit=100'" in result["content"][0]["text"]
    assert segment("..") == "%2E%2E" and segment("a?c#d") == "a%3Fc%23d"
    assert _internal("/_sandbox/health") and _internal("/v1/../_sandbox/x") and _internal("/%5Fsandbox/x")
    assert not _internal("/v1/customers/_sandboxed")
