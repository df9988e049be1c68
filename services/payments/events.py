"""Stripe's events, raised by the rows a write changed, and `GET /v1/events[/<id>]`.

Events come from the change capture, not from each handler: at the end of every write
(`idempotency.write`), inside its transaction, the `_sandbox_changes` rows it made are read back and
each change that Stripe would announce becomes an event (a refund's insert -> `refund.created`, the
charge's `amount_refunded` going up -> `charge.refunded`, ...). So every write that exists or is
added later raises its events, and an event commits with its change or not at all. Each event also
gets one outbox row per enabled endpoint subscribed to its type (`_webhook_outbox`), which the
host-side deliverer sends (sandbox/webhooks/deliverer.py).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from flask import Blueprint, Response, g

from services.payments import objects
from services.payments.errors import StripeError, no_such
from services.payments.forms import Params, request_params
from services.payments.pagination import LIST_PARAMS, list_page
from services.payments.store import load, new_id, now
from services.payments.wire import DEFAULT_API_VERSION, dumps, json_response, request_id

bp = Blueprint("events", __name__)

# The types this fake raises; an endpoint may also subscribe to "*".
EVENT_TYPES = (
    "charge.failed", "charge.refunded", "charge.succeeded", "charge.updated",
    "customer.created", "customer.deleted", "customer.updated",
    "payment_intent.canceled", "payment_intent.created", "payment_intent.payment_failed",
    "payment_intent.succeeded",
    "payment_method.attached",
    "price.created", "price.updated", "product.created", "product.updated",
    "refund.created", "refund.updated",
)
TABLE_KIND = {"customers": "customer", "charges": "charge", "refunds": "refund", "payment_intents": "payment_intent",
              "payment_methods": "payment_method", "products": "product", "prices": "price"}
INTENT_STATUS_EVENTS = {"succeeded": "payment_intent.succeeded", "canceled": "payment_intent.canceled"}


def _render_event(row: sqlite3.Row, expand: list[str]) -> dict[str, Any]:
    return json.loads(row["body"])


# Events list and retrieve through the shared pagination, which finds tables and renderers here.
objects.RENDER["event"] = ("_events", _render_event)
objects.EXPANDABLE["event"] = {}


def _types(kind: str, op: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """The event types Stripe raises for one row change (none for most updates it does not announce)."""
    if op == "insert":
        if kind == "charge":
            return ["charge.succeeded" if after["status"] == "succeeded" else "charge.failed"]
        if kind == "payment_method":
            return []
        return [f"{kind}.created"]
    if op != "update":
        return []
    if kind == "customer":
        return ["customer.deleted" if after["deleted"] and not before["deleted"] else "customer.updated"]
    if kind == "charge":
        return ["charge.refunded" if after["amount_refunded"] > before["amount_refunded"] else "charge.updated"]
    if kind == "payment_intent":
        if after["status"] == before["status"]:
            return []
        if after["status"] == "requires_payment_method" and after["last_payment_error"]:
            return ["payment_intent.payment_failed"]
        return [INTENT_STATUS_EVENTS[after["status"]]] if after["status"] in INTENT_STATUS_EVENTS else []
    if kind == "payment_method":
        return ["payment_method.attached"] if after["customer"] and not before["customer"] else []
    return [f"{kind}.updated"]


def last_change_seq(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM _sandbox_changes").fetchone()[0])


def raise_events(conn: sqlite3.Connection, since_seq: int, idempotency_key: str | None) -> list[str]:
    """Write the events of the changes after `since_seq` and their outbox rows; returns the event ids.
    Call inside the write's transaction."""
    changes = conn.execute(
        "SELECT tbl, op, before, after FROM _sandbox_changes WHERE seq > ? ORDER BY seq", (since_seq,)
    ).fetchall()
    made = []
    for tbl, op, before_text, after_text in changes:
        kind = TABLE_KIND.get(tbl)
        if kind is None:
            continue
        before, after = load(before_text), load(after_text)
        for event_type in _types(kind, op, before, after):
            made.append(_write_event(conn, event_type, kind, before, after, idempotency_key))
    return made


def _write_event(conn: sqlite3.Connection, event_type: str, kind: str, before: dict[str, Any] | None,
                 after: dict[str, Any], idempotency_key: str | None) -> str:
    table, render = objects.RENDER[kind]
    current = conn.execute(f"SELECT * FROM {table} WHERE id=?", (after["id"],)).fetchone()
    # A deleted customer is announced with the object as it was, as Stripe does.
    shown = render(before, []) if event_type == "customer.deleted" else render(current, [])
    data: dict[str, Any] = {"object": shown}
    if before is not None and event_type.endswith((".updated", ".refunded")):
        old = render(before, [])
        data["previous_attributes"] = {k: old.get(k) for k in shown if k in old and old.get(k) != shown[k]}
    endpoints = _subscribed(conn, event_type)
    event_id = new_id("evt")
    created = now()
    event = {
        "id": event_id,
        "object": "event",
        "api_version": DEFAULT_API_VERSION,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": len(endpoints),
        "request": {"id": request_id(), "idempotency_key": idempotency_key},
        "type": event_type,
    }
    body = dumps(event)
    conn.execute("INSERT INTO _events (id, type, body, created) VALUES (?, ?, ?, ?)",
                 (event_id, event_type, body.decode(), created))
    conn.executemany(
        "INSERT INTO _webhook_outbox (event_id, event_type, endpoint_id, url, scheme, secret, body, created)"
        " VALUES (?, ?, ?, ?, 'stripe', ?, ?, ?)",
        [(event_id, event_type, ep["id"], ep["url"], ep["secret"], body, created) for ep in endpoints],
    )
    return event_id


def _subscribed(conn: sqlite3.Connection, event_type: str) -> list[sqlite3.Row]:
    rows = conn.execute("SELECT * FROM webhook_endpoints WHERE status='enabled' ORDER BY created, id").fetchall()
    return [r for r in rows if {"*", event_type} & set(json.loads(r["enabled_events"]))]


@bp.get("/v1/events")
def list_all() -> Response:
    """List events, newest first (filters: type, types[], created)."""
    params = Params(request_params(), (*LIST_PARAMS, "type", "types"))
    one = params.string("type", max_length=200)
    many = params.string_list("types")
    if one and many:
        raise StripeError("You may only specify one of these parameters: type, types.",
                          code="parameters_exclusive", param="types")
    where: tuple[str, ...] = ()
    args: tuple[Any, ...] = ()
    if one:
        # Stripe's `type` takes a `*` wildcard (charge.*).
        where, args = ("type GLOB ?",), (one,)
    elif many:
        where, args = (f"type IN ({', '.join('?' * len(many))})",), tuple(many)
    return json_response(list_page("event", "/v1/events", params, where=where, where_args=args))


@bp.get("/v1/events/<event_id>")
def retrieve(event_id: str) -> Response:
    """Retrieve an event."""
    Params(request_params(), ())
    row = g.db.execute("SELECT * FROM _events WHERE id=?", (event_id,)).fetchone()
    if row is None:
        raise no_such("event", event_id)
    return json_response(_render_event(row, []))
