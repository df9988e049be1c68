"""Fixtures for the fakes: a real sandbox home, real episodes, the real app on a real socket.

One home and one server per test module (templates are built once per home); a fresh episode
per test, so tests never see each other's writes. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import stripe
from werkzeug.serving import make_server

from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home

SEED = 7


@dataclass
class Served:
    """A fake running on 127.0.0.1 for the tests of one module."""

    home: Home
    store: EpisodeStore
    url: str

    def episode(self, seed: int = SEED) -> Episode:
        return self.store.create(seed=seed)

    def client(self, episode: Episode, **options: Any) -> stripe.StripeClient:
        options.setdefault("max_network_retries", 0)
        return stripe.StripeClient(episode.api_keys["payments"], base_addresses={"api": self.url}, **options)

    def ledger(self, episode: Episode) -> Ledger:
        return Ledger(self.home.ledger_path(episode.id))


def serve_app(app: Any) -> tuple[str, Callable[[], None]]:
    """Serve a WSGI app on 127.0.0.1 in a thread; returns (base url, stop)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    return f"http://127.0.0.1:{server.server_port}", stop


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from services.payments import create_app

    home = Home.resolve(tmp_path_factory.mktemp("sandbox-home"))
    store = EpisodeStore(home)
    store.prepare(SEED)
    url, stop = serve_app(create_app({"home": home}))
    try:
        yield Served(home, store, url)
    finally:
        stop()
        store.close()


@pytest.fixture
def episode(served: Served) -> Episode:
    return served.episode()


@pytest.fixture
def client(served: Served, episode: Episode) -> stripe.StripeClient:
    return served.client(episode)


@pytest.fixture
def http(served: Served, episode: Episode) -> Iterator[Callable[..., requests.Response]]:
    """Raw HTTP against the fake as the episode's holder: `http("GET", "/v1/customers", ...)`."""
    session = requests.Session()
    key = episode.api_keys["payments"]

    def call(method: str, path: str, *, auth: bool = True, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if auth:
            headers.setdefault("Authorization", f"Bearer {key}")
        return session.request(method, served.url + path, headers=headers, timeout=30, **kwargs)

    try:
        yield call
    finally:
        session.close()
