"""The REST door, called from an MCP tool: run one of the fake's own REST routes inside the MCP
request, and hand back its status and JSON.

Why through the route and not a store function: a tool call must write exactly the rows the REST
call it stands for writes (scoring must not care which door an agent used), and the route is where
the vendor's checks, defaults and side rows live. Running the view function in-process, inside the
MCP request, keeps the episode binding of that request: the same `g.db` connection and the same
exchange id, so the change capture links every row the tool wrote to the MCP exchange in the
ledger, and the binding's after_request copies them there before the MCP answer leaves.

Mechanics: a nested request context for the route's method, path, query and body (Flask reuses the
app context, so `g` is shared); the app's URL map picks the view; a vendor error the view raises
becomes the vendor's own error response through the app's error handlers. The nested context's
teardown resets the connection's exchange id (the binding's teardown), so it is restored after.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from flask import Response, current_app, g, request
from werkzeug.datastructures import MultiDict

from services.common.mcp import ToolError

# What a nested call keeps of the MCP request: who is calling and how they authenticate.
_KEPT_HEADERS = ("Authorization", "User-Agent")  # the host: base_url


@dataclass(frozen=True)
class RestAnswer:
    status: int
    body: Any  # the decoded JSON (None when the answer had none)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def call(
    method: str,
    path: str,
    *,
    query: dict[str, Any] | list[tuple[str, Any]] | None = None,
    json_body: Any = None,
    form: dict[str, Any] | list[tuple[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    host: str | None = None,
) -> RestAnswer:
    """Run `method path` through the fake's own route, in the current (MCP) request's episode;
    `host` when the REST API lives on another host than the MCP server (its URLs name that host).

    Tools build `path` from their arguments, quoting each segment (`segment()`); a path that still
    reaches the sandbox's own routes is refused here, as the proxy refuses it from outside."""
    if _internal(path):
        raise ValueError(f"an MCP tool asked for {path!r}, which is internal to the sandbox")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    outer = request._get_current_object()  # type: ignore[attr-defined]
    kept = {name: outer.headers[name] for name in _KEPT_HEADERS if name in outer.headers}
    options: dict[str, Any] = {"method": method, "headers": {**kept, **(headers or {})}}
    if query is not None:
        options["query_string"] = MultiDict(query)
    if json_body is not None:
        options["json"] = json_body
    elif form is not None:
        options["data"] = MultiDict(form)
    environ = {"REMOTE_ADDR": outer.remote_addr or "127.0.0.1", "wsgi.url_scheme": outer.scheme}
    with app.test_request_context(path, base_url=f"{outer.scheme}://{host or outer.host}", environ_overrides=environ,
                                  **options):
        try:
            response = app.make_response(app.dispatch_request())
        except Exception as error:  # the vendor's error, answered as its REST route would
            response = app.make_response(app.handle_user_exception(error))
        answer = RestAnswer(response.status_code, _json_of(response))
    _restore_binding()
    return answer


def segment(value: object) -> str:
    """One path segment from a tool argument, so an argument can only name a resource, never another
    route or a query: `?`, `#`, `.`/`..` percent-encoded, and a `/` refused (the server decodes `%2F`
    before routing, as werkzeug and most servers do, so encoding it would not keep it in its segment)."""
    text = str(value)
    if "/" in text:
        raise ToolError(f"{text!r} is not a valid id or name: it contains '/'.")
    return "%2E" * len(text) if text in (".", "..") else quote(text, safe="")


def _internal(path: str) -> bool:
    plain = posixpath.normpath("/" + re.sub("/{2,}", "/", unquote(path.partition("?")[0])).lstrip("/"))
    return plain == "/_sandbox" or plain.startswith("/_sandbox/")


def _json_of(response: Response) -> Any:
    data = response.get_data()
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def _restore_binding() -> None:
    # The nested context's teardown ran the binding's, which clears the exchange id the change
    # capture reads; the MCP request is still running and may write again.
    opened = getattr(g, "_opened", None)
    if opened is not None:
        opened.context.exchange_id = g.exchange_id
