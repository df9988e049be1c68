"""The supervisor's proxy workers: N on one port, each ready, a dead one started again (and said so
in the home's events and every live episode's ledger), given up after the restart budget, all of
them stopped with the sandbox; one worker, with a message, where SO_REUSEPORT does not balance."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest
import requests

import services
from sandbox.episodes.store import EpisodeStore
from sandbox.home import Home
from sandbox.run import proxy_workers, supervisor
from sandbox.run.proxy_workers import default_proxy_workers, usable_proxy_workers, worker_argv
from sandbox.run.supervisor import Sandbox, pid_alive

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT balances on Linux only")


def test_off_linux_n_workers_fall_back_to_one_and_say_why(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    count, message = usable_proxy_workers(4)
    assert count == 1
    assert "not 4" in message and "only on Linux" in message and "--proxy-workers" in message
    assert usable_proxy_workers(1) == (1, None)  # one worker needs no shared port anywhere
    assert default_proxy_workers() == 1


@linux_only
def test_the_default_is_one_worker_per_usable_core_at_most_eight(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(3)))
    assert default_proxy_workers() == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    assert default_proxy_workers() == proxy_workers.MAX_DEFAULT_WORKERS
    assert usable_proxy_workers(4) == (4, None)
    with pytest.raises(ValueError, match="1 or more"):
        usable_proxy_workers(0)


def test_a_lone_proxy_keeps_its_command_line_and_workers_are_numbered():
    argv = ["python", "-m", "sandbox.proxy", "--port", "8080"]
    assert worker_argv(argv, 0, 1) == argv
    assert worker_argv(argv, 1, 3) == [*argv, "--worker", "1"]


def health_pids(port: int, connections: int = 24) -> set[int]:
    return {requests.get(f"http://127.0.0.1:{port}/_sandbox/health", proxies={"http": None},
                         timeout=10).json()["pid"] for _ in range(connections)}


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@linux_only
@pytest.mark.slow
def test_workers_are_ready_restarted_when_killed_given_up_past_the_budget_and_stopped(tmp_path, monkeypatch):
    home = Home.resolve(tmp_path / "home")
    monkeypatch.setattr(supervisor, "service_ids", list)  # no fakes: the proxy workers are what is tested
    sandbox = Sandbox(home, ephemeral=True, proxy_workers=2, reap_every=None).start()
    try:
        workers = [child for child in sandbox._children if child.name.startswith("proxy-")]
        assert [w.name for w in workers] == ["proxy-0", "proxy-1"]
        assert sandbox.ports["proxy_workers"] == 2
        assert health_pids(sandbox.proxy_port) == {w.proc.pid for w in workers}
        with monkeypatch.context() as mp:  # an episode without fakes' worlds: only its ledger is read here
            mp.setattr(services, "service_ids", list)
            store = EpisodeStore(home)
            episode = store.create(seed=7)

        killed = workers[0].proc.pid
        os.kill(killed, signal.SIGKILL)
        wait_for(lambda: workers[0].proc.pid != killed and workers[0].ready())
        assert health_pids(sandbox.proxy_port) == {workers[0].proc.pid, workers[1].proc.pid}
        [restarted] = store.events("proxy_worker_restarted")
        assert restarted["detail"]["worker"] == "proxy-0" and restarted["detail"]["exit_status"] == -signal.SIGKILL

        def ledger_says_so() -> bool:  # written after the home's event, to each live episode's ledger
            with store.ledger(episode.id) as ledger:
                return [e["kind"] for e in ledger.events()].count("proxy_worker_restarted") == 1

        wait_for(ledger_says_so, timeout=10)

        monkeypatch.setattr(proxy_workers, "RESTART_LIMIT", 1)  # the next death is one too many
        os.kill(workers[0].proc.pid, signal.SIGKILL)
        assert sandbox.wait() == 1  # up stops, saying why, instead of running one worker short
        [given_up] = store.events("proxy_worker_given_up")
        assert given_up["detail"]["deaths_in_window"] == 2 and given_up["detail"]["limit"] == 1
        store.close()
    finally:
        pids = [child.proc.pid for child in sandbox._children if child.proc is not None]
        sandbox.stop()
    assert not any(pid_alive(pid) for pid in pids)
