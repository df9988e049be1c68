"""Refunds, their effect on charges, and what the episode ledger records of them."""

from __future__ import annotations

import pytest
import stripe

from sandbox.world import world
from tests.services.conftest import SEED

W = world(SEED)
DOUBLE = W.facts["double_charge"]


def test_full_refund_of_the_duplicate_charge(client):
    refund = client.v1.refunds.create(
        {"charge": DOUBLE["duplicate_charge"], "reason": "duplicate", "metadata": {"ticket": "T-1"}}
    )
    assert refund.object == "refund" and refund.id.startswith("re_")
    assert (refund.amount, refund.currency, refund.status, refund.reason) == (
        DOUBLE["amount"],
        "usd",
        "succeeded",
        "duplicate",
    )
    assert refund.charge == DOUBLE["duplicate_charge"] and refund.metadata["ticket"] == "T-1"
    charge = client.v1.charges.retrieve(DOUBLE["duplicate_charge"])
    assert (charge.amount_refunded, charge.refunded) == (DOUBLE["amount"], True)
    assert [r.id for r in charge.refunds.data] == [refund.id]
    assert refund.payment_intent == charge.payment_intent
    # The original charge of the same order is untouched.
    original = client.v1.charges.retrieve(DOUBLE["original_charge"])
    assert (original.amount_refunded, original.refunded) == (0, False)

    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"charge": DOUBLE["duplicate_charge"]})
    assert err.value.code == "charge_already_refunded"
    assert err.value.user_message == f"Charge {DOUBLE['duplicate_charge']} has already been refunded."


def test_partial_refunds_then_the_rest(client, http):
    charge_id = DOUBLE["original_charge"]
    amount = DOUBLE["amount"]
    first = client.v1.refunds.create({"charge": charge_id, "amount": 1000})
    assert first.amount == 1000
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount_refunded, charge.refunded) == (1000, False)

    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"charge": charge_id, "amount": amount})
    assert (err.value.code, err.value.param) == ("amount_too_large", "amount")
    remaining = f"${(amount - 1000) / 100:,.2f}"
    assert err.value.user_message == (
        f"Refund amount (${amount / 100:,.2f}) is greater than unrefunded amount on charge ({remaining})"
    )
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"charge": charge_id, "amount": amount * 2})
    assert "is greater than charge amount" in err.value.user_message

    rest = client.v1.refunds.create({"charge": charge_id})  # default: what is left
    assert rest.amount == amount - 1000
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount_refunded, charge.refunded, charge.refunds.total_count) == (amount, True, 2)
    listed = client.v1.refunds.list({"charge": charge_id})
    assert [r.id for r in listed.data] == [rest.id, first.id]
    sub_list = http("GET", f"/v1/charges/{charge_id}/refunds").json()
    assert [r["id"] for r in sub_list["data"]] == [rest.id, first.id]


def test_refund_by_payment_intent_and_lookups(client):
    source = next(
        c for c in W.charges if c.status == "succeeded" and not c.refunded_amount and c.id not in DOUBLE.values()
    )
    refund = client.v1.refunds.create({"payment_intent": source.payment_intent_id, "amount": 500})
    assert (refund.charge, refund.payment_intent) == (source.id, source.payment_intent_id)
    assert client.v1.refunds.retrieve(refund.id).amount == 500
    by_intent = client.v1.refunds.list({"payment_intent": source.payment_intent_id})
    assert [r.id for r in by_intent.data] == [refund.id]
    updated = client.v1.refunds.update(refund.id, {"metadata": {"note": "goodwill"}})
    assert updated.metadata.to_dict() == {"note": "goodwill"}
    expanded = client.v1.refunds.retrieve(refund.id, {"expand": ["charge.customer"]})
    assert expanded.charge.customer.id == source.customer_id
    every = [r.id for r in client.v1.refunds.list({"limit": 1}).auto_paging_iter()]
    assert every == [refund.id, W.facts["refunded_charge"]["refund"]]


def test_refund_errors_like_stripe(client):
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"charge": "ch_doesnotexist"})
    e = err.value
    assert (e.http_status, e.code, e.param) == (400, "resource_missing", "charge")
    assert e.user_message == "No such charge: 'ch_doesnotexist'"

    failed = next(c for c in W.charges if c.status == "failed")
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"charge": failed.id})
    assert err.value.code == "charge_not_refundable"

    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"payment_intent": failed.payment_intent_id})
    assert err.value.param == "payment_intent"

    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"charge": DOUBLE["duplicate_charge"], "reason": "changed_mind"})
    assert err.value.user_message == "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer"

    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"amount": 100})
    assert err.value.code == "parameter_missing"

    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.retrieve("re_nope")
    assert err.value.http_status == 404

    # Nothing above changed a charge.
    charge = client.v1.charges.retrieve(DOUBLE["duplicate_charge"])
    assert charge.amount_refunded == 0


def test_refund_lands_in_the_ledger_linked_to_its_exchange(served, episode, client):
    refund = client.v1.refunds.create({"charge": DOUBLE["duplicate_charge"], "reason": "duplicate"})
    with served.ledger(episode) as ledger:
        changes = [c for c in ledger.state_changes() if c["service"] == "payments"]
        exchanges = ledger.exchanges()
    # Direct mode: the fake wrote the exchange itself, request and response.
    posts = [x for x in exchanges if x["method"] == "POST" and x["path"] == "/v1/refunds"]
    assert len(posts) == 1
    exchange = posts[0]
    assert (exchange["via"], exchange["service"], exchange["status"], exchange["outcome"]) == (
        "direct",
        "payments",
        200,
        "routed",
    )
    assert f"charge={DOUBLE['duplicate_charge']}".encode() in exchange["request_body"]
    assert refund.id.encode() in exchange["response_body"]
    assert dict(exchange["request_headers"])["Authorization"] == "Bearer REDACTED"  # redacted by the Ledger

    mine = [c for c in changes if c["exchange_id"] == exchange["id"]]
    assert {(c["tbl"], c["op"], c["row_key"]) for c in mine} == {
        ("refunds", "insert", refund.id),
        ("charges", "update", DOUBLE["duplicate_charge"]),
    }
    inserted = next(c for c in mine if c["tbl"] == "refunds")["after"]
    assert (inserted["charge"], inserted["amount"], inserted["reason"]) == (
        DOUBLE["duplicate_charge"],
        DOUBLE["amount"],
        "duplicate",
    )
    assert inserted["created"] == refund.created == ledger_clock(exchange)
    charge_change = next(c for c in mine if c["tbl"] == "charges")
    assert (charge_change["before"]["amount_refunded"], charge_change["after"]["amount_refunded"]) == (
        0,
        DOUBLE["amount"],
    )
    assert (charge_change["before"]["refunded"], charge_change["after"]["refunded"]) == (0, 1)
    # Reads change nothing.
    assert all(c["exchange_id"] == exchange["id"] for c in changes)


def ledger_clock(exchange: dict) -> int:
    return exchange["clock"]
