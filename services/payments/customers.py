"""Customers: create, retrieve, update, delete, list (filter `email`), search.

A deleted customer stays as a stub row (`deleted = 1`): Stripe still answers a retrieve of it
with `{"id", "object": "customer", "deleted": true}`, while lists and updates no longer see it.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response

from sandbox.clock import stable_token
from services.payments import objects
from services.payments.errors import StripeError, no_such, parameter_missing, unknown_parameter
from services.payments.forms import MISSING, Params, merge_metadata, request_params
from services.payments.idempotency import write
from services.payments.pagination import LIST_PARAMS, list_page
from services.payments.payment_methods import resolve
from services.payments.search import SEARCH_PARAMS, search_page
from services.payments.store import dump, fetch, insert, load, new_id, now, require, update
from services.payments.wire import json_response

bp = Blueprint("customers", __name__)

ADDRESS = ("city", "country", "line1", "line2", "postal_code", "state")
FIELDS = (
    "address",
    "balance",
    "description",
    "email",
    "invoice_settings",
    "metadata",
    "name",
    "phone",
    "preferred_locales",
    "shipping",
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _address(params: Params, name: str, data: Any = MISSING) -> Any:
    value = params.hash(name, ADDRESS, data=data)
    if not value:
        return value
    return {key: value.get(key) for key in ADDRESS}


def _shipping(params: Params) -> Any:
    raw = params.data.get("shipping", MISSING)
    if raw is MISSING or raw == "":
        return None if raw == "" else MISSING
    if not isinstance(raw, dict):
        raise StripeError("Invalid object: shipping must be a hash.", param="shipping")
    for key in raw:
        if key not in ("address", "name", "phone"):
            raise unknown_parameter(f"shipping[{key}]")
    if not raw.get("name"):
        raise parameter_missing("shipping[name]")
    address = _address(params, "shipping[address]", raw.get("address", MISSING)) or None
    return {"address": address, "name": raw["name"], "phone": raw.get("phone") or None}


def _columns(params: Params, customer_id: str) -> dict[str, Any]:
    """The customer columns this request sets (absent parameters leave theirs alone)."""
    values: dict[str, Any] = {}
    for name, limit in (("name", 256), ("description", 350), ("phone", 20)):
        value = params.string(name, max_length=limit)
        if value is not MISSING:
            values[name] = value
    email = params.string("email", max_length=512)
    if email:
        if not _EMAIL.match(email):
            raise StripeError(f"Invalid email address: {email}", code="email_invalid", param="email")
    if email is not MISSING:
        values["email"] = email
    address = _address(params, "address")
    if address is not MISSING:
        values["address"] = dump(address)
    shipping = _shipping(params)
    if shipping is not MISSING:
        values["shipping"] = dump(shipping)
    balance = params.integer("balance")
    if balance is not MISSING:
        values["balance"] = balance or 0
    locales = params.string_list("preferred_locales")
    if locales is not MISSING:
        values["preferred_locales"] = dump(locales)
    settings = params.hash("invoice_settings", ("default_payment_method",))
    if settings:
        pm_id = settings.get("default_payment_method")
        param = "invoice_settings[default_payment_method]"
        if pm_id:
            pm = fetch("payment_methods", pm_id)
            if pm is None or pm["customer"] != customer_id:
                raise StripeError(
                    f"The customer does not have a payment method with the ID {pm_id}. The payment method must"
                    " be attached to the customer.",
                    code="resource_missing",
                    param=param,
                )
        values["default_payment_method"] = pm_id
    return values


def _create(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    params = Params(data, (*FIELDS, "payment_method"))
    objects.check_expand("customer", params.expand())
    customer_id = new_id("cus")
    pm_id = params.string("payment_method")
    pm = resolve(pm_id, "payment_method", None) if pm_id else None
    if pm is not None:  # attached first, so invoice_settings may name it as the default
        update("payment_methods", pm["id"], customer=customer_id)
    values = _columns(params, customer_id)
    values["metadata"] = dump(merge_metadata({}, params.metadata()))
    columns = {
        "id": customer_id,
        "invoice_prefix": stable_token("invoice_prefix", customer_id, length=8).upper(),
        "created": now(),
        **values,
    }
    insert("customers", **columns)
    return objects.customer(fetch("customers", customer_id), params.expand()), 200


def _update(customer_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    params = Params(data, FIELDS)
    objects.check_expand("customer", params.expand())
    row = require("customers", "customer", customer_id)
    values = _columns(params, customer_id)
    metadata = params.metadata()
    if metadata is not MISSING:
        values["metadata"] = dump(merge_metadata(load(row["metadata"]), metadata))
    update("customers", customer_id, **values)
    return objects.customer(fetch("customers", customer_id), params.expand()), 200


def _delete(customer_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    Params(data, ())
    require("customers", "customer", customer_id)
    update("customers", customer_id, deleted=1)
    return {"id": customer_id, "object": "customer", "deleted": True}, 200


@bp.post("/v1/customers")
def create() -> Response:
    """Create a customer."""
    return write(_create)


@bp.get("/v1/customers")
def list_all() -> Response:
    """List customers, newest first (filters: email, created)."""
    params = Params(request_params(), (*LIST_PARAMS, "email"))
    email = params.string("email", max_length=512)
    page = list_page("customer", "/v1/customers", params, filters={"email": email}, where=("deleted = 0",))
    return json_response(page)


@bp.get("/v1/customers/search")
def search() -> Response:
    """Search customers with Stripe's query language."""
    params = Params(request_params(), SEARCH_PARAMS)
    return json_response(search_page("customer", "/v1/customers/search", params, where="deleted = 0"))


@bp.get("/v1/customers/<customer_id>")
def retrieve(customer_id: str) -> Response:
    """Retrieve a customer (a deleted one answers with its stub)."""
    params = Params(request_params(), ())
    row = fetch("customers", customer_id)
    if row is None:
        raise no_such("customer", customer_id)
    return json_response(objects.customer(row, params.expand()))


@bp.post("/v1/customers/<customer_id>")
def modify(customer_id: str) -> Response:
    """Update a customer."""
    return write(lambda data: _update(customer_id, data))


@bp.delete("/v1/customers/<customer_id>")
def delete(customer_id: str) -> Response:
    """Delete a customer."""
    return write(lambda data: _delete(customer_id, data))
