"""Products and their prices: read-only, as the world made them (the catalogue agents sell)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response

from services.payments import objects
from services.payments.forms import MISSING, Params, request_params
from services.payments.pagination import LIST_PARAMS, list_page
from services.payments.store import require
from services.payments.wire import json_response

bp = Blueprint("products", __name__)


def _active(params: Params) -> int | None:
    value = params.boolean("active")
    return None if value is MISSING or value is None else int(value)


@bp.get("/v1/products")
def list_products() -> Response:
    """List products (filters: active, ids, created)."""
    params = Params(request_params(), (*LIST_PARAMS, "active", "ids", "shippable", "url"))
    params.boolean("shippable")
    params.string("url")
    where: tuple[str, ...] = ()
    args: tuple[Any, ...] = ()
    ids = params.string_list("ids")
    if ids:
        where, args = ("id IN (SELECT value FROM json_each(?))",), (json.dumps(ids),)
    filters = {"active": _active(params)}
    return json_response(list_page("product", "/v1/products", params, filters=filters, where=where, where_args=args))


@bp.get("/v1/products/<product_id>")
def retrieve_product(product_id: str) -> Response:
    """Retrieve a product."""
    params = Params(request_params(), ())
    return json_response(objects.product(require("products", "product", product_id), params.expand()))


@bp.get("/v1/prices")
def list_prices() -> Response:
    """List prices (filters: product, active, currency, type)."""
    params = Params(request_params(), (*LIST_PARAMS, "active", "currency", "product", "type"))
    kind = params.string("type", choices=("one_time", "recurring"))
    filters = {
        "active": _active(params),
        "currency": params.string("currency"),
        "product": params.string("product"),
    }
    where = ("0",) if kind == "recurring" else ()  # the world sells one-time prices only
    return json_response(list_page("price", "/v1/prices", params, filters=filters, where=where))


@bp.get("/v1/prices/<price_id>")
def retrieve_price(price_id: str) -> Response:
    """Retrieve a price."""
    params = Params(request_params(), ())
    return json_response(objects.price(require("prices", "price", price_id), params.expand()))
