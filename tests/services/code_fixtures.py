"""Fixtures for the code fake's tests: the real app on a real socket, real episodes, PyGithub.

Import them into a test module with `from tests.services.code_fixtures import *`. One server per
module, a fresh episode per test (tests never see each other's writes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from github import Auth, Github

from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home
from sandbox.world import world
from tests.services.conftest import SEED, serve_app

W = world(SEED)
ORG = W.code.org
BOT = f"{ORG}-agent"
REPO = W.code.facts["triage"]["repo"]  # the first product's repository, with untriaged issues
PRIVATE = next(r.name for r in W.code.repos if r.private)
ENGINEERS = [s.github_login for s in W.staff if s.role == "engineering"]
OUTSIDER = W.code.outsiders[0].login

__all__ = ["BOT", "ENGINEERS", "ORG", "OUTSIDER", "PRIVATE", "REPO", "W", "CodeServed", "code_served", "ep", "gh",
           "http", "github_for"]


@dataclass
class CodeServed:
    home: Home
    store: EpisodeStore
    url: str

    def episode(self, seed: int = SEED) -> Episode:
        return self.store.create(seed=seed)

    def ledger(self, episode: Episode) -> Ledger:
        return Ledger(self.home.ledger_path(episode.id))


def github_for(url: str, key: str, **options: Any) -> Github:
    """PyGithub against the fake's base URL, without its retries (a test wants the first answer) and
    without its client-side throttle (0.25 s between requests, 1 s between writes by default)."""
    options.setdefault("retry", None)
    options.setdefault("seconds_between_requests", None)
    options.setdefault("seconds_between_writes", None)
    return Github(base_url=url, auth=Auth.Token(key), **options)


@pytest.fixture(scope="module")
def code_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodeServed]:
    from services.code import create_app

    home = Home.resolve(tmp_path_factory.mktemp("code-home"))
    store = EpisodeStore(home)
    store.prepare(SEED)
    url, stop = serve_app(create_app({"home": home}))
    try:
        yield CodeServed(home, store, url)
    finally:
        stop()
        store.close()


@pytest.fixture
def ep(code_served: CodeServed) -> Episode:
    return code_served.episode()


@pytest.fixture
def gh(code_served: CodeServed, ep: Episode) -> Iterator[Github]:
    client = github_for(code_served.url, ep.api_keys["code"])
    yield client
    client.close()


@pytest.fixture
def http(code_served: CodeServed, ep: Episode) -> Iterator[Callable[..., requests.Response]]:
    """Raw HTTP as the episode's token holder: `http("GET", "/repos/o/r/issues", ...)`."""
    session = requests.Session()
    key = ep.api_keys["code"]

    def call(method: str, path: str, *, auth: bool = True, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if auth:
            headers.setdefault("Authorization", f"token {key}")
        target = path if path.startswith("http") else code_served.url + path
        return session.request(method, target, headers=headers, timeout=30, **kwargs)

    try:
        yield call
    finally:
        session.close()
