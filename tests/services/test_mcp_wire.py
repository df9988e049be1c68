"""Reading MCP calls from bodies and ledger rows (services/common/mcp_wire.py): what fault rules,
replay matching, fault notes and efficiency figures rely on."""

from __future__ import annotations

import json

from sandbox.scoring.efficiency import measure
from services.common.mcp_wire import (
    RpcCall,
    answer_failed,
    call_name,
    exchange_call,
    rpc_call,
    with_id,
    without_volatile,
)

CALL = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "create_refund", "arguments": {"payment_intent": "pi_1"}, "_meta": {"progressToken": 7}}}


def test_a_tools_call_names_its_tool_and_arguments_and_other_bodies_are_not_calls():
    assert rpc_call(json.dumps(CALL).encode()) == RpcCall("tools/call", 7, "create_refund", {"payment_intent": "pi_1"})
    assert rpc_call(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}').describe() == (
        "notifications/initialized")
    for body in (b"", b"charge=ch_1", b'{"jsonrpc": "1.0", "method": "x"}', b'{"jsonrpc": "2.0"', b"[1]", None):
        assert rpc_call(body) is None


def test_replay_matching_ignores_the_id_and_meta_and_answers_carry_the_live_id():
    assert without_volatile(CALL) == {"jsonrpc": "2.0", "method": "tools/call",
                                      "params": {"name": "create_refund", "arguments": {"payment_intent": "pi_1"}}}
    assert without_volatile({"id": 1, "n": 2}) == {"id": 1, "n": 2}  # not JSON-RPC: untouched
    recorded = b'{"jsonrpc": "2.0", "id": 3, "result": {"tools": []}}'
    assert json.loads(with_id(recorded, "abc")) == {"jsonrpc": "2.0", "id": "abc", "result": {"tools": []}}
    assert with_id(recorded, 3) == recorded and with_id(b'{"ok": true}', 1) is None


def test_a_ledger_row_names_its_call_even_when_its_body_was_cut_short():
    body = json.dumps(CALL).encode()
    row = {"method": "POST", "path": "/", "request_body": body[:95], "request_body_truncated": 1}
    assert exchange_call(row).tool == "create_refund" and call_name(row) == "tools/call create_refund"
    assert call_name({"method": "GET", "path": "/v1/charges", "request_body": None}) == "GET /v1/charges"


def test_failed_answers_are_errors_and_tool_errors_though_their_status_is_200():
    assert answer_failed(b'{"jsonrpc": "2.0", "id": 1, "result": {"content": [], "isError": true}}')
    assert answer_failed(b'{"jsonrpc": "2.0", "id": 1, "error": {"code": -32001, "message": "Request timed out"}}')
    assert answer_failed(b'event: message\ndata: {"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": "x"}}\n')
    assert not answer_failed(b'{"jsonrpc": "2.0", "id": 1, "result": {"content": [], "isError": false}}')
    assert not answer_failed(b'{"error": {"message": "a REST error is judged by its status"}}')


def test_efficiency_counts_an_mcp_retry_and_a_duplicated_write_whatever_their_ids():
    def row(n, message, answer, status=200):
        return {"id": n, "method": "POST", "host": "mcp.stripe.com", "path": "/", "status": status,
                "request_body": json.dumps({**message, "id": n}).encode(), "response_body": answer}

    failed = b'{"jsonrpc": "2.0", "id": 1, "result": {"isError": true, "content": []}}'
    ok = b'{"jsonrpc": "2.0", "id": 2, "result": {"isError": false, "content": []}}'
    exchanges = [row(1, CALL, failed), row(2, CALL, ok), row(3, CALL, ok)]
    changes = [{"exchange_id": 2}, {"exchange_id": 3}]
    figures = measure(exchanges, changes)
    # Calls 2 and 3 both repeat the failed call 1 (retries, as for REST); call 3 wrote again what 2 wrote.
    assert (figures.calls, figures.errors, figures.retries, figures.duplicated_writes) == (3, 1, 2, 1)
