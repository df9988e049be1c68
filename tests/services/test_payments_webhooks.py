"""Webhook endpoints and events of the payments fake, through the real stripe SDK: an endpoint is
registered with its secret shown once, writes raise Stripe's events with their outbox rows in the
same database, and a URL that is not the agent's own loopback is refused (an SSRF attempt)."""

from __future__ import annotations

import json
import sqlite3

import pytest
import stripe

from sandbox.world import world
from tests.services.conftest import SEED

DOUBLE = world(SEED).facts["double_charge"]
HOOK = "http://127.0.0.1:9/hooks"


def outbox(served, episode) -> list[sqlite3.Row]:
    conn = sqlite3.connect(served.home.service_db(episode.id, "payments"))
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM _webhook_outbox ORDER BY id").fetchall()
    finally:
        conn.close()


def test_an_endpoint_shows_its_secret_once_and_is_the_same_for_the_same_seed(served, client):
    made = client.v1.webhook_endpoints.create({"url": HOOK, "enabled_events": ["charge.refunded"]})
    assert made.object == "webhook_endpoint" and made.id.startswith("we_")
    assert made.secret.startswith("whsec_") and len(made.secret) == 38
    assert (made.url, made.enabled_events, made.status, made.livemode) == (HOOK, ["charge.refunded"], "enabled", False)
    again = client.v1.webhook_endpoints.retrieve(made.id)
    assert "secret" not in again and again.url == HOOK
    assert [e.id for e in client.v1.webhook_endpoints.list().data] == [made.id]
    twin = served.client(served.episode()).v1.webhook_endpoints.create(
        {"url": HOOK, "enabled_events": ["charge.refunded"]})
    assert (twin.id, twin.secret) == (made.id, made.secret)  # from the seed, not from chance


def test_update_disable_and_delete_an_endpoint(served, episode, client):
    made = client.v1.webhook_endpoints.create({"url": HOOK, "enabled_events": ["*"]})
    changed = client.v1.webhook_endpoints.update(made.id, {"enabled_events": ["refund.created"], "disabled": True})
    assert (changed.enabled_events, changed.status) == (["refund.created"], "disabled")
    client.v1.refunds.create({"charge": DOUBLE["duplicate_charge"]})
    assert outbox(served, episode) == []  # a disabled endpoint is sent nothing
    gone = client.v1.webhook_endpoints.delete(made.id)
    assert gone.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.webhook_endpoints.retrieve(made.id)
    assert err.value.http_status == 404


def test_a_refund_raises_refund_created_and_charge_refunded_with_outbox_rows(served, episode, client):
    endpoint = client.v1.webhook_endpoints.create({"url": HOOK, "enabled_events": ["charge.refunded"]})
    refund = client.v1.refunds.create({"charge": DOUBLE["duplicate_charge"]}, {"idempotency_key": "refund-1"})
    events = client.v1.events.list()
    assert [e.type for e in events.data][:2] in (["charge.refunded", "refund.created"],
                                                 ["refund.created", "charge.refunded"])
    refunded = client.v1.events.list({"type": "charge.refunded"}).data
    assert len(refunded) == 1
    event = client.v1.events.retrieve(refunded[0].id)
    assert event.id.startswith("evt_") and event.object == "event" and event.livemode is False
    assert event.data.object.id == DOUBLE["duplicate_charge"] and event.data.object.refunded is True
    assert event.data.previous_attributes["amount_refunded"] == 0
    assert event.request.idempotency_key == "refund-1" and event.request.id.startswith("req_")
    assert event.pending_webhooks == 1
    created = client.v1.events.list({"type": "refund.*"}).data
    assert [e.data.object.id for e in created] == [refund.id] and created[0].pending_webhooks == 0
    rows = outbox(served, episode)
    assert [(r["event_id"], r["endpoint_id"], r["url"], r["state"]) for r in rows] == [
        (event.id, endpoint.id, HOOK, "pending")]
    assert json.loads(rows[0]["body"])["id"] == event.id


