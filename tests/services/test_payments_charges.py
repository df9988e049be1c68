"""Charges and PaymentIntents through the official stripe SDK."""

from __future__ import annotations

import pytest
import stripe

from sandbox.world import world
from tests.services.conftest import SEED

W = world(SEED)
DOUBLE = W.facts["double_charge"]


def test_world_charge_is_stripe_shaped(client):
    charge = client.v1.charges.retrieve(DOUBLE["duplicate_charge"])
    source = next(c for c in W.charges if c.id == DOUBLE["duplicate_charge"])
    person = W.customer(source.customer_id)
    assert charge.object == "charge" and charge.livemode is False
    assert (charge.amount, charge.currency, charge.customer) == (DOUBLE["amount"], "usd", DOUBLE["customer"])
    assert (charge.status, charge.paid, charge.captured, charge.refunded) == ("succeeded", True, True, False)
    assert charge.amount_refunded == 0 and charge.amount_captured == charge.amount
    assert charge.metadata["order_id"] == DOUBLE["order_id"]
    assert charge.payment_intent == source.payment_intent_id
    card = charge.payment_method_details.card
    assert (card.brand, card.last4, card.exp_month, card.exp_year, card.fingerprint) == (
        person.card.brand,
        person.card.last4,
        person.card.exp_month,
        person.card.exp_year,
        person.card.fingerprint,
    )
    assert charge.payment_method_details.type == "card"
    assert charge.billing_details.name == person.name and charge.billing_details.email == person.email
    assert charge.refunds.object == "list" and charge.refunds.data == []
    assert charge.refunds.url == f"/v1/charges/{charge.id}/refunds"


def test_world_failed_and_refunded_charges(client):
    failed = next(c for c in W.charges if c.status == "failed")
    charge = client.v1.charges.retrieve(failed.id)
    assert (charge.status, charge.paid, charge.failure_code) == ("failed", False, "card_declined")
    assert charge.outcome.type == "issuer_declined"
    intent = client.v1.payment_intents.retrieve(failed.payment_intent_id)
    assert intent.status == "requires_payment_method" and intent.last_payment_error.code == "card_declined"

    refunded = client.v1.charges.retrieve(W.facts["refunded_charge"]["charge"])
    assert refunded.refunded is True and refunded.amount_refunded == refunded.amount
    assert [r.id for r in refunded.refunds.data] == [W.facts["refunded_charge"]["refund"]]


def test_list_charges_filters(client):
    mine = client.v1.charges.list({"customer": DOUBLE["customer"], "limit": 100})
    expected = {c.id for c in W.charges if c.customer_id == DOUBLE["customer"]}
    assert {c.id for c in mine.data} == expected
    assert {DOUBLE["original_charge"], DOUBLE["duplicate_charge"]} <= expected
    source = W.charges[4]
    by_intent = client.v1.charges.list({"payment_intent": source.payment_intent_id})
    assert [c.id for c in by_intent.data] == [source.id]
    every = [c.id for c in client.v1.charges.list({"limit": 30}).auto_paging_iter()]
    assert len(every) == len(set(every)) == len(W.charges)


def test_search_charges_by_order_id(client):
    found = client.v1.charges.search({"query": f"metadata['order_id']:'{DOUBLE['order_id']}'"})
    assert {c.id for c in found.data} == {DOUBLE["original_charge"], DOUBLE["duplicate_charge"]}
    both = client.v1.charges.search(
        {"query": f"customer:'{DOUBLE['customer']}' AND amount>={DOUBLE['amount']} AND status:'succeeded'"}
    )
    assert {DOUBLE["original_charge"], DOUBLE["duplicate_charge"]} <= {c.id for c in both.data}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.search({"query": "amount>10 AND status:'x' OR refunded:'true'"})


def test_create_charge_with_token_and_with_customer_default_card(client):
    charge = client.v1.charges.create(
        {"amount": 2500, "currency": "usd", "source": "tok_mastercard", "metadata": {"order_id": "ORD-NEW"}}
    )
    assert charge.id.startswith("ch_") and charge.status == "succeeded" and charge.paid
    assert charge.payment_method_details.card.brand == "mastercard"
    assert charge.payment_method_details.card.last4 == "4444"
    assert charge.payment_intent is None and charge.metadata["order_id"] == "ORD-NEW"

    person = W.customers[2]
    on_file = client.v1.charges.create({"amount": 1900, "currency": "usd", "customer": person.id})
    assert on_file.payment_method_details.card.last4 == person.card.last4
    assert on_file.customer == person.id

    updated = client.v1.charges.update(on_file.id, {"description": "manual", "metadata": {"k": "v"}})
    assert (updated.description, updated.metadata.to_dict()) == ("manual", {"k": "v"})

    expanded = client.v1.charges.retrieve(on_file.id, {"expand": ["customer"]})
    assert expanded.customer.id == person.id and expanded.customer.email == person.email


