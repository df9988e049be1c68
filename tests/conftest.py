"""Shared fixtures. Everything runs on 127.0.0.1 with real processes, sockets and SQLite files."""

from __future__ import annotations

import os

import pytest

from sandbox.episodes.store import EpisodeStore
from sandbox.home import Home

# Tests never reach beyond loopback: make sure no inherited proxy setting sends them elsewhere.
for _name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)


@pytest.fixture
def sandbox_home(tmp_path) -> Home:
    return Home.resolve(tmp_path / "home")


@pytest.fixture
def store(sandbox_home):
    s = EpisodeStore(sandbox_home)
    yield s
    s.close()


@pytest.fixture(scope="session")
def running_sandbox(tmp_path_factory):
    """One embedded sandbox (fakes, control API, proxy) for the session, on free ports."""
    from sandbox.run.supervisor import Sandbox

    home = Home.resolve(tmp_path_factory.mktemp("sandbox-home"))
    with Sandbox(home, ephemeral=True, workers=1) as sandbox:
        yield sandbox
