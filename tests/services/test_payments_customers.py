"""Customers through the official stripe SDK: CRUD, filters, search, pagination helpers."""

from __future__ import annotations

import pytest
import stripe

from sandbox.world import world
from tests.services.conftest import SEED

W = world(SEED)


def test_retrieve_world_customer_is_stripe_shaped(client):
    person = W.customers[3]
    customer = client.v1.customers.retrieve(person.id)
    assert customer.object == "customer"
    assert customer.id == person.id
    assert (customer.name, customer.email, customer.phone) == (person.name, person.email, person.phone)
    assert customer.address.line1 == person.address.line1
    assert customer.address.postal_code == person.address.postal_code
    assert customer.livemode is False
    assert customer.created == person.created
    assert customer.metadata.to_dict() == {}
    default_pm = customer.invoice_settings.default_payment_method
    card = client.v1.payment_methods.retrieve(default_pm)
    assert (card.customer, card.card.last4, card.card.brand) == (person.id, person.card.last4, person.card.brand)
    assert card.billing_details.name == person.name
    assert [p.id for p in client.v1.payment_methods.list({"customer": person.id}).data] == [default_pm]
    assert [p.id for p in client.v1.customers.payment_methods.list(person.id).data] == [default_pm]


def test_create_update_delete_roundtrip(client):
    created = client.v1.customers.create(
        {
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "address": {"line1": "12 St James's Square", "city": "London", "country": "GB"},
            "metadata": {"crm_id": "42", "tier": "gold"},
            "preferred_locales": ["en", "fr"],
        }
    )
    assert created.id.startswith("cus_") and len(created.id) == len("cus_") + 14
    assert created.address.to_dict() == {
        "city": "London",
        "country": "GB",
        "line1": "12 St James's Square",
        "line2": None,
        "postal_code": None,
        "state": None,
    }
    assert created.preferred_locales == ["en", "fr"]

    # Metadata merges; an empty value deletes one key; `description=""` unsets.
    updated = client.v1.customers.update(
        created.id, {"metadata": {"tier": "", "region": "eu"}, "description": "VIP", "phone": "+4420"}
    )
    assert updated.metadata.to_dict() == {"crm_id": "42", "region": "eu"}
    assert (updated.description, updated.phone, updated.email) == ("VIP", "+4420", "ada@example.com")
    assert client.v1.customers.update(created.id, {"description": ""}).description is None

    deleted = client.v1.customers.delete(created.id)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    # Stripe still answers a retrieve of a deleted customer, with the stub.
    stub = client.v1.customers.retrieve(created.id)
    assert stub.deleted is True and "email" not in stub.to_dict()
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.update(created.id, {"name": "ghost"})
    assert err.value.http_status == 404 and err.value.code == "resource_missing"
    assert created.id not in [c.id for c in client.v1.customers.list({"limit": 100}).auto_paging_iter()]


def test_list_filters_by_email_exactly(client):
    person = W.customers[5]
    page = client.v1.customers.list({"email": person.email})
    assert [c.id for c in page.data] == [person.id]
    assert page.url == "/v1/customers" and page.has_more is False
    assert client.v1.customers.list({"email": person.email.upper()}).data == []


def test_auto_paging_iter_returns_every_customer_exactly_once(client):
    extra = [client.v1.customers.create({"name": f"New {i}"}).id for i in range(3)]
    seen = [c.id for c in client.v1.customers.list({"limit": 7}).auto_paging_iter()]
    assert len(seen) == len(set(seen)) == len(W.customers) + 3
    assert set(seen) == {c.id for c in W.customers} | set(extra)
    # Newest first: the three just made (same episode clock second or later) lead.
    assert seen[:3] == list(reversed(extra))


def test_pagination_cursors_both_ways(client):
    everything = [c.id for c in client.v1.customers.list({"limit": 100}).data]
    first = client.v1.customers.list({"limit": 5})
    assert [c.id for c in first.data] == everything[:5] and first.has_more
    second = client.v1.customers.list({"limit": 5, "starting_after": first.data[-1].id})
    assert [c.id for c in second.data] == everything[5:10]
    back = client.v1.customers.list({"limit": 3, "ending_before": second.data[0].id})
    assert [c.id for c in back.data] == everything[2:5] and back.has_more
    last = client.v1.customers.list({"limit": 100, "starting_after": everything[-2]})
    assert [c.id for c in last.data] == everything[-1:] and last.has_more is False


