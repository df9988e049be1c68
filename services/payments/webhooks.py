"""Webhook endpoints (Stripe's WebhookEndpoint): create, retrieve, update, delete, list.

An endpoint is where the sandbox POSTs the events it subscribes to (`enabled_events`, or "*"),
signed with its `secret` (`whsec_...`, derived from the seed and the endpoint's id, shown only in
the answer to the create, as Stripe does). The URL must be the agent's own loopback
(sandbox/webhooks/urls.py): anything else is refused with Stripe's invalid_request_error, and the
refused request is in the ledger like every exchange. Disabling or deleting an endpoint cancels its
pending deliveries in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g

from sandbox.clock import stable_token
from sandbox.webhooks.urls import EndpointURLError, check_endpoint_url, sandbox_ports
from services.payments import objects
from services.payments.errors import StripeError
from services.payments.events import EVENT_TYPES
from services.payments.forms import MISSING, Params, merge_metadata, request_params
from services.payments.idempotency import write
from services.payments.pagination import LIST_PARAMS, list_page
from services.payments.store import dump, fetch, insert, load, new_id, now, require, update
from services.payments.wire import json_response

bp = Blueprint("webhook_endpoints", __name__)

# Stripe allows 16 endpoints per account.
MAX_ENDPOINTS = 16
FIELDS = ("url", "enabled_events", "description", "metadata", "api_version")


def init_app(app: Flask, ports_file: Any) -> None:
    """Where the running sandbox lists its own ports: an endpoint may not point at any of them."""
    app.config["SANDBOX_PORTS_FILE"] = ports_file


def endpoint(row: sqlite3.Row, expand: list[str]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": "webhook_endpoint",
        "api_version": row["api_version"],
        "application": None,
        "created": row["created"],
        "description": row["description"],
        "enabled_events": json.loads(row["enabled_events"]),
        "livemode": False,
        "metadata": load(row["metadata"]),
        "status": row["status"],
        "url": row["url"],
    }


objects.RENDER["webhook_endpoint"] = ("webhook_endpoints", endpoint)
objects.EXPANDABLE["webhook_endpoint"] = {}


def _url(params: Params, required: bool) -> Any:
    url = params.string("url", required=required, nullable=False, max_length=2048)
    if url is MISSING:
        return url
    try:
        check_endpoint_url(url, sandbox_ports(current_app.config["SANDBOX_PORTS_FILE"]))
    except EndpointURLError as exc:
        raise StripeError(f"Invalid URL: {exc}.", param="url", code="url_invalid") from None
    return url


def _events(params: Params, required: bool) -> Any:
    events = params.string_list("enabled_events")
    if events is MISSING:
        if required:
            raise StripeError("Missing required param: enabled_events.", code="parameter_missing",
                              param="enabled_events")
        return events
    if not events:
        raise StripeError("Invalid enabled_events: must name at least one event type, or '*'.",
                          param="enabled_events")
    for i, name in enumerate(events):
        if name != "*" and name not in EVENT_TYPES:
            raise StripeError(f"Invalid enabled_events[{i}]: must be one of *, {', '.join(EVENT_TYPES)}",
                              param=f"enabled_events[{i}]")
    return sorted(set(events))


def _create(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    params = Params(data, (*FIELDS, "connect"))
    url = _url(params, required=True)
    events = _events(params, required=True)
    if params.boolean("connect"):
        raise StripeError("Connect endpoints are not modelled by the sandbox: leave out connect.", param="connect")
    count = g.db.execute("SELECT COUNT(*) FROM webhook_endpoints").fetchone()[0]
    if count >= MAX_ENDPOINTS:
        raise StripeError(f"You have reached the maximum of {MAX_ENDPOINTS} test webhook endpoints: delete one first.",
                          param="url")
    endpoint_id = new_id("we")
    secret = "whsec_" + stable_token("whsec", g.episode.seed, endpoint_id, length=32)
    insert(
        "webhook_endpoints",
        id=endpoint_id,
        url=url,
        enabled_events=json.dumps(events),
        description=params.string("description") or None,
        status="enabled",
        secret=secret,
        api_version=params.string("api_version", max_length=64) or None,
        metadata=dump(merge_metadata({}, params.metadata())),
        created=now(),
    )
    return {**endpoint(fetch("webhook_endpoints", endpoint_id), []), "secret": secret}, 200


def _update(endpoint_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    params = Params(data, ("url", "enabled_events", "description", "metadata", "disabled"))
    row = require("webhook_endpoints", "webhook_endpoint", endpoint_id)
    values: dict[str, Any] = {}
    url = _url(params, required=False)
    if url is not MISSING:
        values["url"] = url
    events = _events(params, required=False)
    if events is not MISSING:
        values["enabled_events"] = json.dumps(events)
    if "description" in params:
        values["description"] = params.string("description") or None
    disabled = params.boolean("disabled")
    if disabled is not MISSING and disabled is not None:
        values["status"] = "disabled" if disabled else "enabled"
    metadata = params.metadata()
    if metadata is not MISSING:
        values["metadata"] = dump(merge_metadata(load(row["metadata"]), metadata))
    if values:
        update("webhook_endpoints", endpoint_id, **values)
    if values.get("status") == "disabled" or "url" in values:
        _cancel_pending(endpoint_id)  # Stripe sends nothing more to a disabled endpoint or an old URL
    return endpoint(fetch("webhook_endpoints", endpoint_id), []), 200


def _delete(endpoint_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    Params(data, ())
    require("webhook_endpoints", "webhook_endpoint", endpoint_id)
    g.db.execute("DELETE FROM webhook_endpoints WHERE id=?", (endpoint_id,))
    _cancel_pending(endpoint_id)
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}, 200


def _cancel_pending(endpoint_id: str) -> None:
    g.db.execute("UPDATE _webhook_outbox SET state='canceled' WHERE endpoint_id=? AND state='pending'",
                 (endpoint_id,))


@bp.post("/v1/webhook_endpoints")
def create() -> Response:
    """Register a webhook endpoint (its secret is in this answer only)."""
    return write(_create)


@bp.get("/v1/webhook_endpoints")
def list_all() -> Response:
    """List webhook endpoints, newest first."""
    params = Params(request_params(), LIST_PARAMS)
    return json_response(list_page("webhook_endpoint", "/v1/webhook_endpoints", params))


@bp.get("/v1/webhook_endpoints/<endpoint_id>")
def retrieve(endpoint_id: str) -> Response:
    """Retrieve a webhook endpoint (without its secret)."""
    Params(request_params(), ())
    return json_response(endpoint(require("webhook_endpoints", "webhook_endpoint", endpoint_id), []))


@bp.post("/v1/webhook_endpoints/<endpoint_id>")
def modify(endpoint_id: str) -> Response:
    """Update a webhook endpoint: url, enabled_events, description, metadata, disabled."""
    return write(lambda data: _update(endpoint_id, data))


@bp.delete("/v1/webhook_endpoints/<endpoint_id>")
def delete(endpoint_id: str) -> Response:
    """Delete a webhook endpoint; its pending deliveries are canceled."""
    return write(lambda data: _delete(endpoint_id, data))
