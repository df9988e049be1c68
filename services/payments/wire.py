"""How the fake writes a response: Stripe's pretty-printed JSON and its response headers."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, g, request

from sandbox.clock import stable_id

# The API version the objects are shaped after, sent back when a client names none.
DEFAULT_API_VERSION = "2022-11-15"


def dumps(payload: Any) -> bytes:
    # Stripe pretty-prints with two spaces; the bytes are also what idempotent replays repeat.
    return (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode()


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(dumps(payload), status=status, mimetype="application/json")


def request_id() -> str:
    """`req_...`: derived from the episode and the exchange, so a rerun gives the same ids."""
    episode = getattr(g, "episode", None)
    if episode is None:
        return stable_id("req", "unbound", request.method, request.path)
    return stable_id("req", episode.id, getattr(g, "exchange_id", None) or 0)


def add_stripe_headers(response: Response) -> Response:
    """The headers every Stripe answer carries (the SDK reads `Request-Id` into its errors)."""
    if request.path.startswith("/_sandbox/"):
        return response
    response.headers.setdefault("Request-Id", request_id())
    response.headers.setdefault("Stripe-Version", request.headers.get("Stripe-Version") or DEFAULT_API_VERSION)
    response.headers.setdefault("Cache-Control", "no-cache, no-store")
    response.headers.setdefault("Access-Control-Allow-Origin", "*")
    return response
