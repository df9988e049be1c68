"""The fake services, registered by id.

A service is a package `services/<id>/` whose `SERVICE` is a `ServiceSpec`: the vendor hostnames it
answers for, its Flask app factory, and how it builds its tables from the world of a seed.
"""

from __future__ import annotations

import functools
import importlib
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.errors import ServiceError, did_you_mean

if TYPE_CHECKING:
    from flask import Flask

    from sandbox.world import World

# id -> module holding SERVICE. Order is the order `sandbox up` starts them in.
_MODULES: dict[str, str] = {
    "payments": "services.payments",
    "helpdesk": "services.helpdesk",
    "chat": "services.chat",
    "code": "services.code",
}


@dataclass(frozen=True)
class ServiceSpec:
    id: str
    hosts: tuple[str, ...]  # vendor hostnames the proxy routes to this fake
    create_app: Callable[[dict[str, Any]], Flask]
    build_template: Callable[[sqlite3.Connection, World], None]  # schema + rows for a seed
    key_prefix: str  # what a valid API key looks like, e.g. "sk_test_"
    env_vars: tuple[str, ...] = ()  # names under which `sandbox env` prints the API key
    # Bookkeeping tables (idempotency records, ...) whose rows are not side effects a task scores.
    internal_tables: tuple[str, ...] = ()
    # More variables an agent needs beside the key (e.g. ZENDESK_SUBDOMAIN), from the world.
    agent_env: Callable[[World], dict[str, str]] | None = None
    # The vendor's own error answer for an HTTP status, for injected faults:
    # vendor_error(status, message) -> (headers, body bytes). Stripe's error object, Slack's
    # {"ok": false, "error": ...}, GitHub's {"message": ..., "documentation_url": ...}.
    vendor_error: Callable[[int, str], tuple[dict[str, str], bytes]] | None = None
    # The vendor's rate-limit headers for a throttled answer: rate_limit_headers(retry_after_seconds).
    rate_limit_headers: Callable[[int], dict[str, str]] | None = None
    # The status the vendor throttles with: 429 for most; GitHub's primary rate limit answers 403,
    # and its SDKs only treat a 403 with that message as a rate limit.
    rate_limit_status: int = 429
    # How a client presents an episode's key: auth_headers(key, world) -> headers. Used by the
    # conformance tests, the Python API and anything else that calls a fake generically.
    auth_headers: Callable[[str, World], dict[str, str]] | None = None
    # A cheap authenticated read, with the path as the vendor's clients send it ("/v1/customers").
    probe: str = "/"
    # Where outsiders can read a row: public_exposure(table, row after a change) -> a description
    # such as "public reply on ticket 1117", or None for rows only the company sees. Scoring looks
    # for canaries (private data) in the rows an agent changed that this calls public.
    public_exposure: Callable[[str, dict[str, Any]], str | None] | None = None
    # An error the vendor answers with a success status (Slack's 200 `ok:false`, GraphQL's `errors`):
    # in_band_error(path, status, body head) -> the error's name, or None. Efficiency counts these as
    # errors; None for vendors whose errors are all 4xx/5xx (services/common/in_band.py).
    in_band_error: Callable[[str, int, bytes], str | None] | None = None
    # Where the vendor's MCP server answers, as an agent's MCP client is configured with it:
    # mcp_url(world) -> "https://mcp.stripe.com/". Reached through the proxy like the REST API.
    mcp_url: Callable[[World], str] | None = None
    # Where a browser agent signs in to the vendor's web pages (the web gym), through the proxy:
    # web_login(world) -> "https://dashboard.stripe.com/login". The sign-in form takes the episode's
    # API key (input#api-token, plus input#email where the vendor signs in by email), honours a
    # relative `?next=/path`, and sets a session cookie. None for a fake with no pages.
    web_login: Callable[[World], str] | None = None


def service_ids() -> list[str]:
    """The active services: all registered ones, or the subset named in $SANDBOX_SERVICES
    (comma-separated), for a sandbox that needs only some fakes."""
    chosen = os.environ.get("SANDBOX_SERVICES", "").strip()
    if not chosen:
        return list(_MODULES)
    names = [name.strip() for name in chosen.split(",") if name.strip()]
    for name in names:
        if name not in _MODULES:
            raise ServiceError(
                f"SANDBOX_SERVICES names unknown service {name!r}",
                hint=did_you_mean(name, list(_MODULES)) or f"choose from {', '.join(_MODULES)}",
            )
    return [name for name in _MODULES if name in names]


def get_service(service_id: str) -> ServiceSpec:
    """The registered service `service_id`, or a ServiceError that suggests the closest id."""
    if service_id not in _MODULES:
        raise ServiceError(f"unknown service {service_id!r}", hint=did_you_mean(service_id, list(_MODULES)))
    return importlib.import_module(_MODULES[service_id]).SERVICE


def all_services() -> list[ServiceSpec]:
    return [get_service(s) for s in service_ids()]


def host_routes() -> dict[str, str]:
    """Vendor hostname -> service id, for the proxy's route addon."""
    return {host: spec.id for spec in all_services() for host in spec.hosts}


def in_band_error(service_id: str | None, host: str, path: str, status: int, body: bytes) -> str | None:
    """The vendor's in-band error in an answer from `service_id` (or, when the ledger names no
    service, from the service that owns `host`), or None if the answer is no such error."""
    service_id = service_id or _owner_of(host)
    if service_id not in _MODULES:
        return None
    check = get_service(service_id).in_band_error
    return check(path, status, body) if check is not None else None


@functools.lru_cache(maxsize=256)
def _owner_of(host: str) -> str | None:
    return next((spec.id for spec in map(get_service, _MODULES) if host in spec.hosts), None)
