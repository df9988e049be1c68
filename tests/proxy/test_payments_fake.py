"""Through the proxy to the real payments fake (gunicorn), with the registry's own routes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.episodes.store import EpisodeStore
from sandbox.home import Home
from sandbox.run.supervisor import running_service
from tests.proxy.conftest import agent, running_proxy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def payments(tmp_path_factory) -> Iterator[tuple[Home, int]]:
    home = Home.resolve(tmp_path_factory.mktemp("payments-home"))
    with running_service(home, "payments") as port:
        yield home, port


def test_routed_to_the_payments_fake(payments):
    home, port = payments
    store = EpisodeStore(home)
    episode = store.create(seed=7)
    with running_proxy(home, "--service", f"payments={port}") as proxy:
        session = agent(proxy, episode)
        session.headers["Authorization"] = f"Bearer {episode.api_keys['payments']}"
        response = session.get("https://api.stripe.com/v1/customers?limit=2", timeout=10)
        assert response.status_code == 200, response.text
        assert len(response.json()["data"]) == 2
        assert session.get("https://api.stripe.com/_sandbox/health", timeout=10).status_code == 404
    with store.ledger(episode.id) as ledger:
        rows = ledger.exchanges()
    store.close()
    assert [(r["service"], r["outcome"], r["path"], r["status"]) for r in rows] == [
        ("payments", "routed", "/v1/customers", 200),
        ("payments", "refused", "/_sandbox/health", 404),
    ]
