"""The payments fake as it really runs: `python -m sandbox.run.serve payments` (gunicorn workers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from sandbox.episodes.store import EpisodeStore
from sandbox.home import Home
from sandbox.run.supervisor import running_service
from sandbox.world import world
from tests.services.conftest import SEED

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Home, str]]:
    home = Home.resolve(tmp_path_factory.mktemp("serve-home"))
    with running_service(home, "payments", workers=2, threads=2) as port:
        yield home, f"http://127.0.0.1:{port}"


def test_sdk_against_gunicorn_workers(gunicorn):
    home, url = gunicorn
    store = EpisodeStore(home)
    try:
        episode = store.create(seed=SEED)
        client = stripe.StripeClient(episode.api_keys["payments"], base_addresses={"api": url}, max_network_retries=0)
        double = world(SEED).facts["double_charge"]
        # Enough calls that both workers (separate processes, separate connections) serve some.
        ids = {c.id for c in client.v1.customers.list({"limit": 5}).auto_paging_iter()}
        assert len(ids) == len(world(SEED).customers)
        refund = client.v1.refunds.create({"charge": double["duplicate_charge"]})
        for _ in range(6):
            assert client.v1.charges.retrieve(double["duplicate_charge"]).amount_refunded == refund.amount
        with store.ledger(episode.id) as ledger:
            changes = ledger.state_changes()
            exchanges = ledger.exchanges()
        assert {(c["tbl"], c["op"]) for c in changes} == {("refunds", "insert"), ("charges", "update")}
        assert len(exchanges) == 8 + 1 + 6 and all(x["status"] == 200 for x in exchanges)
    finally:
        store.close()
