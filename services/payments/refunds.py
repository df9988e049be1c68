"""Refunds: create (by `charge` or `payment_intent`), retrieve, update metadata, list (filters
`charge`, `payment_intent`).

A refund moves the charge's `amount_refunded` (and `refunded` once nothing is left) in the same
transaction, so the ledger shows the refund's insert and the charge's update under one exchange.
Refunds succeed at once: the sandbox has no bank that could fail them later.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from services.payments import objects
from services.payments.errors import StripeError
from services.payments.forms import MISSING, Params, merge_metadata, request_params
from services.payments.idempotency import write
from services.payments.money import format_amount
from services.payments.pagination import LIST_PARAMS, list_page
from services.payments.store import dump, fetch, insert, load, new_id, now, require, update
from services.payments.wire import json_response

bp = Blueprint("refunds", __name__)

REASONS = ("duplicate", "fraudulent", "requested_by_customer")
# Real Stripe parameters about Connect and customer-balance refunds: checked, no effect here.
IGNORED = ("refund_application_fee", "reverse_transfer", "instructions_email")
CREATE = ("charge", "payment_intent", "amount", "reason", "metadata", *IGNORED)


def _charge_to_refund(params: Params) -> Any:
    charge_id = params.string("charge")
    intent_id = params.string("payment_intent")
    if not charge_id and not intent_id:
        raise StripeError(
            "One of the following parameters must be provided: charge, payment_intent.",
            code="parameter_missing",
            param="charge",
        )
    if intent_id:
        intent = require("payment_intents", "payment_intent", intent_id, param="payment_intent")
        latest = fetch("charges", intent["latest_charge"]) if intent["latest_charge"] else None
        if latest is None or latest["status"] != "succeeded":
            raise StripeError(
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        if charge_id and charge_id != latest["id"]:
            raise StripeError(
                f"The charge {charge_id} does not belong to the PaymentIntent {intent_id}.", param="charge"
            )
        return latest
    return require("charges", "charge", charge_id, param="charge")


def _create(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    params = Params(data, CREATE)
    expand = params.expand()
    objects.check_expand("refund", expand)
    for name in ("refund_application_fee", "reverse_transfer"):
        params.boolean(name)
    params.string("instructions_email", max_length=512)
    reason = params.string("reason", choices=REASONS)
    amount = params.integer("amount", minimum=1)
    metadata = params.metadata()
    charge = _charge_to_refund(params)
    if charge["status"] != "succeeded":
        raise StripeError(
            f"Charge {charge['id']} cannot be refunded because it failed: no money was taken.",
            code="charge_not_refundable",
            param="charge",
        )
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining <= 0:
        raise StripeError(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded", param="charge"
        )
    if amount is MISSING or amount is None:
        amount = remaining
    currency = charge["currency"]
    if amount > charge["amount"]:
        raise StripeError(
            f"Refund amount ({format_amount(amount, currency)}) is greater than charge amount"
            f" ({format_amount(charge['amount'], currency)})",
            code="amount_too_large",
            param="amount",
        )
    if amount > remaining:
        raise StripeError(
            f"Refund amount ({format_amount(amount, currency)}) is greater than unrefunded amount on charge"
            f" ({format_amount(remaining, currency)})",
            code="amount_too_large",
            param="amount",
        )
    refund_id = new_id("re")
    insert(
        "refunds",
        id=refund_id,
        charge=charge["id"],
        payment_intent=charge["payment_intent"],
        amount=amount,
        currency=currency,
        reason=reason or None,
        status="succeeded",
        metadata=dump(merge_metadata({}, metadata)),
        created=now(),
    )
    refunded_total = charge["amount_refunded"] + amount
    update("charges", charge["id"], amount_refunded=refunded_total, refunded=int(refunded_total >= charge["amount"]))
    return objects.refund(fetch("refunds", refund_id), expand), 200


# The dashboard's refund form (web_refund.py) runs this same function inside `write`.
create_refund = _create


def _update(refund_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    params = Params(data, ("metadata",))
    expand = params.expand()
    objects.check_expand("refund", expand)
    row = require("refunds", "refund", refund_id)
    metadata = params.metadata()
    if metadata is not MISSING:
        update("refunds", refund_id, metadata=dump(merge_metadata(load(row["metadata"]), metadata)))
    return objects.refund(fetch("refunds", refund_id), expand), 200


@bp.post("/v1/refunds")
def create() -> Response:
    """Refund all or part of a charge (by charge or payment_intent)."""
    return write(_create)


@bp.get("/v1/refunds")
def list_all() -> Response:
    """List refunds, newest first (filters: charge, payment_intent, created)."""
    params = Params(request_params(), (*LIST_PARAMS, "charge", "payment_intent"))
    filters = {"charge": params.string("charge"), "payment_intent": params.string("payment_intent")}
    return json_response(list_page("refund", "/v1/refunds", params, filters=filters))


@bp.get("/v1/refunds/<refund_id>")
def retrieve(refund_id: str) -> Response:
    """Retrieve a refund."""
    params = Params(request_params(), ())
    return json_response(objects.refund(require("refunds", "refund", refund_id), params.expand()))


@bp.post("/v1/refunds/<refund_id>")
def modify(refund_id: str) -> Response:
    """Update a refund's metadata."""
    return write(lambda data: _update(refund_id, data))
