"""The Model Context Protocol, served by a fake beside its REST API: streamable HTTP, stateless.

    add_mcp_endpoint(app, ("/mcp",), McpServer("github-mcp-server", "0.1.0", TOOLS))

What the endpoint speaks (MCP 2025-11-25 and the earlier revisions the `mcp` SDK lists):
- POST of one JSON-RPC message. Requests (initialize, ping, tools/list, tools/call) are answered
  as application/json, or as a one-event text/event-stream when the client accepts only that;
  notifications and responses get 202 with no body. GET and DELETE answer 405: a stateless
  server has no stream to open and no session to end (the spec allows both answers).
- No session: the episode travels in the credentials, exactly as on REST (the binding has already
  bound the request when this runs). An `Mcp-Session-Id` a client sends is ignored, none is issued,
  so any request may land on any worker, and a recording replays without a handshake.
- Messages are parsed and results built with the SDK's own pydantic models (`mcp.types`), so what
  this accepts and answers is what the SDK's clients and servers do.

Errors: a message that is not JSON-RPC is a JSON-RPC error (parse -32700, invalid request -32600,
unknown method -32601, bad params or unknown tool -32602). A tool that ran and failed (the vendor
refused, arguments did not fit the schema) is a *result* with `isError: true` and the vendor's
message, as the spec asks, so the model sees why and can correct itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import mcp.types as types
import pydantic
from flask import Flask, Response, request
from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS

# Header names of the transport (the spec's spelling).
PROTOCOL_HEADER = "MCP-Protocol-Version"

# The revisions this endpoint speaks: the SDK's own list, newest last.
SUPPORTED_VERSIONS: tuple[str, ...] = tuple(SUPPORTED_PROTOCOL_VERSIONS)

# What a tool call's answer may carry at most: past this an agent is flooding its own context.
MAX_RESULT_CHARS = 200_000


class ToolError(Exception):
    """A tool ran and failed: answered as a result with `isError: true` and this message."""


@dataclass(frozen=True)
class Tool:
    """One tool: its vendor name, a description for the model, a JSON Schema for its arguments and
    `run(arguments) -> JSON-able result`. `read_only` becomes the readOnlyHint annotation."""

    name: str
    description: str
    input_schema: dict[str, Any]
    run: Callable[[dict[str, Any]], Any]
    read_only: bool = False
    title: str | None = None

    def describe(self) -> types.Tool:
        return types.Tool(
            name=self.name,
            title=self.title,
            description=self.description,
            inputSchema=self.input_schema,
            annotations=types.ToolAnnotations(readOnlyHint=self.read_only),
        )


@dataclass
class McpServer:
    """A fake's MCP server: its name as the vendor's server reports it, and its tools."""

    name: str
    version: str
    tools: Sequence[Tool]
    instructions: str | None = None
    by_name: dict[str, Tool] = field(init=False)
    # Built once per tool: building a validator costs more than most validations.
    validators: dict[str, jsonschema.Draft202012Validator] = field(init=False)

    def __post_init__(self) -> None:
        self.by_name = {}
        self.validators = {}
        for tool in self.tools:
            if tool.name in self.by_name:
                raise ValueError(f"MCP server {self.name}: tool {tool.name!r} is defined twice")
            jsonschema.Draft202012Validator.check_schema(tool.input_schema)
            self.by_name[tool.name] = tool
            self.validators[tool.name] = jsonschema.Draft202012Validator(tool.input_schema)


class _RpcError(Exception):
    def __init__(self, code: int, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def add_mcp_endpoint(app: Flask, rules: Iterable[str], server: McpServer) -> None:
    """Serve `server` at each of `rules` on `app` (POST; GET and DELETE answer 405)."""

    def endpoint() -> Response:
        if request.method != "POST":
            return _not_allowed()
        return handle(server)

    for rule in rules:
        app.add_url_rule(rule, f"mcp:{rule}", endpoint, methods=["POST", "GET", "DELETE"], strict_slashes=False)


def _not_allowed() -> Response:
    body = {"jsonrpc": "2.0", "id": None, "error": {
        "code": types.INVALID_REQUEST,
        "message": f"{request.method} is not served: this MCP server is stateless (no SSE stream, no session)."
                   " POST each JSON-RPC message instead.",
    }}
    return Response(json.dumps(body), status=405, mimetype="application/json", headers={"Allow": "POST"})


def handle(server: McpServer) -> Response:
    """Answer the current request's JSON-RPC message."""
    message_id: Any = None
    try:
        _check_headers()
        message = _parse_body()
        message_id = message.get("id")
        if "method" not in message:
            if "result" in message or "error" in message:
                return Response(status=202)  # a client's answer to a server request: none were made
            raise _RpcError(types.INVALID_REQUEST, "A JSON-RPC message needs a method (or a result or an error).", 400)
        if "id" not in message:
            _validate(types.ClientNotification, message, "notification")
            return Response(status=202)
        if not isinstance(message_id, str | int) or isinstance(message_id, bool):
            raise _RpcError(types.INVALID_REQUEST, "A JSON-RPC request's id must be a string or an integer.", 400)
        parsed = _validate(types.ClientRequest, message, "request")
        result = _dispatch(server, parsed)
        return _answer({"jsonrpc": "2.0", "id": message_id, "result": result})
    except _RpcError as error:
        body = {"jsonrpc": "2.0", "id": message_id, "error": {"code": error.code, "message": error.message}}
        return _answer(body, error.status)


