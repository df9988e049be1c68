"""How the fake writes a response: Zendesk's compact JSON, its URLs and its response headers."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, g, request

from sandbox.clock import episode_time, stable_number

VENDOR_SUFFIX = ".zendesk.com"
RATE_LIMIT = 700  # requests a minute, the Suite Professional default


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(dumps(payload), status=status, content_type="application/json; charset=utf-8")


def host() -> str:
    return request.host.split(":")[0].lower()


def base_url() -> str:
    """The base the client called: https for the vendor host (TLS ends at the proxy), else as called."""
    scheme = "https" if host().endswith(VENDOR_SUFFIX) else request.scheme
    return f"{scheme}://{request.host}"


def api_url(path: str) -> str:
    """`/tickets/1.json` -> `https://acme.zendesk.com/api/v2/tickets/1.json`."""
    return f"{base_url()}/api/v2{path}"


def request_id() -> str:
    """A hex id from the episode and the exchange, so a rerun gives the same ids."""
    episode = getattr(g, "episode", None)
    parts = (episode.id, getattr(g, "exchange_id", None) or 0) if episode else ("unbound", request.method, request.path)
    return format(stable_number("zendesk-request", *parts, low=16**15, high=16**16), "x")


def rate_limit_values() -> tuple[int, int, int]:
    """(limit, remaining, seconds to reset) on the episode clock: the fake never throttles by
    itself (injected faults do), so `remaining` only counts down within the episode's minute."""
    episode = getattr(g, "episode", None)
    exchange = getattr(g, "exchange_id", None) or 0
    clock = episode_time(exchange, episode.clock_start) if episode else 0
    return RATE_LIMIT, RATE_LIMIT - 1 - exchange % RATE_LIMIT, 60 - clock % 60


def add_zendesk_headers(response: Response) -> Response:
    """The headers every Zendesk API answer carries."""
    if request.path.startswith("/_sandbox/"):
        return response
    limit, remaining, reset = rate_limit_values()
    response.headers.setdefault("X-Zendesk-Request-Id", request_id())
    response.headers.setdefault("X-Request-Id", response.headers["X-Zendesk-Request-Id"])
    response.headers.setdefault("X-Zendesk-API-Version", "v2")
    response.headers.setdefault("X-Rate-Limit", str(limit))
    response.headers.setdefault("X-Rate-Limit-Remaining", str(remaining))
    response.headers.setdefault("ratelimit-limit", str(limit))
    response.headers.setdefault("ratelimit-remaining", str(remaining))
    response.headers.setdefault("ratelimit-reset", str(reset))
    response.headers.setdefault("Cache-Control", "no-cache")
    return response
