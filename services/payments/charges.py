"""Charges: create, retrieve, update, list (filters `customer`, `payment_intent`), search, and a
charge's refunds. `make_charge` is also how a confirmed PaymentIntent pays.

A card whose test token declines (`tok_chargeDeclined`) still makes a charge, with status
`failed`; the request answers 402 with Stripe's `card_error`, and that answer is saved for
idempotent replay like a success, because the charge exists.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Blueprint, Response

from services.payments import money, objects
from services.payments.errors import StripeError
from services.payments.forms import MISSING, Params, merge_metadata, request_params
from services.payments.idempotency import write
from services.payments.pagination import LIST_PARAMS, list_page
from services.payments.payment_methods import card_of, resolve
from services.payments.search import SEARCH_PARAMS, search_page
from services.payments.store import DECLINE_MESSAGES, dump, fetch, insert, load, new_id, now, require, update
from services.payments.wire import json_response

bp = Blueprint("charges", __name__)

CREATE = (
    "amount",
    "currency",
    "customer",
    "source",
    "description",
    "metadata",
    "receipt_email",
    "capture",
    "statement_descriptor",
    "statement_descriptor_suffix",
)
UPDATE = ("description", "metadata", "receipt_email")


def make_charge(
    *,
    amount: int,
    currency: str,
    customer: str | None,
    pm: sqlite3.Row,
    description: str | None,
    metadata: dict[str, str],
    receipt_email: str | None,
    payment_intent: str | None = None,
) -> sqlite3.Row:
    """Charge `pm`: succeeded, or failed when the card is one of the declining test cards."""
    decline = pm["decline_code"]
    failure_code, failure_message = DECLINE_MESSAGES[decline] if decline else (None, None)
    charge_id = new_id("ch")
    insert(
        "charges",
        id=charge_id,
        amount=amount,
        currency=currency,
        customer=customer,
        payment_intent=payment_intent,
        payment_method=pm["id"],
        description=description,
        status="failed" if decline else "succeeded",
        paid=int(not decline),
        captured=int(not decline),
        failure_code=failure_code,
        failure_message=failure_message,
        decline_code=decline,
        card=dump(card_of(pm)),
        billing_details=pm["billing_details"],
        receipt_email=receipt_email,
        metadata=dump(metadata),
        created=now(),
    )
    return fetch("charges", charge_id)


def decline_error(charge: sqlite3.Row, **extra: Any) -> StripeError:
    """Stripe's 402 `card_error` for a failed charge."""
    return StripeError(
        charge["failure_message"],
        status=402,
        type="card_error",
        code=charge["failure_code"],
        charge=charge["id"],
        decline_code=charge["decline_code"],
        **extra,
    )


def _create(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    params = Params(data, CREATE)
    expand = params.expand()
    objects.check_expand("charge", expand)
    currency = money.currency(params)
    amount = money.amount(params, currency)
    if params.boolean("capture") is False:
        raise StripeError(
            "This sandbox captures every charge at once: capture=false (authorize now, capture later) is not"
            " supported. Use a PaymentIntent, or leave capture out.",
            param="capture",
        )
    customer_id = params.string("customer")
    customer = require("customers", "customer", customer_id, param="customer") if customer_id else None
    source = params.string("source")
    if source:
        pm = resolve(source, "source", customer_id)
    elif customer is not None:
        if not customer["default_payment_method"]:
            raise StripeError("Cannot charge a customer that has no active card", code="missing", param="card")
        pm = fetch("payment_methods", customer["default_payment_method"])
    else:
        raise StripeError("Must provide source or customer.", code="parameter_missing", param="source")
    for name in ("statement_descriptor", "statement_descriptor_suffix"):
        params.string(name, max_length=22)
    charge = make_charge(
        amount=amount,
        currency=currency,
        customer=customer_id or None,
        pm=pm,
        description=params.string("description") or None,
        metadata=merge_metadata({}, params.metadata()),
        receipt_email=params.string("receipt_email") or None,
    )
    if charge["status"] == "failed":
        return decline_error(charge).body(), 402
    return objects.charge(charge, expand), 200


def _update(charge_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    params = Params(data, UPDATE)
    objects.check_expand("charge", params.expand())
    row = require("charges", "charge", charge_id)
    values: dict[str, Any] = {}
    for name in ("description", "receipt_email"):
        value = params.string(name)
        if value is not MISSING:
            values[name] = value
    metadata = params.metadata()
    if metadata is not MISSING:
        values["metadata"] = dump(merge_metadata(load(row["metadata"]), metadata))
    update("charges", charge_id, **values)
    return objects.charge(fetch("charges", charge_id), params.expand()), 200


@bp.post("/v1/charges")
def create() -> Response:
    """Create a charge on a card or a customer's default card."""
    return write(_create)


@bp.get("/v1/charges")
def list_all() -> Response:
    """List charges, newest first (filters: customer, payment_intent, created)."""
    params = Params(request_params(), (*LIST_PARAMS, "customer", "payment_intent", "transfer_group"))
    filters = {"customer": params.string("customer"), "payment_intent": params.string("payment_intent")}
    # The sandbox makes no transfers, so no charge is in any transfer group.
    where = ("0",) if params.string("transfer_group") else ()
    return json_response(list_page("charge", "/v1/charges", params, filters=filters, where=where))


@bp.get("/v1/charges/search")
def search() -> Response:
    """Search charges with Stripe's query language."""
    params = Params(request_params(), SEARCH_PARAMS)
    return json_response(search_page("charge", "/v1/charges/search", params))


@bp.get("/v1/charges/<charge_id>")
def retrieve(charge_id: str) -> Response:
    """Retrieve a charge."""
    params = Params(request_params(), ())
    return json_response(objects.charge(require("charges", "charge", charge_id), params.expand()))


@bp.post("/v1/charges/<charge_id>")
def modify(charge_id: str) -> Response:
    """Update a charge's description, receipt email or metadata."""
    return write(lambda data: _update(charge_id, data))


@bp.get("/v1/charges/<charge_id>/refunds")
def list_refunds(charge_id: str) -> Response:
    """List a charge's refunds."""
    params = Params(request_params(), LIST_PARAMS)
    require("charges", "charge", charge_id)
    url = f"/v1/charges/{charge_id}/refunds"
    return json_response(list_page("refund", url, params, filters={"charge": charge_id}))
