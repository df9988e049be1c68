"""Through the proxy to the real payments fake (gunicorn), with the registry's own routes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

import services
from sandbox.episodes import EpisodeStore
from sandbox.home import Home
from tests.proxy.conftest import REPO, agent, running_proxy

pytestmark = pytest.mark.slow


def _payments_available() -> bool:
    try:
        services.get_service("payments")
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def payments(tmp_path_factory) -> Iterator[tuple[Home, int]]:
    if not _payments_available():
        pytest.skip("services/payments is not there yet")
    home = Home.resolve(tmp_path_factory.mktemp("payments-home"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, "-m", "sandbox.serve", "payments", "--home", str(home.root), "--port", str(port)]
    log = open(home.run_dir / "payments.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([*argv, "--workers", "1"], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (home.run_dir / "payments.log").read_text()
            time.sleep(0.1)
        yield home, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


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
