"""Two real proxy workers on one port (SO_REUSEPORT): any worker serves any call of any episode, and
what an episode meets is decided as one proxy would decide it: a fault rule's `nth` fires once,
a rate limit counts every call whichever worker took it, probability draws are the single-process
engine's, the ledger numbers every exchange once, with no gap, and a recording made or replayed
through both keeps one clock and one position.

Every call goes on a fresh connection, so the kernel spreads them over both workers (it picks a
worker per connection); `spread` checks that it did, through the health answers' pids."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from sandbox.clock import STEP_SECONDS
from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import Episode
from sandbox.faults import load_profile
from sandbox.faults.engine import Call, EpisodeFaults
from sandbox.home import Home
from sandbox.recordings.format import read_recording
from sandbox.recordings.store import save
from sandbox.run.supervisor import free_port
from tests.proxy.conftest import Episodes, ProxyProcess, StandIn, agent, launch_proxy, stand_in, wait_ready
from tests.recordings.helpers import create, finish

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT balances on Linux only")]

WORKERS = 2


@dataclass
class Pool:
    home: Home
    port: int
    workers: list[ProxyProcess]
    fake: StandIn
    episodes: Episodes

    @property
    def proxy(self) -> ProxyProcess:  # for the conftest's clients: any worker's port is the pool's
        return self.workers[0]

    def health_pids(self, connections: int) -> set[int]:
        session_free = {"http": None, "https": None}
        return {requests.get(f"http://127.0.0.1:{self.port}/_sandbox/health", proxies=session_free,
                             timeout=10).json()["pid"] for _ in range(connections)}

    def call(self, episode: Episode, path: str, method: str = "GET") -> int:
        """One call on a fresh connection (the kernel picks its worker), as the agent of `episode`."""
        with agent(self.proxy, episode) as session:
            return session.request(method, f"https://api.stripe.com{path}", timeout=10).status_code

    def profiled(self, tmp_path: Path, rules: str, seed: int = 1) -> Episode:
        path = tmp_path / f"profile-{seed}-{abs(hash(rules))}.yaml"
        path.write_text(f"name: workers\nseed: {seed}\nrules:\n{rules}")
        return self.episodes.create_with(faults=str(path))

    def faults(self, episode: Episode) -> list[dict]:
        with Ledger(self.home.ledger_path(episode.id)) as ledger:
            return ledger.faults()


class ProfiledEpisodes(Episodes):
    def create_with(self, **options) -> Episode:
        with pytest.MonkeyPatch.context() as mp:
            import services

            mp.setattr(services, "service_ids", list)
            return self.store.create(seed=7, **options)


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> Iterator[Pool]:
    home = Home.resolve(tmp_path_factory.mktemp("workers-home"))
    home.run_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    workers: list[ProxyProcess] = []
    with stand_in() as fake:
        args = ["--port", str(port), "--service", f"payments={fake.port}", "--route", "api.stripe.com=payments"]
        try:
            for index in range(WORKERS):  # one by one: the first creates the CA the second loads
                log = home.run_dir / f"proxy-{index}.log"
                proc = launch_proxy(home, *args, "--worker", str(index), log=log)
                workers.append(ProxyProcess(proc, port, home, log))
                assert wait_ready(proc, log) == port
            episodes = ProfiledEpisodes(home)
            yield Pool(home, port, workers, fake, episodes)
            episodes.store.close()
        finally:
            for worker in workers:
                worker.stop()


def test_both_workers_listen_on_the_one_port_and_take_connections(pool):
    assert pool.health_pids(24) == {worker.proc.pid for worker in pool.workers}


def test_an_nth_rule_fires_exactly_once_across_workers(pool, tmp_path):
    episode = pool.profiled(tmp_path, """
  - name: third-call
    match: {nth: [3]}
    action: {kind: error, status: 500}
""")
    statuses = [pool.call(episode, "/v1/customers") for _ in range(8)]
    assert statuses == [200, 200, 500, 200, 200, 200, 200, 200]
    fired = pool.faults(episode)
    assert [(f["rule"], f["detail"]["call"]) for f in fired] == [("third-call", 3)]
    assert pool.health_pids(24) == {worker.proc.pid for worker in pool.workers}  # the calls had both to go to


def test_a_rate_limit_counts_the_calls_of_every_worker(pool, tmp_path):
    episode = pool.profiled(tmp_path, """
  - name: every-third-throttled
    match: {every: 3}
    action: {kind: rate_limit, retry_after: 1}
""")
    statuses = [pool.call(episode, "/v1/charges") for _ in range(9)]
    assert statuses == [200, 200, 429] * 3
    assert [f["detail"]["call"] for f in pool.faults(episode)] == [3, 6, 9]


def test_probability_draws_are_the_single_process_engines(pool, tmp_path):
    rules = """
  - name: coin
    match: {probability: 0.5, path: "/v1/refunds*"}
    action: {kind: error, status: 503}
"""
    episode = pool.profiled(tmp_path, rules, seed=11)
    statuses = [pool.call(episode, f"/v1/refunds/re_{i}") for i in range(12)]
    # What one proxy decides for the same calls: the engine in this process, from the same seeds.
    reference = EpisodeFaults(load_profile(episode.faults), episode.fault_seed)
    expected = [503 if reference.decide(Call("api.stripe.com", "GET", f"/v1/refunds/re_{i}", "payments",
                                                  (i + 1) * STEP_SECONDS)) else 200 for i in range(12)]
    assert statuses == expected
    assert 200 in expected and 503 in expected  # the seed gives both outcomes: a real test of the draws


def test_concurrent_calls_through_both_workers_number_the_ledger_without_gaps(pool, tmp_path):
    episode = pool.profiled(tmp_path, """
  - name: every-fifth
    match: {every: 5}
    action: {kind: error, status: 500}
""")
    statuses: list[int] = []
    lock = threading.Lock()

    def calls() -> None:
        for _ in range(10):
            status = pool.call(episode, "/v1/balance")
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=calls) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    exchanges = pool.episodes.ledger(episode)
    assert [row["id"] for row in exchanges] == list(range(1, 41))
    assert all(row["outcome"] in ("routed", "faulted") and row["status"] for row in exchanges)
    # Forty calls, every fifth faulted: eight, whatever the interleaving, and the ledger agrees.
    assert statuses.count(500) == 8
    # Counted in exchange order (the request's ledger write and its decision are one transaction), as
    # a fork's rebuilt fault state assumes: the nth matching call is the nth exchange.
    assert [(f["exchange_id"], f["detail"]["call"]) for f in pool.faults(episode)] == [(n, n) for n in range(5, 41, 5)]


def test_a_recording_made_and_replayed_through_both_workers_keeps_one_clock_and_one_cursor(pool, tmp_path):
    episode = create(pool.episodes.store, "record", tmp_path / "through-workers.jsonl")
    for _ in range(4):
        assert pool.call(episode, "/v1/items") == 200
    recording = read_recording(finish(pool.episodes.store, episode))
    assert [ex.exchange for ex in recording.exchanges] == [1, 2, 3, 4]
    starts = [ex.timing["start_ms"] for ex in recording.exchanges]
    assert starts[0] == 0 and starts == sorted(set(starts))  # timed from the episode's first call, not a worker's

    recording.header["match"] = {"sequence": "in_order"}  # each recorded answer given once, then a miss
    save(recording, tmp_path / "in-order.jsonl")
    replay = create(pool.episodes.store, "replay", tmp_path / "in-order.jsonl")
    assert [pool.call(replay, "/v1/items") for _ in range(6)] == [200, 200, 200, 200, 502, 502]
