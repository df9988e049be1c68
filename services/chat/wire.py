"""How the fake writes a response: Slack's compact JSON, `ok` first, and Slack's response headers.

Every Web API answer is JSON with `"ok": true|false`. Slack adds the scopes the token has
(`X-OAuth-Scopes`) and the scopes the method accepts (`X-Accepted-OAuth-Scopes`), and a request id
(`X-Slack-Req-Id`) that here derives from the episode and the exchange, so a rerun gives the same ids.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Response, g, request

# The scopes the sandbox's bot token was installed with.
BOT_SCOPES = (
    "channels:history", "channels:join", "channels:read", "chat:write", "groups:history", "groups:read",
    "reactions:read", "reactions:write", "team:read", "users:read", "users:read.email",
)

# method -> the scopes Slack accepts for it (what `X-Accepted-OAuth-Scopes` says).
ACCEPTED_SCOPES: dict[str, str] = {
    "auth.test": "",
    "conversations.list": "channels:read,groups:read,mpim:read,im:read",
    "conversations.info": "channels:read,groups:read,mpim:read,im:read",
    "conversations.members": "channels:read,groups:read,mpim:read,im:read",
    "conversations.history": "channels:history,groups:history,mpim:history,im:history",
    "conversations.replies": "channels:history,groups:history,mpim:history,im:history",
    "conversations.join": "channels:write,channels:join",
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "reactions.add": "reactions:write",
    "reactions.remove": "reactions:write",
    "reactions.get": "reactions:read",
    "users.list": "users:read",
    "users.info": "users:read",
    "users.lookupByEmail": "users:read.email",
    "team.info": "team:read",
    "apps.manifest.update": "app_configurations:write",
    "apps.manifest.create": "app_configurations:write",
}


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(dumps(payload), status=status, content_type="application/json; charset=utf-8")


def warn(code: str) -> None:
    """Note a warning (`missing_charset`...) for this request's answer, as Slack sends them."""
    warnings = g.setdefault("slack_warnings", [])
    if code not in warnings:
        warnings.append(code)


def ok(payload: dict[str, Any] | None = None) -> Response:
    """`{"ok": true, ...payload}` plus any warnings the request earned."""
    body: dict[str, Any] = {"ok": True, **(payload or {})}
    warnings = g.get("slack_warnings") or []
    if warnings:
        body["warning"] = ",".join(warnings)
        metadata = body.setdefault("response_metadata", {})
        metadata["warnings"] = list(warnings)
    return json_response(body)


def method_name() -> str:
    return request.path.rsplit("/", 1)[-1]


def request_id() -> str:
    episode = getattr(g, "episode", None)
    parts = (episode.id, getattr(g, "exchange_id", None) or 0) if episode else ("unbound", request.path)
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


def add_slack_headers(response: Response) -> Response:
    if request.path.startswith("/_sandbox/"):
        return response
    response.headers.setdefault("X-Slack-Req-Id", request_id())
    if getattr(g, "episode", None) is not None:
        response.headers.setdefault("X-OAuth-Scopes", ",".join(BOT_SCOPES))
        accepted = ACCEPTED_SCOPES.get(method_name())
        if accepted is not None:
            response.headers.setdefault("X-Accepted-OAuth-Scopes", accepted)
    response.headers.setdefault("X-Slack-Backend", "r")
    response.headers.setdefault("Cache-Control", "private, no-cache, no-store, must-revalidate")
    response.headers.setdefault("Access-Control-Allow-Origin", "*")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
