"""PaymentMethods: the world's saved cards, and cards made from Stripe's test tokens.

Stripe's test mode turns `pm_card_visa` or `tok_visa` into a fresh card; the decline tokens
(`pm_card_chargeDeclined`, `tok_chargeDeclinedInsufficientFunds`...) make cards whose charges
fail. The sandbox does the same, so agents can pay and fail to pay exactly like against Stripe.
"""

from __future__ import annotations

import sqlite3

from flask import Blueprint, Response

from sandbox.clock import stable_token
from services.payments import objects
from services.payments.errors import StripeError, no_such
from services.payments.forms import Params, request_params
from services.payments.pagination import LIST_PARAMS, list_page
from services.payments.store import TEST_CARDS, dump, fetch, insert, new_id, now, require
from services.payments.wire import json_response

bp = Blueprint("payment_methods", __name__)

EMPTY_BILLING = {"address": None, "email": None, "name": None, "phone": None}


def _test_card(token: str) -> str | None:
    for prefix in ("pm_card_", "tok_"):
        if token.startswith(prefix) and token[len(prefix) :] in TEST_CARDS:
            return token[len(prefix) :]
    return None


def resolve(pm_id: str, param: str, customer: str | None) -> sqlite3.Row:
    """The card to charge for `pm_id`: a saved PaymentMethod (which must belong to `customer`, if
    it belongs to anyone) or a new one made from a test token. Call inside a write."""
    name = _test_card(pm_id)
    if name is not None:
        brand, last4, funding, decline = TEST_CARDS[name]
        new = new_id("pm")
        insert(
            "payment_methods",
            id=new,
            customer=None,
            brand=brand,
            last4=last4,
            exp_month=12,
            exp_year=2034,
            # Stripe fingerprints the card number: the same test card always has the same one.
            fingerprint=stable_token("fingerprint", brand, last4, length=16),
            funding=funding,
            decline_code=decline,
            billing_details=dump(EMPTY_BILLING),
            created=now(),
        )
        return fetch("payment_methods", new)
    row = fetch("payment_methods", pm_id)
    if row is None:
        # As Stripe words it: a `source` names a token or source, a `payment_method` a PaymentMethod.
        kind = "PaymentMethod" if param == "payment_method" else "token" if pm_id.startswith("tok_") else "source"
        raise no_such(kind, pm_id, param=param)
    if row["customer"] and row["customer"] != customer:
        raise StripeError(
            f"The PaymentMethod provided ({pm_id}) belongs to Customer {row['customer']}. Pass"
            f" customer={row['customer']} with it, or use a PaymentMethod of this Customer.",
            param=param,
        )
    return row


def card_of(pm: sqlite3.Row) -> dict[str, object]:
    """The card fields a charge copies from its PaymentMethod."""
    keys = ("brand", "exp_month", "exp_year", "fingerprint", "funding", "last4")
    return {k: pm[k] for k in keys}


@bp.get("/v1/payment_methods/<pm_id>")
def retrieve(pm_id: str) -> Response:
    """Retrieve a PaymentMethod."""
    params = Params(request_params(), ())
    return json_response(objects.payment_method(require("payment_methods", "PaymentMethod", pm_id), params.expand()))


@bp.get("/v1/payment_methods")
def list_all() -> Response:
    """List a customer's PaymentMethods."""
    params = Params(request_params(), (*LIST_PARAMS, "customer", "type"))
    customer = params.string("customer", required=True)
    params.string("type", choices=("card",))
    return json_response(list_page("payment_method", "/v1/payment_methods", params, filters={"customer": customer}))


@bp.get("/v1/customers/<customer_id>/payment_methods")
def list_for_customer(customer_id: str) -> Response:
    """List a customer's PaymentMethods."""
    params = Params(request_params(), (*LIST_PARAMS, "type"))
    require("customers", "customer", customer_id)
    params.string("type", choices=("card",))
    url = f"/v1/customers/{customer_id}/payment_methods"
    return json_response(list_page("payment_method", url, params, filters={"customer": customer_id}))
