"""What the MCP tests share: an episode's agent environment, and running an MCP scenario with it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.run.agent_env import agent_env

SEED = 7


@pytest.fixture
def episode(running_sandbox):
    store = EpisodeStore(running_sandbox.home)
    yield store.create(SEED)
    store.close()


@pytest.fixture
def agent(running_sandbox, episode, monkeypatch) -> dict[str, str]:
    """The agent environment of `episode`, set in os.environ (HTTPS_PROXY, SSL_CERT_FILE, keys, MCP URLs)."""
    env = agent_env(running_sandbox.home, episode, running_sandbox.ports)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return anyio.run(scenario)


def ledger_of(home, episode: Episode) -> tuple[list[dict], list[dict]]:
    with EpisodeStore(home).ledger(episode.id) as ledger:
        return ledger.exchanges(), ledger.state_changes()
