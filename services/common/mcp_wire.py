"""What an MCP request says about itself, read from its body alone: the JSON-RPC method, the tool a
`tools/call` names, its arguments and the message id. For the stages outside the fakes that must
tell MCP calls apart (fault rules matching a tool, the ledger's description of an exchange, replay
matching that ignores the JSON-RPC id) without parsing the protocol each their own way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# Past this, a body is not an MCP request worth reading here (the fake still judges it).
MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class RpcCall:
    method: str
    id: Any  # None for a notification
    tool: str | None = None  # the tool of a tools/call
    arguments: Any = None  # a tools/call's arguments; other methods' params

    def describe(self) -> str:
        """`tools/call create_refund`, `initialize`: what a line about the exchange shows."""
        return f"{self.method} {self.tool}" if self.tool else self.method


def rpc_call(body: bytes | None) -> RpcCall | None:
    """The JSON-RPC request or notification in `body`, or None when the body is not one."""
    if not body or len(body) > MAX_BODY or body.lstrip()[:1] != b"{":
        return None
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):  # not JSON, or nested past the parser's stack
        return None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or not isinstance(message.get("method"), str):
        return None
    params = message.get("params")
    if message["method"] == "tools/call" and isinstance(params, dict) and isinstance(params.get("name"), str):
        return RpcCall("tools/call", message.get("id"), params["name"], params.get("arguments") or {})
    return RpcCall(message["method"], message.get("id"), None, params)


def result_message(message_id: Any, result: dict[str, Any]) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": message_id, "result": result}).encode()


def error_message(message_id: Any, code: int, message: str) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": message_id, "error": {"code": code, "message": message}}).encode()


def with_id(body: bytes | None, message_id: Any) -> bytes | None:
    """A recorded JSON-RPC answer `body` carrying `message_id` instead of the id it was recorded
    with (a client matches answers to its requests by id, and ids differ between runs); None when
    `body` is not a JSON-RPC answer."""
    if not body or body.lstrip()[:1] != b"{":
        return None
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):  # not JSON, or nested past the parser's stack
        return None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or "id" not in message:
        return None
    if message["id"] == message_id:
        return body
    message["id"] = message_id
    return json.dumps(message, ensure_ascii=False).encode()


def without_volatile(message: Any) -> Any:
    """A JSON-RPC request as replay matches it: without its id and the params' `_meta` (a progress
    token...), which differ between two runs of the same client; `message` itself otherwise."""
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or "method" not in message:
        return message
    stable = {key: value for key, value in message.items() if key != "id"}
    params = stable.get("params")
    if isinstance(params, dict) and "_meta" in params:
        stable["params"] = {key: value for key, value in params.items() if key != "_meta"}
    return stable


_METHOD = re.compile(rb'"method"\s*:\s*"([^"]{1,100})"')
_NAME = re.compile(rb'"name"\s*:\s*"([^"]{1,200})"')


def _bytes(value: Any) -> bytes:
    return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else (value or "").encode()


def exchange_call(exchange: dict[str, Any]) -> RpcCall | None:
    """The MCP call of a ledger exchange row, from the request body the ledger kept. A body the
    ledger cut short (ledger_body_bytes) still names its method and tool in its first bytes."""
    if exchange.get("method") != "POST":
        return None
    body = _bytes(exchange.get("request_body"))
    found = rpc_call(body)
    if found is not None or not exchange.get("request_body_truncated"):
        return found
    method = _METHOD.search(body)
    if method is None or b'"jsonrpc"' not in body[:200]:
        return None
    tool = _NAME.search(body) if method.group(1) == b"tools/call" else None
    return RpcCall(method.group(1).decode(), "?", tool.group(1).decode() if tool else None, None)


def call_name(exchange: dict[str, Any]) -> str:
    """`tools/call create_refund` for an MCP exchange, `GET /v1/charges` for any other."""
    rpc = exchange_call(exchange)
    return rpc.describe() if rpc is not None else f"{exchange.get('method')} {exchange.get('path')}"


def answer_failed(response_body: Any) -> bool:
    """Is this MCP answer a failure (a JSON-RPC error, or a tool result with isError) though its
    HTTP status is 200? Read from the body the ledger kept; a body cut short says nothing."""
    body = _bytes(response_body)
    if not body or b'"jsonrpc"' not in body[:200]:
        return False
    if body.startswith(b"event:") or body.startswith(b"data:"):  # one-event SSE answer
        body = body.partition(b"data:")[2].strip()
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):  # not JSON, or nested past the parser's stack
        return False
    if not isinstance(message, dict):
        return False
    result = message.get("result")
    return "error" in message or (isinstance(result, dict) and result.get("isError") is True)
