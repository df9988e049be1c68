"""PaymentIntents: create (optionally `confirm=true`), retrieve, update, confirm, cancel, list
(filter `customer`), search.

The state machine is Stripe's for cards without 3-D Secure: `requires_payment_method` ->
(a card is set) `requires_confirmation` -> (confirm) `succeeded`, or back to
`requires_payment_method` with `last_payment_error` when the card declines; `canceled` from any
state before success. Confirming makes a Charge (see `charges.make_charge`).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Blueprint, Response

from services.payments import money, objects
from services.payments.charges import decline_error, make_charge
from services.payments.errors import StripeError
from services.payments.forms import MISSING, Params, merge_metadata, request_params
from services.payments.idempotency import write
from services.payments.pagination import LIST_PARAMS, list_page
from services.payments.payment_methods import resolve
from services.payments.search import SEARCH_PARAMS, search_page
from services.payments.store import client_secret, dump, fetch, insert, load, new_id, now, require, update
from services.payments.wire import json_response

bp = Blueprint("payment_intents", __name__)

# Accepted and checked, without effect in the sandbox (no redirects, no saved-card mandates).
CONFIRM_EXTRAS = ("error_on_requires_action", "off_session", "return_url", "setup_future_usage", "use_stripe_sdk")
CREATE = (
    "amount",
    "currency",
    "customer",
    "description",
    "metadata",
    "payment_method",
    "payment_method_types",
    "automatic_payment_methods",
    "capture_method",
    "confirmation_method",
    "confirm",
    "receipt_email",
    "statement_descriptor",
    "statement_descriptor_suffix",
    *CONFIRM_EXTRAS,
)
UPDATE = ("amount", "currency", "customer", "description", "metadata", "payment_method", "receipt_email")
CONFIRM = ("payment_method", "receipt_email", "client_secret", *CONFIRM_EXTRAS)
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing")
EDITABLE = ("requires_payment_method", "requires_confirmation", "requires_action")


def _unexpected_state(intent: sqlite3.Row, action: str, done: str, allowed: tuple[str, ...]) -> StripeError:
    return StripeError(
        f"You cannot {action} this PaymentIntent because it has a status of {intent['status']}. Only a"
        f" PaymentIntent with one of the following statuses may be {done}: {', '.join(allowed)}.",
        code="payment_intent_unexpected_state",
        payment_intent=objects.payment_intent(intent, []),
    )


def _check_extras(params: Params) -> None:
    params.boolean("error_on_requires_action")
    params.boolean("use_stripe_sdk")
    if "off_session" in params and params.data["off_session"] not in ("one_off", "recurring"):
        params.boolean("off_session")
    params.string("return_url", max_length=2048)
    params.string("setup_future_usage", choices=("on_session", "off_session"))


def _confirm(intent: sqlite3.Row, pm: sqlite3.Row | None, receipt_email: Any) -> tuple[dict[str, Any], int]:
    if pm is None:
        raise StripeError(
            "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update"
            " the PaymentIntent with a payment method and then confirm it again, or confirm it again directly"
            " with a payment method.",
            code="payment_intent_unexpected_state",
            payment_intent=objects.payment_intent(intent, []),
        )
    if receipt_email is not MISSING:
        update("payment_intents", intent["id"], receipt_email=receipt_email)
    intent = fetch("payment_intents", intent["id"])
    charge = make_charge(
        amount=intent["amount"],
        currency=intent["currency"],
        customer=intent["customer"],
        pm=pm,
        description=intent["description"],
        metadata={},
        receipt_email=intent["receipt_email"],
        payment_intent=intent["id"],
    )
    if charge["status"] == "succeeded":
        update(
            "payment_intents",
            intent["id"],
            status="succeeded",
            amount_received=intent["amount"],
            payment_method=pm["id"],
            latest_charge=charge["id"],
            last_payment_error=None,
        )
        return {}, 200
    pm_object = objects.payment_method(pm, [])
    error = decline_error(charge, payment_method=pm_object)
    update(
        "payment_intents",
        intent["id"],
        status="requires_payment_method",
        payment_method=None,
        latest_charge=charge["id"],
        last_payment_error=dump(error.body()["error"]),
    )
    error.extra["payment_intent"] = objects.payment_intent(fetch("payment_intents", intent["id"]), [])
    return error.body(), 402


def _respond(intent_id: str, outcome: tuple[dict[str, Any], int], expand: list[str]) -> tuple[dict[str, Any], int]:
    body, status = outcome
    if status != 200:
        return body, status
    return objects.payment_intent(fetch("payment_intents", intent_id), expand), 200


def _create(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    params = Params(data, CREATE)
    expand = params.expand()
    objects.check_expand("payment_intent", expand)
    currency = money.currency(params)
    amount = money.amount(params, currency)
    customer_id = params.string("customer") or None
    if customer_id:
        require("customers", "customer", customer_id, param="customer")
    types = params.string_list("payment_method_types")
    if types and any(t != "card" for t in types):
        raise StripeError(
            "The sandbox accepts only card payments: payment_method_types must be ['card'].",
            param="payment_method_types",
        )
    params.hash("automatic_payment_methods", ("enabled", "allow_redirects"))
    params.string("capture_method", choices=("automatic", "automatic_async"))
    params.string("confirmation_method", choices=("automatic", "manual"))
    for name in ("statement_descriptor", "statement_descriptor_suffix"):
        params.string(name, max_length=22)
    _check_extras(params)
    confirm = params.boolean("confirm")
    pm_id = params.string("payment_method")
    pm = resolve(pm_id, "payment_method", customer_id) if pm_id else None
    intent_id = new_id("pi")
    insert(
        "payment_intents",
        id=intent_id,
        amount=amount,
        currency=currency,
        customer=customer_id,
        description=params.string("description") or None,
        status="requires_confirmation" if pm is not None else "requires_payment_method",
        payment_method=pm["id"] if pm is not None else None,
        receipt_email=params.string("receipt_email") or None,
        client_secret=client_secret(intent_id),
        metadata=dump(merge_metadata({}, params.metadata())),
        created=now(),
    )
    outcome: tuple[dict[str, Any], int] = ({}, 200)
    if confirm:
        outcome = _confirm(fetch("payment_intents", intent_id), pm, MISSING)
    return _respond(intent_id, outcome, expand)


def _update(intent_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    params = Params(data, UPDATE)
    expand = params.expand()
    objects.check_expand("payment_intent", expand)
    intent = require("payment_intents", "payment_intent", intent_id)
    values: dict[str, Any] = {}
    for name in ("amount", "currency", "customer", "payment_method"):
        if name in params and intent["status"] not in EDITABLE:
            raise StripeError(
                f"This PaymentIntent's {name} could not be updated because it has a status of {intent['status']}."
                f" You may only update the {name} of a PaymentIntent with one of the following statuses:"
                f" {', '.join(EDITABLE)}.",
                code="payment_intent_unexpected_state",
                param=name,
            )
    currency = money.currency(params, required=False)
    if currency is not MISSING:
        values["currency"] = currency
    else:
        currency = intent["currency"]
    amount = money.amount(params, currency, required=False)
    if amount is not MISSING:
        values["amount"] = amount
    customer_id = params.string("customer")
    if customer_id:
        require("customers", "customer", customer_id, param="customer")
    if customer_id is not MISSING:
        values["customer"] = customer_id
    pm_id = params.string("payment_method")
    if pm_id:
        values["payment_method"] = resolve(pm_id, "payment_method", values.get("customer", intent["customer"]))["id"]
        values["status"] = "requires_confirmation"
    for name in ("description", "receipt_email"):
        value = params.string(name)
        if value is not MISSING:
            values[name] = value
    metadata = params.metadata()
    if metadata is not MISSING:
        values["metadata"] = dump(merge_metadata(load(intent["metadata"]), metadata))
    update("payment_intents", intent_id, **values)
    return objects.payment_intent(fetch("payment_intents", intent_id), expand), 200


def _confirm_existing(intent_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    params = Params(data, CONFIRM)
    expand = params.expand()
    objects.check_expand("payment_intent", expand)
    intent = require("payment_intents", "payment_intent", intent_id)
    _check_extras(params)
    params.string("client_secret")
    if intent["status"] not in CONFIRMABLE:
        raise _unexpected_state(intent, "confirm", "confirmed", CONFIRMABLE)
    pm_id = params.string("payment_method")
    if pm_id:
        pm = resolve(pm_id, "payment_method", intent["customer"])
    else:
        pm = fetch("payment_methods", intent["payment_method"]) if intent["payment_method"] else None
    outcome = _confirm(intent, pm, params.string("receipt_email"))
    return _respond(intent_id, outcome, expand)


def _cancel(intent_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    params = Params(data, ("cancellation_reason",))
    expand = params.expand()
    objects.check_expand("payment_intent", expand)
    intent = require("payment_intents", "payment_intent", intent_id)
    reason = params.string(
        "cancellation_reason", choices=("duplicate", "fraudulent", "requested_by_customer", "abandoned")
    )
    if intent["status"] not in CANCELABLE:
        raise _unexpected_state(intent, "cancel", "canceled", CANCELABLE)
    update("payment_intents", intent_id, status="canceled", canceled_at=now(), cancellation_reason=reason or None)
    return objects.payment_intent(fetch("payment_intents", intent_id), expand), 200


@bp.post("/v1/payment_intents")
def create() -> Response:
    """Create a PaymentIntent, and with confirm=true pay it at once."""
    return write(_create)


@bp.get("/v1/payment_intents")
def list_all() -> Response:
    """List PaymentIntents, newest first (filters: customer, created)."""
    params = Params(request_params(), (*LIST_PARAMS, "customer"))
    filters = {"customer": params.string("customer")}
    return json_response(list_page("payment_intent", "/v1/payment_intents", params, filters=filters))


@bp.get("/v1/payment_intents/search")
def search() -> Response:
    """Search PaymentIntents with Stripe's query language."""
    params = Params(request_params(), SEARCH_PARAMS)
    return json_response(search_page("payment_intent", "/v1/payment_intents/search", params))


@bp.get("/v1/payment_intents/<intent_id>")
def retrieve(intent_id: str) -> Response:
    """Retrieve a PaymentIntent."""
    params = Params(request_params(), ("client_secret",))
    row = require("payment_intents", "payment_intent", intent_id)
    return json_response(objects.payment_intent(row, params.expand()))


@bp.post("/v1/payment_intents/<intent_id>")
def modify(intent_id: str) -> Response:
    """Update a PaymentIntent."""
    return write(lambda data: _update(intent_id, data))


@bp.post("/v1/payment_intents/<intent_id>/confirm")
def confirm(intent_id: str) -> Response:
    """Confirm a PaymentIntent: charge its card."""
    return write(lambda data: _confirm_existing(intent_id, data))


@bp.post("/v1/payment_intents/<intent_id>/cancel")
def cancel(intent_id: str) -> Response:
    """Cancel a PaymentIntent that has not succeeded."""
    return write(lambda data: _cancel(intent_id, data))