def test_declined_charge_is_a_card_error_and_a_failed_charge(client):
    with pytest.raises(stripe.CardError) as err:
        client.v1.charges.create({"amount": 2500, "currency": "usd", "source": "tok_chargeDeclined"})
    assert err.value.http_status == 402 and err.value.code == "card_declined"
    charge = client.v1.charges.retrieve(err.value.error.charge)
    assert charge.status == "failed" and charge.paid is False


def test_charge_validation(client):
    cases = [
        ({"currency": "usd", "source": "tok_visa"}, "parameter_missing", "amount"),
        ({"amount": "abc", "currency": "usd", "source": "tok_visa"}, "parameter_invalid_integer", "amount"),
        ({"amount": 10, "currency": "usd", "source": "tok_visa"}, "amount_too_small", "amount"),
        ({"amount": 500, "currency": "usd", "customer": "cus_nope"}, "resource_missing", "customer"),
        ({"amount": 500, "currency": "usd", "foo": "bar"}, "parameter_unknown", "foo"),
    ]
    for params, code, param in cases:
        with pytest.raises(stripe.InvalidRequestError) as err:
            client.v1.charges.create(params)
        assert (err.value.code, err.value.param) == (code, param), params
        assert err.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.charges.create({"amount": 500, "currency": "xyz", "source": "tok_visa"})
    assert err.value.param == "currency" and "Invalid currency: xyz" in str(err.value)


def test_payment_intent_lifecycle(client):
    person = W.customers[1]
    intent = client.v1.payment_intents.create(
        {"amount": 4900, "currency": "usd", "customer": person.id, "metadata": {"order_id": "ORD-9"}}
    )
    assert (intent.status, intent.customer, intent.latest_charge) == ("requires_payment_method", person.id, None)
    assert intent.client_secret.startswith(intent.id + "_secret_")
    card = client.v1.customers.retrieve(person.id).invoice_settings.default_payment_method
    intent = client.v1.payment_intents.update(intent.id, {"payment_method": card, "description": "kit"})
    assert intent.status == "requires_confirmation"
    intent = client.v1.payment_intents.confirm(intent.id)
    assert (intent.status, intent.amount_received) == ("succeeded", 4900)
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.payment_intent, charge.amount, charge.customer) == (intent.id, 4900, person.id)
    assert charge.payment_method_details.card.last4 == person.card.last4

    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.payment_intents.cancel(intent.id)
    assert err.value.code == "payment_intent_unexpected_state"
    assert "status of succeeded" in str(err.value)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.payment_intents.update(intent.id, {"amount": 100})
    assert (err.value.code, err.value.param) == ("payment_intent_unexpected_state", "amount")

    listed = client.v1.payment_intents.list({"customer": person.id, "limit": 100})
    assert intent.id in [i.id for i in listed.data]
    assert all(i.customer == person.id for i in listed.data)
    found = client.v1.payment_intents.search({"query": "metadata['order_id']:'ORD-9'"})
    assert [i.id for i in found.data] == [intent.id]


def test_payment_intent_confirm_at_create_and_decline(client):
    paid = client.v1.payment_intents.create(
        {"amount": 1500, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True}
    )
    assert paid.status == "succeeded" and paid.latest_charge.startswith("ch_")
    expanded = client.v1.payment_intents.retrieve(paid.id, {"expand": ["latest_charge", "payment_method"]})
    assert expanded.latest_charge.amount == 1500 and expanded.payment_method.card.last4 == "4242"

    with pytest.raises(stripe.CardError) as err:
        client.v1.payment_intents.create(
            {
                "amount": 1500,
                "currency": "usd",
                "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
                "confirm": True,
            }
        )
    assert err.value.error.decline_code == "insufficient_funds"
    declined = err.value.error.payment_intent
    assert declined.status == "requires_payment_method"
    assert declined.last_payment_error.decline_code == "insufficient_funds"
    retried = client.v1.payment_intents.confirm(declined.id, {"payment_method": "pm_card_amex"})
    assert retried.status == "succeeded"
    charges = client.v1.charges.list({"payment_intent": declined.id}).data
    assert sorted(c.status for c in charges) == ["failed", "succeeded"]


def test_payment_intent_cancel_and_confirm_without_card(client):
    intent = client.v1.payment_intents.create({"amount": 700, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.payment_intents.confirm(intent.id)
    assert "missing a payment method" in str(err.value)
    canceled = client.v1.payment_intents.cancel(intent.id, {"cancellation_reason": "abandoned"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
    assert canceled.canceled_at is not None
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.payment_intents.create({"amount": 700})
    assert (err.value.code, err.value.param) == ("parameter_missing", "currency")
