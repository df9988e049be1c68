"""How the fake writes a response: GitHub's JSON, its URLs and the headers every answer carries."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, g, request

from sandbox.clock import EPISODE_START, episode_time

HOSTS = ("api.github.com",)
API_VERSION = "2022-11-28"
DOCS = "https://docs.github.com/rest"
WEB_HOST = "github.com"  # GitHub's web pages: html_url links there, and the web_*.py pages answer there
WEB = f"https://{WEB_HOST}"
RATE_LIMIT = 5000  # an authenticated token's hourly quota
ANONYMOUS_RATE_LIMIT = 60

F = TypeVar("F", bound=Callable[..., Any])


def docs(page: str) -> Callable[[F], F]:
    """Name the docs page of a view (`issues/issues#get-an-issue`): its errors point there."""

    def mark(view: F) -> F:
        view.docs_page = f"{DOCS}/{page}"  # type: ignore[attr-defined]
        return view

    return mark


def docs_url() -> str:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "docs_page", DOCS)


def is_web_host(host: str) -> bool:
    """Whether a Host header (with or without a port) names GitHub's web pages, not its API."""
    return host.split(":")[0].lower() == WEB_HOST


def api_base() -> str:
    """The base URL the client called, for every `url` GitHub puts in a body or a Link header.

    Through the proxy the fake sees Host: api.github.com (TLS ended at the proxy): the vendor base,
    without a port, as PyGithub only follows URLs on its own base. Directly, http://127.0.0.1:PORT."""
    hostname = request.host.split(":")[0].lower()
    if hostname in HOSTS:
        return f"https://{hostname}"
    return f"{request.scheme}://{request.host}"


def dumps(payload: Any) -> bytes:
    return (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode()


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(dumps(payload), status=status, content_type="application/json; charset=utf-8")
    response.headers.update(headers or {})
    return response


def no_content() -> Response:
    return Response(status=204)


def request_id() -> str:
    """`C4A2:3F1B:1A2B3C:1D2E3F:65A1B2C3`, GitHub's shape, from the episode and the exchange."""
    episode = getattr(g, "episode", None)
    parts = (episode.id, getattr(g, "exchange_id", 0) or 0) if episode else ("unbound", request.method, request.path)
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest().upper()
    return ":".join((digest[0:4], digest[4:8], digest[8:15], digest[15:22], digest[22:30]))


def rate_limit_state() -> dict[str, str]:
    """The core quota as GitHub reports it: one call used per exchange of the episode, resetting on the
    next hour of the episode clock. An unbound (unauthenticated) call sees the anonymous quota."""
    episode = getattr(g, "episode", None)
    if episode is None:
        limit, used, now = ANONYMOUS_RATE_LIMIT, 1, EPISODE_START
    else:
        limit, used = RATE_LIMIT, min(RATE_LIMIT, getattr(g, "exchange_id", 0) or 1)
        now = episode_time(getattr(g, "exchange_id", 0) or 0, episode.clock_start)
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(0, limit - used)),
        "X-RateLimit-Reset": str((now // 3600 + 1) * 3600),
        "X-RateLimit-Used": str(used),
        # GraphQL has its own quota on GitHub (points, not calls); one exchange costs one here too.
        "X-RateLimit-Resource": "graphql" if request.path.endswith("/graphql") else "core",
    }


def add_github_headers(response: Response) -> Response:
    """The headers every GitHub API answer carries (PyGithub reads the rate limit from them); github.com's
    pages set their own (web_session.web_headers)."""
    if request.path.startswith("/_sandbox/") or is_web_host(request.host):
        return response
    headers = response.headers
    for name, value in rate_limit_state().items():
        headers.setdefault(name, value)
    headers.setdefault("X-GitHub-Request-Id", request_id())
    headers.setdefault("X-GitHub-Api-Version-Selected", request.headers.get("X-GitHub-Api-Version") or API_VERSION)
    headers.setdefault("X-GitHub-Api-Version", request.headers.get("X-GitHub-Api-Version") or API_VERSION)
    headers.setdefault("X-GitHub-Media-Type", "github.v3; format=json")
    if getattr(g, "episode", None) is not None:
        # The token's scopes, on authenticated answers only (`gh auth status` reads them from `GET /`).
        headers.setdefault("X-OAuth-Scopes", "read:org, repo")
        headers.setdefault("X-Accepted-OAuth-Scopes", "" if request.path == "/" else "repo")
    headers.setdefault("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP,Accept-Encoding, Accept, X-Requested-With")
    headers.setdefault(
        "Access-Control-Expose-Headers",
        "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining,"
        " X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes,"
        " X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset",
    )
    headers.setdefault("Access-Control-Allow-Origin", "*")
    if request.method == "GET" and response.status_code == 200 and not response.is_streamed:
        headers.setdefault("ETag", 'W/"' + hashlib.sha256(response.get_data()).hexdigest()[:40] + '"')
        headers.setdefault("Cache-Control", "private, max-age=60, s-maxage=60")
    return response
