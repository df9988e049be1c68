"""The dashboard's refund form: `POST /test/payments/<ch_id>/refund`.

It runs the refund through `idempotency.write` and `refunds.create_refund`, the code `POST /v1/refunds`
runs, so the rows, the events (and their webhook outbox rows) and the ledger entries are the ones an
API refund makes. The form's hidden idempotency key makes a resubmitted form replay, not refund twice.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

from flask import Blueprint, Response, redirect, request

from services.payments.errors import StripeError
from services.payments.idempotency import write
from services.payments.money import ZERO_DECIMAL, format_amount
from services.payments.refunds import REASONS, create_refund
from services.payments.store import require
from services.payments.web_pages import charge_page, html_errors

bp = Blueprint("web_refund", __name__)
html_errors(bp)

MAX_METADATA_LINES = 20


class FormError(ValueError):
    """A field of the refund form the dashboard cannot use; shown in #form-error."""


def minor_units(text: str, currency: str) -> int:
    """"12.50" (dollars) -> 1250 (cents); "500" yen -> 500."""
    try:
        value = Decimal(text.replace(",", "").lstrip("$€£¥₩").strip())
    except InvalidOperation:
        raise FormError(f"Amount {text!r} is not a number: enter it like 12.50.") from None
    units = value if currency in ZERO_DECIMAL else value * 100
    if units != units.to_integral_value() or units <= 0:
        raise FormError(f"Amount {text!r} must be positive with at most"
                        f" {0 if currency in ZERO_DECIMAL else 2} decimals.")
    return int(units)


def metadata_lines(text: str) -> dict[str, str]:
    """`order_id=ORD-1001` lines -> {"order_id": "ORD-1001"}."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_METADATA_LINES:
        raise FormError(f"Metadata has {len(lines)} lines; at most {MAX_METADATA_LINES}.")
    pairs = {}
    for number, line in enumerate(lines, 1):
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise FormError(f"Metadata line {number} ({line[:40]!r}) is not key=value.")
        pairs[key.strip()] = value.strip()
    return pairs


def _refund_params(charge_id: str, currency: str) -> dict[str, object]:
    form = request.form
    data: dict[str, object] = {"charge": charge_id}
    if form.get("amount", "").strip():
        data["amount"] = str(minor_units(form["amount"].strip(), currency))
    reason = form.get("reason", "").strip()
    if reason and reason not in REASONS:
        raise FormError(f"Reason {reason[:40]!r} is not one of {', '.join(REASONS)}.")
    if reason:
        data["reason"] = reason
    metadata = metadata_lines(form.get("metadata", ""))
    if metadata:
        data["metadata"] = metadata
    return data


@bp.get("/test/payments/<charge_id>/refund")
def refund_form(charge_id: str) -> Response:
    """The form's own URL, fetched: after signing in again mid-form (`next` is where the POST went),
    the browser lands back on the charge page and its refund form."""
    return redirect(f"/test/payments/{quote(charge_id)}", code=303)


@bp.post("/test/payments/<charge_id>/refund")
def refund(charge_id: str) -> Response:
    """Refund a charge in full or in part, with a reason and optional metadata."""
    charge = require("charges", "charge", charge_id)
    typed = {name: request.form.get(name, "") for name in ("amount", "reason", "metadata")}
    try:
        data = _refund_params(charge_id, charge["currency"])
        answer = write(lambda _params: create_refund(data), request.form.get("idempotency_key") or None)
    except FormError as error:
        return charge_page(charge_id, 400, str(error), typed)
    except StripeError as error:
        return charge_page(charge_id, 402 if error.status == 402 else 400, error.message, typed)
    made = json.loads(answer.get_data())
    if answer.status_code != 200:  # a replayed failure: say what the API said
        return charge_page(charge_id, 400, made.get("error", {}).get("message", "The refund failed."), typed)
    done = f"Refunded {format_amount(made['amount'], made['currency'])} ({made['id']})"
    if answer.headers.get("Idempotent-Replayed"):
        done += ": this form was already submitted, nothing more was refunded"
    return redirect(f"/test/payments/{charge_id}?notice={quote(done)}", code=303)
