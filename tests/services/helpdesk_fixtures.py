"""Fixtures for the helpdesk fake: its app on a real socket, episodes, zenpy and raw HTTP clients.

zenpy builds `https://{subdomain}.zendesk.com/api/v2/...`; for direct tests it honours its own
`ZENPY_FORCE_NETLOC` / `ZENPY_FORCE_SCHEME` variables, which point it at the fake on 127.0.0.1.
Import the fixtures a module uses: `from tests.services.helpdesk_fixtures import desk, ...`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from zenpy import Zenpy

from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home
from sandbox.world import World, world
from services.helpdesk.seed import agent_email, agent_id
from tests.services.conftest import SEED, serve_app

WORLD: World = world(SEED)
FACTS = WORLD.facts
AGENT_EMAIL = agent_email(WORLD)
AGENT_ID = agent_id(WORLD)
SUBDOMAIN = WORLD.org.slug  # type: ignore[union-attr]


@dataclass
class Desk:
    """The helpdesk fake running on 127.0.0.1 for the tests of one module."""

    home: Home
    store: EpisodeStore
    url: str

    @property
    def netloc(self) -> str:
        return self.url.removeprefix("http://")

    def episode(self, seed: int = SEED) -> Episode:
        return self.store.create(seed=seed)

    def key(self, episode: Episode) -> str:
        return episode.api_keys["helpdesk"]

    def ledger(self, episode: Episode) -> Ledger:
        return Ledger(self.home.ledger_path(episode.id))

    def session(self, episode: Episode, email: str = AGENT_EMAIL) -> requests.Session:
        session = requests.Session()
        session.auth = (f"{email}/token", self.key(episode))
        return session


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    from services.helpdesk import create_app

    home = Home.resolve(tmp_path_factory.mktemp("sandbox-home"))
    store = EpisodeStore(home)
    store.prepare(SEED)
    url, stop = serve_app(create_app({"home": home}))
    try:
        yield Desk(home, store, url)
    finally:
        stop()
        store.close()


@pytest.fixture
def desk_episode(desk: Desk) -> Episode:
    return desk.episode()


@pytest.fixture
def zd(desk: Desk, desk_episode: Episode, monkeypatch: pytest.MonkeyPatch) -> Zenpy:
    """zenpy, configured as an agent would (subdomain, email, token), aimed at the fake."""
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", desk.netloc)
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    return Zenpy(subdomain=SUBDOMAIN, email=AGENT_EMAIL, token=desk.key(desk_episode), disable_cache=True)


@pytest.fixture
def desk_http(desk: Desk, desk_episode: Episode) -> Iterator[Callable[..., requests.Response]]:
    """Raw HTTP as the episode's agent: `desk_http("GET", "/api/v2/tickets.json", ...)` or a full URL."""
    session = desk.session(desk_episode)

    def call(method: str, path: str, *, auth: bool = True, **kwargs: Any) -> requests.Response:
        send = session.request if auth else requests.request
        url = path if path.startswith("http") else desk.url + path  # next_page / links.next are absolute
        return send(method, url, timeout=30, **kwargs)

    try:
        yield call
    finally:
        session.close()
