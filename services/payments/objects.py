"""Rows -> Stripe's JSON objects, and `expand[]`.

Each renderer takes a row and the expansions asked below it (`["customer"]`, or
`["payment_intent.customer"]` for a charge). Objects carry the fields Stripe's own objects have
for this subset, with `null` where the sandbox models nothing (no Connect, no invoices); keys are
ordered like Stripe's answers: `id`, `object`, then alphabetical.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from flask import g

from sandbox.clock import stable_token
from services.payments.errors import StripeError
from services.payments.store import fetch, load

Renderer = Callable[[sqlite3.Row, list[str]], dict[str, Any]]


def _ordered(obj: dict[str, Any]) -> dict[str, Any]:
    head = {k: obj[k] for k in ("id", "object") if k in obj}
    return {**head, **{k: obj[k] for k in sorted(obj) if k not in head}}


def _address(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {k: value.get(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")}


def customer(row: sqlite3.Row, expand: list[str]) -> dict[str, Any]:
    if row["deleted"]:
        return {"id": row["id"], "object": "customer", "deleted": True}
    obj = {
        "id": row["id"],
        "object": "customer",
        "address": _address(load(row["address"])),
        "balance": row["balance"],
        "created": row["created"],
        "currency": row["currency"],
        "default_source": None,
        "delinquent": False,
        "description": row["description"],
        "discount": None,
        "email": row["email"],
        "invoice_prefix": row["invoice_prefix"],
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": row["default_payment_method"],
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": load(row["metadata"]),
        "name": row["name"],
        "next_invoice_sequence": 1,
        "phone": row["phone"],
        "preferred_locales": load(row["preferred_locales"]),
        "shipping": load(row["shipping"]),
        "tax_exempt": "none",
        "test_clock": None,
    }
    return _expand(_ordered(obj), "customer", expand)


def _card(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "brand": card["brand"],
        "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
        "country": "US",
        "exp_month": card["exp_month"],
        "exp_year": card["exp_year"],
        "fingerprint": card["fingerprint"],
        "funding": card.get("funding", "credit"),
        "last4": card["last4"],
        "networks": {"available": [card["brand"]], "preferred": None},
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
    }


def payment_method(row: sqlite3.Row, expand: list[str]) -> dict[str, Any]:
    billing = load(row["billing_details"])
    obj = {
        "id": row["id"],
        "object": "payment_method",
        "billing_details": {**billing, "address": _address(billing.get("address"))},
        "card": _card(dict(row)),
        "created": row["created"],
        "customer": row["customer"],
        "livemode": False,
        "metadata": load(row["metadata"]),
        "type": "card",
    }
    return _expand(_ordered(obj), "payment_method", expand)


def product(row: sqlite3.Row, expand: list[str]) -> dict[str, Any]:
    obj = {
        "id": row["id"],
        "object": "product",
        "active": bool(row["active"]),
        "attributes": [],
        "created": row["created"],
        "default_price": row["default_price"],
        "description": row["description"],
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": load(row["metadata"]),
        "name": row["name"],
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": row["updated"],
        "url": None,
    }
    return _expand(_ordered(obj), "product", expand)


def price(row: sqlite3.Row, expand: list[str]) -> dict[str, Any]:
    obj = {
        "id": row["id"],
        "object": "price",
        "active": bool(row["active"]),
        "billing_scheme": "per_unit",
        "created": row["created"],
        "currency": row["currency"],
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": load(row["metadata"]),
        "nickname": None,
        "product": row["product"],
        "recurring": None,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": row["unit_amount"],
        "unit_amount_decimal": str(row["unit_amount"]),
    }
    return _expand(_ordered(obj), "price", expand)


def payment_intent(row: sqlite3.Row, expand: list[str]) -> dict[str, Any]:
    obj = {
        "id": row["id"],
        "object": "payment_intent",
        "amount": row["amount"],
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": row["amount_received"],
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": row["canceled_at"],
        "cancellation_reason": row["cancellation_reason"],
        "capture_method": "automatic",
        "client_secret": row["client_secret"],
        "confirmation_method": "automatic",
        "created": row["created"],
        "currency": row["currency"],
        "customer": row["customer"],
        "description": row["description"],
        "invoice": None,
        "last_payment_error": load(row["last_payment_error"]),
        "latest_charge": row["latest_charge"],
        "livemode": False,
        "metadata": load(row["metadata"]),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": row["payment_method"],
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": row["receipt_email"],
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": row["status"],
        "transfer_data": None,
        "transfer_group": None,
    }
    return _expand(_ordered(obj), "payment_intent", expand)


def _outcome(row: sqlite3.Row) -> dict[str, Any]:
    if row["status"] == "succeeded":
        return {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": int(stable_token("risk", row["id"], length=4), 36) % 60,
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    return {
        "network_status": "declined_by_network",
        "reason": row["decline_code"],
        "risk_level": "normal",
        "seller_message": "The bank did not return any further details with this decline.",
        "type": "issuer_declined",
    }


def charge_refunds(charge_id: str) -> dict[str, Any]:
    """The `refunds` sub-list of a charge: its ten newest refunds, as Stripe embeds them."""
    rows = g.db.execute(
        "SELECT * FROM refunds WHERE charge=? ORDER BY created DESC, id DESC LIMIT 11", (charge_id,)
    ).fetchall()
    total = g.db.execute("SELECT COUNT(*) FROM refunds WHERE charge=?", (charge_id,)).fetchone()[0]
    return {
        "object": "list",
        "data": [refund(r, []) for r in rows[:10]],
        "has_more": len(rows) > 10,
        "total_count": total,
        "url": f"/v1/charges/{charge_id}/refunds",
    }


def charge(row: sqlite3.Row, expand: list[str]) -> dict[str, Any]:
    card = load(row["card"])
    billing = load(row["billing_details"])
    succeeded = row["status"] == "succeeded"
    obj = {
        "id": row["id"],
        "object": "charge",
        "amount": row["amount"],
        "amount_captured": row["amount"] if row["captured"] else 0,
        "amount_refunded": row["amount_refunded"],
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": "txn_" + stable_token("txn", row["id"], length=24) if succeeded else None,
        "billing_details": {**billing, "address": _address(billing.get("address"))},
        "calculated_statement_descriptor": "SANDBOX",
        "captured": bool(row["captured"]),
        "created": row["created"],
        "currency": row["currency"],
        "customer": row["customer"],
        "description": row["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": row["failure_code"],
        "failure_message": row["failure_message"],
        "fraud_details": {},
        "invoice": None,
        "livemode": False,
        "metadata": load(row["metadata"]),
        "on_behalf_of": None,
        "outcome": _outcome(row),
        "paid": bool(row["paid"]),
        "payment_intent": row["payment_intent"],
        "payment_method": row["payment_method"],
        "payment_method_details": {"card": _card(card), "type": "card"},
        "receipt_email": row["receipt_email"],
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{stable_token('receipt', row['id'], length=32)}",
        "refunded": bool(row["refunded"]),
        "refunds": charge_refunds(row["id"]),
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": row["status"],
        "transfer_data": None,
        "transfer_group": None,
    }
    return _expand(_ordered(obj), "charge", expand)


def refund(row: sqlite3.Row, expand: list[str]) -> dict[str, Any]:
    obj = {
        "id": row["id"],
        "object": "refund",
        "amount": row["amount"],
        "balance_transaction": "txn_" + stable_token("txn", row["id"], length=24),
        "charge": row["charge"],
        "created": row["created"],
        "currency": row["currency"],
        "destination_details": {"card": {"reference_status": "pending", "type": "refund"}, "type": "card"},
        "metadata": load(row["metadata"]),
        "payment_intent": row["payment_intent"],
        "reason": row["reason"],
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": row["status"],
        "transfer_reversal": None,
    }
    return _expand(_ordered(obj), "refund", expand)


RENDER: dict[str, tuple[str, Renderer]] = {
    "customer": ("customers", customer),
    "payment_method": ("payment_methods", payment_method),
    "product": ("products", product),
    "price": ("prices", price),
    "payment_intent": ("payment_intents", payment_intent),
    "charge": ("charges", charge),
    "refund": ("refunds", refund),
}

# kind -> {field: kind of the object the field's id names}
EXPANDABLE: dict[str, dict[str, str]] = {
    "customer": {},
    "payment_method": {"customer": "customer"},
    "product": {"default_price": "price"},
    "price": {"product": "product"},
    "payment_intent": {"customer": "customer", "latest_charge": "charge", "payment_method": "payment_method"},
    "charge": {"customer": "customer", "payment_intent": "payment_intent"},
    "refund": {"charge": "charge", "payment_intent": "payment_intent"},
}
MAX_EXPAND_DEPTH = 4


def check_expand(kind: str, paths: list[str], prefix: str = "") -> None:
    """Fail like Stripe on an expansion this object does not have, before anything is written."""
    for path in paths:
        parts = path.split(".")
        if len(parts) > MAX_EXPAND_DEPTH:
            raise StripeError(
                f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property ({prefix}{path}).",
                param="expand",
            )
        target = EXPANDABLE[kind].get(parts[0])
        if target is None:
            raise StripeError(f"This property cannot be expanded ({prefix}{path}).", param="expand")
        if len(parts) > 1:
            check_expand(target, [".".join(parts[1:])], prefix=f"{prefix}{parts[0]}.")


def _expand(obj: dict[str, Any], kind: str, paths: list[str]) -> dict[str, Any]:
    if not paths:
        return obj
    check_expand(kind, paths)
    groups: dict[str, list[str]] = {}
    for path in paths:
        head, _, rest = path.partition(".")
        groups.setdefault(head, [])
        if rest:
            groups[head].append(rest)
    for field, below in groups.items():
        target = EXPANDABLE[kind][field]
        if isinstance(obj.get(field), str):
            table, render = RENDER[target]
            row = fetch(table, obj[field])
            if row is not None:
                obj[field] = render(row, below)
    return obj
