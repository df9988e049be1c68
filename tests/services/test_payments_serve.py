"""The payments fake as it really runs: `python -m sandbox.serve payments` (gunicorn workers)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import stripe

from sandbox.episodes import EpisodeStore
from sandbox.home import Home
from sandbox.world import world
from tests.services.conftest import SEED

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Home, str]]:
    home = Home.resolve(tmp_path_factory.mktemp("serve-home"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_path = home.run_dir / "payments.log"
    argv = [sys.executable, "-m", "sandbox.serve", "payments", "--home", str(home.root), "--port", str(port)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([*argv, "--workers", "2", "--threads", "2"], cwd=REPO, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/_sandbox/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        yield home, url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