def _check_headers() -> None:
    accept = request.headers.get("Accept", "")
    if accept and not any(kind in accept for kind in ("application/json", "text/event-stream", "*/*")):
        raise _RpcError(types.INVALID_REQUEST, f"Accept: {accept} allows no answer this server gives;"
                        " accept application/json (and text/event-stream, as the MCP spec asks).", 406)
    version = request.headers.get(PROTOCOL_HEADER)
    if version is not None and version not in SUPPORTED_VERSIONS:
        raise _RpcError(types.INVALID_REQUEST, f"Unsupported {PROTOCOL_HEADER}: {version!r}; this server speaks"
                        f" {', '.join(SUPPORTED_VERSIONS)}.", 400)


def _parse_body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    try:
        message = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise _RpcError(types.PARSE_ERROR, f"The body is not JSON ({error}); POST one JSON-RPC message.", 400) from None
    except RecursionError:  # nesting deep enough to exhaust the parser's stack: no MCP message looks like that
        raise _RpcError(types.PARSE_ERROR, "The body's JSON is nested too deeply; POST one JSON-RPC message.",
                        400) from None
    if isinstance(message, list):
        raise _RpcError(types.INVALID_REQUEST, "JSON-RPC batches are not part of MCP since 2025-06-18;"
                        " send one message per POST.", 400)
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        raise _RpcError(types.INVALID_REQUEST, 'Not a JSON-RPC 2.0 message: send an object with "jsonrpc": "2.0".', 400)
    return message


def _validate(model: type[pydantic.RootModel], message: dict[str, Any], what: str) -> Any:
    payload = {key: message[key] for key in ("method", "params") if key in message}
    try:
        return model.model_validate(payload).root
    except pydantic.ValidationError as error:
        method = message.get("method")
        known = method in _METHODS or what == "notification"
        code = types.INVALID_PARAMS if known else types.METHOD_NOT_FOUND
        reason = _first_error(error) if known else f"Method not found: {method!r}"
        raise _RpcError(code, reason) from None


_METHODS = ("initialize", "ping", "tools/list", "tools/call")


def _first_error(error: pydantic.ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if not str(part)[0].isupper())
    return f"Invalid params: {where or 'params'}: {first.get('msg')}"


def _dispatch(server: McpServer, parsed: Any) -> dict[str, Any]:
    if isinstance(parsed, types.InitializeRequest):
        wanted = parsed.params.protocolVersion
        result: pydantic.BaseModel = types.InitializeResult(
            protocolVersion=wanted if wanted in SUPPORTED_VERSIONS else types.LATEST_PROTOCOL_VERSION,
            capabilities=types.ServerCapabilities(tools=types.ToolsCapability(listChanged=False)),
            serverInfo=types.Implementation(name=server.name, version=server.version),
            instructions=server.instructions,
        )
    elif isinstance(parsed, types.PingRequest):
        result = types.EmptyResult()
    elif isinstance(parsed, types.ListToolsRequest):
        result = types.ListToolsResult(tools=[tool.describe() for tool in server.tools])
    elif isinstance(parsed, types.CallToolRequest):
        result = call_tool(server, parsed.params.name, parsed.params.arguments or {})
    else:
        raise _RpcError(types.METHOD_NOT_FOUND, f"Method not found: {parsed.method!r} (this server has tools only)")
    return result.model_dump(by_alias=True, exclude_none=True, mode="json")


def call_tool(server: McpServer, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
    """Run tool `name`; a vendor refusal or bad arguments become an `isError` result."""
    tool = server.by_name.get(name)
    if tool is None:
        raise _RpcError(types.INVALID_PARAMS, f"Unknown tool: {name!r}. Call tools/list for this server's tools.")
    problem = _argument_problem(server.validators[name], arguments)
    if problem:
        return error_result(f"Invalid arguments for tool {name}: {problem}")
    try:
        output = tool.run(arguments)
    except ToolError as error:
        return error_result(str(error))
    # Compact: the C encoder (an indent takes the pure-Python one, ~3x the time), and fewer tokens for the model.
    text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, separators=(",", ":"))
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + f"\n... (cut at {MAX_RESULT_CHARS} characters: ask for fewer results)"
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], isError=False)


def error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], isError=True)


def _argument_problem(validator: jsonschema.Draft202012Validator, arguments: dict[str, Any]) -> str | None:
    error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{where + ': ' if where else ''}{error.message}"


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    text = json.dumps(body, ensure_ascii=False)
    accept = request.headers.get("Accept", "")
    if "text/event-stream" in accept and "application/json" not in accept and "*/*" not in accept:
        # A client that takes only a stream gets one event: the answer, and the stream ends.
        return Response(f"event: message\ndata: {text}\n\n", status=status, mimetype="text/event-stream")
    return Response(text, status=status, mimetype="application/json")