def test_pagination_errors(client):
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.list({"starting_after": "cus_doesnotexist"})
    assert err.value.code == "resource_missing" and err.value.param == "starting_after"
    assert "No such customer: 'cus_doesnotexist'" in str(err.value)
    for bad in (0, 101):
        with pytest.raises(stripe.InvalidRequestError) as err:
            client.v1.customers.list({"limit": bad})
        assert err.value.param == "limit"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.list({"starting_after": W.customers[0].id, "ending_before": W.customers[1].id})
    assert err.value.code == "parameters_exclusive"


def test_created_filter(client):
    cutoff = sorted(c.created for c in W.customers)[20]
    page = client.v1.customers.list({"created": {"gte": cutoff}, "limit": 100})
    assert {c.id for c in page.data} == {c.id for c in W.customers if c.created >= cutoff}


def test_search(client):
    namesake = W.facts["namesake"]
    found = client.v1.customers.search({"query": f"name:'{namesake['name']}'"})
    assert found.object == "search_result"
    assert sorted(c.id for c in found.data) == sorted(namesake["customers"])
    person = W.customers[9]
    by_email = client.v1.customers.search({"query": f'email:"{person.email}"'})
    assert [c.id for c in by_email.data] == [person.id]
    client.v1.customers.create({"name": "Tagged", "metadata": {"segment": "beta"}})
    tagged = client.v1.customers.search({"query": "metadata['segment']:'beta'"})
    assert [c.name for c in tagged.data] == ["Tagged"]
    everyone = list(client.v1.customers.search({"query": "created>0", "limit": 15}).auto_paging_iter())
    assert len({c.id for c in everyone}) == len(W.customers) + 1
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.search({"query": "favourite_colour:'blue'"})
    assert err.value.param == "query" and "unsupported search field" in str(err.value)


def test_customer_validation(client):
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.create({"email": "not-an-email"})
    assert (err.value.code, err.value.param) == ("email_invalid", "email")
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.create({"address": {"line1": "x", "planet": "Mars"}})
    assert (err.value.code, err.value.param) == ("parameter_unknown", "address[planet]")
    assert str(err.value).endswith("Received unknown parameter: address[planet]")
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.retrieve("cus_nope")
    assert err.value.http_status == 404
    assert err.value.json_body["error"]["message"] == "No such customer: 'cus_nope'"


def test_global_api_base_style(served, episode):
    """The older module-level style (`stripe.api_key`, `stripe.api_base`) works too."""
    saved = stripe.api_key, stripe.api_base, stripe.max_network_retries
    stripe.api_key, stripe.api_base, stripe.max_network_retries = episode.api_keys["payments"], served.url, 0
    try:
        customer = stripe.Customer.retrieve(W.customers[0].id)
        assert customer.name == W.customers[0].name
        assert len(stripe.Customer.list(limit=2).data) == 2
    finally:
        stripe.api_key, stripe.api_base, stripe.max_network_retries = saved


def test_new_customer_with_a_test_card_can_be_charged(client):
    customer = client.v1.customers.create({"email": "card@example.com", "payment_method": "pm_card_amex"})
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.charges.create({"amount": 1000, "currency": "usd", "customer": customer.id})
    assert err.value.user_message == "Cannot charge a customer that has no active card"
    (card,) = client.v1.customers.payment_methods.list(customer.id).data
    assert (card.card.brand, card.card.last4, card.customer) == ("amex", "8431", customer.id)
    customer = client.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": card.id}})
    assert customer.invoice_settings.default_payment_method == card.id
    charge = client.v1.charges.create({"amount": 1000, "currency": "usd", "customer": customer.id})
    assert (charge.payment_method, charge.status) == (card.id, "succeeded")
    stranger = W.customers[0]
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.update(stranger.id, {"invoice_settings": {"default_payment_method": card.id}})
    assert err.value.param == "invoice_settings[default_payment_method]"
