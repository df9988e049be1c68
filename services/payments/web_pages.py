"""The dashboard's pages, server-rendered and without JavaScript, on https://dashboard.stripe.com.

    GET /test/payments[?q=&page=&per_page=]   charges, newest first; search by id, customer email,
                                              amount ("42.00"), metadata value (an order id), status
    GET /test/payments/<ch_id>                a charge, its metadata and refunds, the refund form
    GET /test/customers[?q=&page=&per_page=]  customers; search by email, name or id
    GET /test/customers/<cus_id>              a customer and their payments

The refund form posts to `web_refund`. Element ids and `data-field` names are stable: the browser
oracles (sandbox/tasks/oracles/browser/stripe.py) and the UI-nuisance rules refer to them.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, g, render_template, request
from werkzeug.exceptions import HTTPException

from services.payments.errors import StripeError
from services.payments.money import ZERO_DECIMAL, format_amount
from services.payments.store import load, require
from services.payments.web_auth import actor, csrf_token
from services.payments.web_lists import BadListParameter, money_term, paged

bp = Blueprint("web_pages", __name__)
log = logging.getLogger(__name__)

REASONS = (("duplicate", "Duplicate"), ("fraudulent", "Fraudulent"), ("requested_by_customer", "Requested by customer"))


def page(template: str, code: int = 200, **context: Any) -> Response:
    html = render_template(template, actor=actor(), csrf_token=csrf_token(), notice=request.args.get("notice"),
                           money=format_amount, when=iso_time, **context)
    return Response(html, status=code, mimetype="text/html")


def _bad_list_parameter(error: BadListParameter) -> Response:
    return page("error.html", 400, status=400, message=str(error), parameter=error.name)


def _stripe_error(error: StripeError) -> Response:
    return page("error.html", error.status, status=error.status, message=error.message)


def _bug(error: Exception) -> Response:
    if isinstance(error, HTTPException):  # a body too large, a form that does not parse: say so, as a page
        return page("error.html", error.code or 400, status=error.code, message=error.description)
    log.exception("payments dashboard: unhandled error on %s %s", request.method, request.path)
    return page("error.html", 500, status=500,
                message=f"An unknown error occurred in the payments sandbox ({type(error).__name__}).")


def html_errors(blueprint: Blueprint) -> None:
    """A page's errors (no such charge, a bad ?per_page=, a bug) as dashboard pages, not the API's JSON."""
    blueprint.register_error_handler(BadListParameter, _bad_list_parameter)
    blueprint.register_error_handler(StripeError, _stripe_error)
    blueprint.register_error_handler(Exception, _bug)


html_errors(bp)


def iso_time(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def major_units(amount: int, currency: str) -> Decimal:
    return Decimal(amount) if currency in ZERO_DECIMAL else Decimal(amount) / 100


def status_of(charge: sqlite3.Row) -> str:
    """The dashboard's badge: refunded / partially_refunded / succeeded / failed."""
    if charge["refunded"]:
        return "refunded"
    if charge["amount_refunded"]:
        return "partially_refunded"
    return charge["status"]


def _customers() -> dict[str, sqlite3.Row]:
    return {r["id"]: r for r in g.db.execute("SELECT id, email, name FROM customers")}


def _charge_view(row: sqlite3.Row, customers: dict[str, sqlite3.Row]) -> dict[str, Any]:
    customer = customers.get(row["customer"] or "")
    return {"row": row, "status": status_of(row), "metadata": load(row["metadata"]) or {},
            "email": customer["email"] if customer else None, "name": customer["name"] if customer else None}


def _charge_matches(view: dict[str, Any], term: str) -> bool:
    row = view["row"]
    if term in (str(row["id"]).lower(), str(row["payment_intent"]).lower(), str(row["customer"]).lower()):
        return True
    if term in (view["status"], row["status"]) or term in (view["email"] or "").lower():
        return True
    amount = money_term(term)
    if amount is not None and amount == major_units(row["amount"], row["currency"]):
        return True
    return any(term in str(value).lower() for value in view["metadata"].values())


def _charges(where: str = "", args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    customers = _customers()
    rows = g.db.execute(f"SELECT * FROM charges {where} ORDER BY created DESC, id DESC", args).fetchall()
    return [_charge_view(r, customers) for r in rows]


@bp.get("/test/payments")
def payments() -> Response:
    return page("payments.html", listing=paged(_charges(), _charge_matches))


def refund_form_key(charge: sqlite3.Row) -> str:
    """The hidden idempotency key of a charge's refund form: the same rendered form submitted twice
    (a double click, a resubmit after signing in again) refunds once, as an SDK's retry does."""
    return f"dashboard-refund-{charge['id']}-{charge['amount_refunded']}"


def charge_page(charge_id: str, status: int = 200, form_error: str | None = None,
                form: dict[str, str] | None = None) -> Response:
    """A charge's detail page; with `form_error`, the refund form again with what was typed."""
    row = require("charges", "charge", charge_id)
    view = _charge_view(row, _customers())
    refunds = g.db.execute("SELECT * FROM refunds WHERE charge=? ORDER BY created DESC, id DESC", (charge_id,))
    remaining = row["amount"] - row["amount_refunded"]
    refundable = row["status"] == "succeeded" and remaining > 0
    places = 0 if row["currency"] in ZERO_DECIMAL else 2
    typed = form or {"amount": f"{major_units(remaining, row['currency']):.{places}f}" if refundable else ""}
    return page("payment.html", status, charge=view, refunds=[(r, load(r["metadata"]) or {}) for r in refunds],
                refundable=refundable, remaining=remaining, form=typed, form_error=form_error,
                reasons=REASONS, idempotency_key=refund_form_key(row))


@bp.get("/test/payments/<charge_id>")
def payment(charge_id: str) -> Response:
    return charge_page(charge_id)


def _customer_matches(row: sqlite3.Row, term: str) -> bool:
    return term == row["id"].lower() or term in (row["email"] or "").lower() or term in (row["name"] or "").lower()


@bp.get("/test/customers")
def customers() -> Response:
    rows = g.db.execute("SELECT * FROM customers WHERE deleted=0 ORDER BY created DESC, id DESC").fetchall()
    return page("customers.html", listing=paged(rows, _customer_matches))


@bp.get("/test/customers/<customer_id>")
def customer(customer_id: str) -> Response:
    row = require("customers", "customer", customer_id)
    return page("customer.html", customer=row, metadata=load(row["metadata"]) or {},
                charges=_charges("WHERE customer=?", (customer_id,)))
