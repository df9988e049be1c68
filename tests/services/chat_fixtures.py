"""Helpers for the chat fake's tests: the real app on a real socket, real episodes, and slack_sdk.

Each test module declares its own module-scoped `chat` fixture with `yield from serve_chat(...)`
(fixtures imported from another module would shadow their own names), so one home and one server
serve a whole module, and each test takes a fresh episode.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from slack_sdk import WebClient

from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home
from sandbox.world import World, world
from tests.services.conftest import SEED, serve_app


@dataclass
class ChatServer:
    """The chat fake on 127.0.0.1 for the tests of one module."""

    home: Home
    store: EpisodeStore
    url: str

    @property
    def world(self) -> World:
        return world(SEED)

    def episode(self, seed: int = SEED) -> Episode:
        return self.store.create(seed=seed)

    def client(self, episode: Episode, token: str | None = None, **options: Any) -> WebClient:
        """slack_sdk's WebClient aimed at the fake (no retries: a test sees every answer)."""
        options.setdefault("retry_handlers", [])
        return WebClient(token=token or episode.api_keys["chat"], base_url=f"{self.url}/api/", **options)

    def call(self, episode: Episode | None, method: str, *, verb: str = "POST", bearer: bool = True,
             **kwargs: Any) -> requests.Response:
        """Raw HTTP: `call(ep, "conversations.list", params=..., data=..., json=...)`."""
        headers = kwargs.pop("headers", {})
        if episode is not None and bearer:
            headers.setdefault("Authorization", f"Bearer {episode.api_keys['chat']}")
        return requests.request(verb, f"{self.url}/api/{method}", headers=headers, timeout=30, **kwargs)

    def ledger(self, episode: Episode) -> Ledger:
        return Ledger(self.home.ledger_path(episode.id))

    def channel_id(self, name: str) -> str:
        return next(c.id for c in self.world.chat.channels if c.name == name)


def serve_chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatServer]:
    from services.chat import create_app

    home = Home.resolve(tmp_path_factory.mktemp("chat-home"))
    store = EpisodeStore(home)
    store.prepare(SEED)
    url, stop = serve_app(create_app({"home": home}))
    try:
        yield ChatServer(home, store, url)
    finally:
        stop()
        store.close()