def test_customer_and_intent_writes_raise_their_events(client):
    customer = client.v1.customers.create({"email": "new@example.com"})
    client.v1.customers.update(customer.id, {"name": "New Name"})
    intent = client.v1.payment_intents.create(
        {"amount": 500, "currency": "usd", "customer": customer.id, "payment_method": "pm_card_visa", "confirm": True})
    types = [e.type for e in client.v1.events.list({"limit": 100}).data]
    for wanted in ("customer.created", "customer.updated", "payment_intent.created", "payment_intent.succeeded",
                   "charge.succeeded"):
        assert wanted in types, f"{wanted} missing from {types}"
    updated = client.v1.events.list({"type": "customer.updated"}).data[0]
    assert updated.data.previous_attributes.to_dict() == {"name": None} and updated.data.object.name == "New Name"
    assert intent.status == "succeeded"


def test_types_filter_and_bad_filters(client, http):
    client.v1.customers.create({"email": "a@example.com"})
    page = client.v1.events.list({"types": ["customer.created", "charge.refunded"]})
    assert {e.type for e in page.data} == {"customer.created"}
    answer = http("GET", "/v1/events", params={"type": "customer.created", "types[0]": "charge.refunded"})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "types"
    assert http("GET", "/v1/events/evt_nope").status_code == 404


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",       # cloud metadata
    "http://example.com/hooks",                        # the outside
    "https://127.0.0.1:8443/hooks",                    # not plain http
    "http://user:pw@127.0.0.1:9000/hooks",             # credentials
    "http://127.0.0.1.nip.io:9000/hooks",              # a name that resolves to loopback elsewhere
    "file:///etc/passwd",
    "http://0.0.0.0:9000/",
])
def test_a_url_outside_the_agents_loopback_is_refused_and_ledgered(served, episode, http, url):
    answer = http("POST", "/v1/webhook_endpoints", data={"url": url, "enabled_events[0]": "*"})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", "url", "url_invalid")
    assert "loopback" in error["message"] or "http://" in error["message"] or "credentials" in error["message"]
    ledger = served.ledger(episode)
    try:
        last = ledger.exchanges()[-1]
        assert (last["path"], last["status"]) == ("/v1/webhook_endpoints", 400)
        assert not [c for c in ledger.state_changes() if c["tbl"] == "webhook_endpoints"]
    finally:
        ledger.close()


def test_the_sandboxs_own_ports_are_refused(served, http):
    ports = {"proxy": 18080, "control": 18090, "services": {"payments": 18101}}
    served.home.ports_file.parent.mkdir(parents=True, exist_ok=True)
    served.home.ports_file.write_text(json.dumps(ports))
    try:
        for port in (18080, 18090, 18101):
            answer = http("POST", "/v1/webhook_endpoints",
                          data={"url": f"http://localhost:{port}/", "enabled_events[0]": "*"})
            assert answer.status_code == 400 and "belongs to the sandbox" in answer.json()["error"]["message"]
        assert http("POST", "/v1/webhook_endpoints",
                    data={"url": "http://localhost:18081/", "enabled_events[0]": "*"}).status_code == 200
    finally:
        served.home.ports_file.unlink()


def test_unknown_event_types_are_refused(http):
    answer = http("POST", "/v1/webhook_endpoints", data={"url": HOOK, "enabled_events[0]": "charge.refundd"})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "enabled_events[0]"


def test_the_secret_is_redacted_from_the_ledger(served, episode, client):
    made = client.v1.webhook_endpoints.create({"url": HOOK, "enabled_events": ["*"]})
    ledger = served.ledger(episode)
    try:
        text = json.dumps([ledger.exchanges(), ledger.state_changes()], default=str)
    finally:
        ledger.close()
    assert made.secret not in text and "whsec_" in text
