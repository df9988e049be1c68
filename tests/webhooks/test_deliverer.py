"""The deliverer against a real payments fake and a real endpoint: signed events the stripe SDK
verifies, Stripe's retries, faults from a profile's `via: webhook` rules (duplicate, out of order,
dropped), every attempt in the ledger, nothing lost when the deliverer dies, the same deliveries for
the same seed."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import stripe

from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.faults.notes import fault_notes
from sandbox.home import Home
from sandbox.webhooks.deliverer import Deliverer
from sandbox.webhooks.outbox import delivered_events, deliveries
from sandbox.world import world
from tests.services.conftest import SEED, serve_app
from tests.webhooks.receiver import Receiver, receiver

DOUBLE = world(SEED).facts["double_charge"]
PROFILE = """
name: test-webhooks
seed: 1
description: the first delivery twice, the second held back, the fourth dropped.
rules:
  - name: twice
    match: {via: webhook, nth: 1}
    action: {kind: duplicate, copies: 1}
  - name: later
    match: {via: webhook, nth: 2}
    action: {kind: reorder}
  - name: dropped
    match: {via: webhook, nth: 4}
    action: {kind: reset}
"""


class World:
    def __init__(self, home: Home, store: EpisodeStore, url: str, profile: Path) -> None:
        self.home, self.store, self.url, self.profile = home, store, url, profile

    def client(self, episode: Episode) -> stripe.StripeClient:
        return stripe.StripeClient(episode.api_keys["payments"], base_addresses={"api": self.url},
                                   max_network_retries=0)

    def deliverer(self, **options) -> Deliverer:
        options.setdefault("retry_scale", 0.02)
        options.setdefault("hold_max_s", 0.3)
        options.setdefault("poll_s", 0.01)
        return Deliverer(self.home, **options)

    def deliveries(self, episode: Episode) -> list[dict]:
        with self.store.ledger(episode.id) as ledger:
            return deliveries(ledger)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from services.payments import create_app

    root = tmp_path_factory.mktemp("webhooks")
    home = Home.resolve(root / "home")
    store = EpisodeStore(home)
    store.prepare(SEED)
    profile = root / "test-webhooks.yaml"
    profile.write_text(PROFILE)
    url, stop = serve_app(create_app({"home": home}))
    try:
        yield World(home, store, url, profile)
    finally:
        stop()
        store.close()


def until(deliverer: Deliverer, done: Callable[[], bool], timeout: float = 10.0) -> None:
    """Run delivery rounds until `done()` (or fail saying so)."""
    end = time.monotonic() + timeout
    while not done():
        if time.monotonic() > end:
            raise AssertionError("the deliveries did not arrive in time")
        deliverer.run_once()
        time.sleep(0.01)


def register(client: stripe.StripeClient, hook: Receiver, events: list[str]) -> None:
    made = client.v1.webhook_endpoints.create({"url": hook.url, "enabled_events": events})
    hook.secret = made.secret


def test_a_refund_arrives_signed_and_the_stripe_sdk_verifies_it(env):
    episode = env.store.create(seed=SEED)
    client = env.client(episode)
    deliverer = env.deliverer()
    try:
        with receiver() as hook:
            register(client, hook, ["charge.refunded"])
            client.v1.refunds.create({"charge": DOUBLE["duplicate_charge"]})
            until(deliverer, lambda: hook.got)
            deliverer.run_once()
        [got] = hook.got
        assert got.error is None and got.event_type == "charge.refunded" and got.path == "/hooks"
        assert got.headers["Content-Type"] == "application/json; charset=utf-8"
        assert got.headers["User-Agent"].startswith("Stripe/1.0")
        event = client.v1.events.retrieve(got.event_id)
        assert event.data.object.id == DOUBLE["duplicate_charge"]
        [row] = env.deliveries(episode)
        assert (row["via"], row["direction"], row["outcome"], row["status"], row["attempt"], row["copy"]) == (
            "webhook", "inbound", "delivered", 200, 1, 0)
        assert row["event_id"] == got.event_id and row["clock"] == event.created
        assert b'"received": true' in row["response_body"]
    finally:
        deliverer.stop()


def test_a_wrong_secret_fails_verification(env):
    """The check above can fail: a receiver holding another secret rejects the same delivery."""
    episode = env.store.create(seed=SEED)
    client = env.client(episode)
    deliverer = env.deliverer()
    try:
        with receiver() as hook:
            register(client, hook, ["*"])
            hook.secret = "whsec_" + "0" * 32
            client.v1.customers.create({"email": "x@example.com"})
            until(deliverer, lambda: hook.got)
        assert hook.got[0].event_id is None and "SignatureVerificationError" in hook.got[0].error
    finally:
        deliverer.stop()


def test_a_failing_endpoint_is_retried_then_given_up(env):
    episode = env.store.create(seed=SEED)
    client = env.client(episode)
    deliverer = env.deliverer()
    try:
        with receiver() as hook:
            register(client, hook, ["customer.created"])
            hook.answers = [500, 503]
            client.v1.customers.create({"email": "retry@example.com"})
            until(deliverer, lambda: len(hook.got) == 3)
            assert [(r["attempt"], r["status"], r["outcome"]) for r in env.deliveries(episode)] == [
                (1, 500, "failed"), (2, 503, "failed"), (3, 200, "delivered")]
            hook.answers = [500] * 10
            client.v1.customers.create({"email": "never@example.com"})
            until(deliverer, lambda: len(hook.got) == 7)  # the first try and three retries
            time.sleep(0.3)
            deliverer.run_once()
            assert len(hook.got) == 7
        conn = sqlite3.connect(env.home.service_db(episode.id, "payments"))
        states = conn.execute("SELECT state, attempts FROM _webhook_outbox ORDER BY id").fetchall()
        conn.close()
        assert states == [("delivered", 3), ("failed", 4)]
    finally:
        deliverer.stop()


def _chaos_run(env: World) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """An episode under the test profile: a refund (refund.created, charge.refunded) and two customer
    changes; returns (what arrived, the ledger's deliveries, the ledger's webhook faults)."""
    episode = env.store.create(seed=SEED, faults=str(env.profile))
    client = env.client(episode)
    deliverer = env.deliverer()
    try:
        with receiver() as hook:
            register(client, hook, ["*"])
            client.v1.refunds.create({"charge": DOUBLE["duplicate_charge"]})
            customer = client.v1.customers.create({"email": "chaos@example.com"})
            client.v1.customers.update(customer.id, {"name": "Chaos"})
            until(deliverer, lambda: len([r for r in env.deliveries(episode) if r["outcome"] == "delivered"]) == 5)
            arrived = hook.verified()
        rows = [(r["event_type"], r["attempt"], r["copy"], r["outcome"], tuple(r["faults"]))
                for r in env.deliveries(episode)]
        with env.store.ledger(episode.id) as ledger:
            faults = [(f["rule"], f["action"]) for f in ledger.faults()]
            notes = fault_notes(ledger.faults(), ledger.exchanges())
            exchanges = ledger.exchanges()
        assert f"fault: a duplicated delivery (1 more) hit the webhook delivery of refund.created to {hook.url}" \
               f" [rule 'twice']" in notes
        assert all(e["status"] == 200 for e in exchanges)  # the agent's own calls met no webhook rule
        assert all(f[0] != "agent" for f in faults)
        return arrived, rows, faults
    finally:
        deliverer.stop()


def test_duplicates_out_of_order_and_drops_are_in_the_ledger_and_the_same_for_the_same_seed(env):
    arrived, rows, faults = _chaos_run(env)
    types = [t for t, _ in arrived]
    # Raised in this order: refund.created, charge.refunded, customer.created, customer.updated.
    # Delivery 1 twice; delivery 2 held until delivery 3 went; delivery 4 dropped, then retried.
    assert types[:2] == ["refund.created", "refund.created"] and arrived[0] == arrived[1]  # the same event twice
    assert types.index("customer.created") < types.index("charge.refunded")  # out of order
    assert rows[0][2:] == (0, "delivered", ("twice",)) and rows[1][2] == 1
    dropped = [r for r in rows if r[3] == "faulted"]
    assert len(dropped) == 1 and dropped[0][4] == ("dropped",)
    assert any(r[0] == dropped[0][0] and r[1] == 2 and r[3] == "delivered" for r in rows)  # Stripe's retry
    assert ("twice", "duplicate") in faults and ("later", "reorder") in faults and ("dropped", "reset") in faults
    again = _chaos_run(env)
    assert again == (arrived, rows, faults)


def test_pending_deliveries_survive_a_dead_deliverer(env):
    """The outbox is durable: events raised while no deliverer runs (or after one died mid-way) are
    sent by the next one, and the fault counters resume where the ledger says they were."""
    episode = env.store.create(seed=SEED, faults=str(env.profile))
    client = env.client(episode)
    with receiver() as hook:
        register(client, hook, ["customer.created", "customer.updated"])
        first = env.deliverer()
        customer = client.v1.customers.create({"email": "durable@example.com"})
        until(first, lambda: len(hook.got) == 2)  # delivery 1 and its duplicate
        first.stop()  # as if killed: nothing runs while more events are raised
        client.v1.customers.update(customer.id, {"name": "One"})
        client.v1.customers.update(customer.id, {"name": "Two"})
        time.sleep(0.1)
        assert len(hook.got) == 2
        second = env.deliverer()
        try:
            until(second, lambda: len(hook.verified()) == 4)
        finally:
            second.stop()
    rows = env.deliveries(episode)
    # The counters resumed: the second delivery of the episode (the first of the new deliverer) was
    # held back (reorder), so "Two" arrived before "One".
    names = [client.v1.events.retrieve(event_id).data.object.name for _, event_id in hook.verified()[2:]]
    assert names == ["Two", "One"]
    # The ledger lists attempts as they were sent: the held one last, with the rule that held it.
    assert [r["faults"] for r in rows if r["copy"] == 0] == [["twice"], [], ["later"]]


def test_an_isolated_agent_gets_no_delivery_on_the_hosts_loopback(env):
    """Its loopback is inside its namespace; the host's 127.0.0.1 is someone else's."""
    episode = env.store.create(seed=SEED)
    with env.store.ledger(episode.id) as ledger:
        ledger.set_meta(agent_isolated=True)
    client = env.client(episode)
    deliverer = env.deliverer()
    try:
        with receiver() as hook:
            register(client, hook, ["customer.created"])
            client.v1.customers.create({"email": "isolated@example.com"})
            until(deliverer, lambda: env.deliveries(episode))
            assert hook.got == []
        [row] = env.deliveries(episode)
        assert row["outcome"] == "refused" and "isolated" in row["error"]
    finally:
        deliverer.stop()


def test_a_url_that_became_the_sandboxs_own_port_is_not_posted_to(env):
    """Checked again at send time: ports.json can name a port the endpoint took after it registered."""
    episode = env.store.create(seed=SEED)
    client = env.client(episode)
    deliverer = env.deliverer()
    try:
        with receiver() as hook:
            register(client, hook, ["customer.created"])
            port = int(hook.url.split(":")[2].split("/")[0])
            env.home.ports_file.write_text(f'{{"proxy": 1, "control": {port}, "services": {{}}}}')
            try:
                client.v1.customers.create({"email": "ssrf@example.com"})
                until(deliverer, lambda: env.deliveries(episode))
            finally:
                env.home.ports_file.unlink()
            assert hook.got == []
        [row] = env.deliveries(episode)
        assert row["outcome"] == "refused" and "belongs to the sandbox" in row["error"]
    finally:
        deliverer.stop()


def test_a_verifier_reads_what_the_agent_received(env):
    episode = env.store.create(seed=SEED)
    client = env.client(episode)
    deliverer = env.deliverer()
    try:
        with receiver() as hook:
            register(client, hook, ["charge.refunded"])
            client.v1.refunds.create({"charge": DOUBLE["duplicate_charge"]})
            until(deliverer, lambda: hook.got)
        with env.store.ledger(episode.id) as ledger:
            assert delivered_events(ledger, "charge.refunded") == [hook.got[0].event_id]
            assert delivered_events(ledger, "refund.created") == []
    finally:
        deliverer.stop()


def test_a_fork_carries_the_endpoint_and_gets_its_own_deliveries(env):
    from sandbox.episodes.snapshot import fork, snapshot

    episode = env.store.create(seed=SEED)
    deliverer = env.deliverer()
    try:
        with receiver() as hook:
            register(env.client(episode), hook, ["customer.created"])
            child = fork(env.store, snapshot(env.store, episode.id, "registered"))
            env.client(child).v1.customers.create({"email": "fork@example.com"})
            until(deliverer, lambda: hook.got)
            deliverer.run_once()
        assert hook.got[0].event_id is not None  # signed with the endpoint's secret, copied with the fork
        assert [d["outcome"] for d in env.deliveries(child)] == ["delivered"]
        assert env.deliveries(episode) == []  # the parent raised nothing
    finally:
        deliverer.stop()


def test_a_held_delivery_to_an_endpoint_deleted_meanwhile_is_not_sent(env, tmp_path):
    profile = tmp_path / "hold.yaml"
    profile.write_text("name: hold\nseed: 1\ndescription: hold the first.\nrules:\n"
                       "  - {name: later, match: {via: webhook, nth: 1}, action: {kind: reorder}}\n")
    episode = env.store.create(seed=SEED, faults=str(profile))
    client = env.client(episode)
    deliverer = env.deliverer()
    try:
        with receiver() as hook:
            register(client, hook, ["customer.created"])
            client.v1.customers.create({"email": "held@example.com"})
            until(deliverer, lambda: deliverer._states and any(s.held for s in deliverer._states.values()))
            endpoint = client.v1.webhook_endpoints.list().data[0]
            client.v1.webhook_endpoints.delete(endpoint.id)
            end = time.monotonic() + 0.6  # past hold_max_s: it would have gone by now
            while time.monotonic() < end:
                deliverer.run_once()
                time.sleep(0.02)
            assert hook.got == []
        assert env.deliveries(episode) == []
    finally:
        deliverer.stop()
