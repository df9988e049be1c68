"""The payments world of a seed: the template rows every episode of that seed starts from.

Only the world's data goes in (customers and their cards, products and prices, charges with
their payment intents, refunds); anything an agent creates later gets ids from `store.new_id`.
"""

from __future__ import annotations

import sqlite3
from importlib import resources

from sandbox.clock import stable_id, stable_token
from sandbox.world import Charge, Customer, World
from services.payments.store import DECLINE_MESSAGES, client_secret, dump


def schema_statements() -> list[str]:
    # One statement at a time: `executescript` would commit the builder's open transaction.
    text = resources.files(__package__).joinpath("schema.sql").read_text()
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def card_id(world: World, customer: Customer) -> str:
    return stable_id("pm", world.seed, "card", customer.index, length=24)


def _address(customer: Customer) -> dict[str, str | None]:
    a = customer.address
    return {
        "city": a.city,
        "country": a.country,
        "line1": a.line1,
        "line2": None,
        "postal_code": a.postal_code,
        "state": a.state,
    }


def _billing(customer: Customer) -> dict[str, object]:
    return {"address": _address(customer), "email": customer.email, "name": customer.name, "phone": customer.phone}


def build_template(conn: sqlite3.Connection, world: World) -> None:
    """Create the tables and insert the world of `world.seed` (inside the caller's transaction)."""
    for statement in schema_statements():
        conn.execute(statement)
    customers = {c.id: c for c in world.customers}
    for c in world.customers:
        conn.execute(
            "INSERT INTO customers (id, name, email, phone, address, invoice_prefix, default_payment_method,"
            " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                c.id,
                c.name,
                c.email,
                c.phone,
                dump(_address(c)),
                stable_token("invoice_prefix", c.id, length=8).upper(),
                card_id(world, c),
                c.created,
            ),
        )
        conn.execute(
            "INSERT INTO payment_methods (id, customer, brand, last4, exp_month, exp_year, fingerprint,"
            " billing_details, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                card_id(world, c),
                c.id,
                c.card.brand,
                c.card.last4,
                c.card.exp_month,
                c.card.exp_year,
                c.card.fingerprint,
                dump(_billing(c)),
                c.created,
            ),
        )
    for p in world.products:
        price = stable_id("price", world.seed, p.index, length=24)
        conn.execute(
            "INSERT INTO products (id, name, description, default_price, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
            (p.id, p.name, p.description, price, p.created, p.created),
        )
        conn.execute(
            "INSERT INTO prices (id, product, unit_amount, currency, created) VALUES (?, ?, ?, 'usd', ?)",
            (price, p.id, p.unit_amount, p.created),
        )
    for ch in world.charges:
        customer = customers[ch.customer_id]
        _insert_charge(conn, world, ch, customer)
    charge_intents = {ch.id: ch.payment_intent_id for ch in world.charges}
    for r in world.refunds:
        charge = next(ch for ch in world.charges if ch.id == r.charge_id)
        conn.execute(
            "INSERT INTO refunds (id, charge, payment_intent, amount, currency, reason, status, created)"
            " VALUES (?, ?, ?, ?, ?, ?, 'succeeded', ?)",
            (r.id, r.charge_id, charge_intents[r.charge_id], r.amount, charge.currency, r.reason, r.created),
        )


def _insert_charge(conn: sqlite3.Connection, world: World, ch: Charge, customer: Customer) -> None:
    ok = ch.status == "succeeded"
    failure_code, failure_message = (None, None) if ok else DECLINE_MESSAGES["generic_decline"]
    metadata = dump({"order_id": ch.order_id})
    pm = card_id(world, customer)
    last_error = None
    if not ok:
        last_error = dump(
            {
                "charge": ch.id,
                "code": failure_code,
                "decline_code": "generic_decline",
                "message": failure_message,
                "type": "card_error",
            }
        )
    conn.execute(
        "INSERT INTO payment_intents (id, amount, amount_received, currency, customer, description, status,"
        " payment_method, latest_charge, last_payment_error, receipt_email, client_secret, metadata, created)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ch.payment_intent_id,
            ch.amount,
            ch.amount if ok else 0,
            ch.currency,
            customer.id,
            ch.description,
            "succeeded" if ok else "requires_payment_method",
            pm if ok else None,
            ch.id,
            last_error,
            customer.email,
            client_secret(ch.payment_intent_id),
            metadata,
            ch.created,
        ),
    )
    card = {
        "brand": customer.card.brand,
        "exp_month": customer.card.exp_month,
        "exp_year": customer.card.exp_year,
        "fingerprint": customer.card.fingerprint,
        "funding": "credit",
        "last4": customer.card.last4,
    }
    conn.execute(
        "INSERT INTO charges (id, amount, amount_refunded, refunded, currency, customer, payment_intent,"
        " payment_method, description, status, paid, captured, failure_code, failure_message, decline_code,"
        " card, billing_details, receipt_email, metadata, created)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ch.id,
            ch.amount,
            ch.refunded_amount,
            int(ch.refunded_amount >= ch.amount),
            ch.currency,
            customer.id,
            ch.payment_intent_id,
            pm,
            ch.description,
            ch.status,
            int(ok),
            int(ok),
            failure_code,
            failure_message,
            None if ok else "generic_decline",
            dump(card),
            dump(_billing(customer)),
            customer.email,
            metadata,
            ch.created,
        ),
    )
