"""Fixtures for the payments dashboard: the real app (Flask's test client, no socket needed), a real
sandbox home and a fresh episode per test, and a signed-in dashboard session.

Requests name the host they are for (`base_url`): the dashboard's pages answer on
https://dashboard.stripe.com only, the API on https://api.stripe.com.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home
from sandbox.world import world
from tests.services.conftest import SEED

DASHBOARD = "https://dashboard.stripe.com"
API = "https://api.stripe.com"
FACTS = world(SEED).facts
DOUBLE = FACTS["double_charge"]


@dataclass
class Dashboard:
    home: Home
    store: EpisodeStore
    app: Flask

    def episode(self) -> Episode:
        return self.store.create(seed=SEED)

    def ledger(self, episode: Episode) -> Ledger:
        return Ledger(self.home.ledger_path(episode.id))

    def browser(self) -> FlaskClient:
        """A client that keeps cookies and talks to the dashboard host."""
        return self.app.test_client()

    def signed_in(self, episode: Episode) -> FlaskClient:
        browser = self.browser()
        answer = browser.post("/login", data={"api_token": episode.api_keys["payments"]}, base_url=DASHBOARD)
        assert answer.status_code == 303 and answer.headers["Location"] == "/test/payments"
        return browser


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    from services.payments import create_app

    home = Home.resolve(tmp_path_factory.mktemp("dashboard-home"))
    store = EpisodeStore(home)
    store.prepare(SEED)
    try:
        yield Dashboard(home, store, create_app({"home": home}))
    finally:
        store.close()


@pytest.fixture
def dash_episode(dashboard: Dashboard) -> Episode:
    return dashboard.episode()


def field(html: str, name: str, attribute: str = "") -> str:
    """The text (or `attribute`) of the `data-field="name"` element in a page."""
    match = re.search(rf'data-field="{re.escape(name)}"([^>]*)>([^<]*)', html)
    assert match, f"no data-field={name!r} in the page"
    if attribute:
        found = re.search(rf'{attribute}="([^"]*)"', match.group(1))
        assert found, f"data-field={name!r} has no {attribute}"
        return found.group(1)
    return match.group(2).strip()


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-id="([^"]+)"', html)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name!r} in the page"
    return match.group(1)
