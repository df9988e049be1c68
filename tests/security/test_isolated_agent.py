"""The hostile agent from inside: tests/security/hostile_agent.py runs under `sandbox run`'s
isolation (its own user, network, mount and pid namespaces) and tries to reach the host's loopback,
the control API, the sandbox's secret files, another episode's ledger, the outside world's names
and the proxy's process. Nothing may get through; a vendor call that ignores HTTPS_PROXY must land
in the fake and in the ledger instead of leaving."""

from __future__ import annotations

import json
import socketserver
import sys
import threading
from pathlib import Path

import pytest

from sandbox.episodes.store import EpisodeStore
from sandbox.isolation import isolation_available
from sandbox.run.runner import run_task
from sandbox.tasks import load_task
from sandbox.webhooks.outbox import deliveries

pytestmark = pytest.mark.slow

AGENT = Path(__file__).with_name("hostile_agent.py")


HEARD: list[bytes] = []  # what callers sent the secret server: a webhook POST must never be among it


class _Secret(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(b"SECRET from the host's loopback\n")
        self.request.settimeout(1.0)
        try:
            HEARD.append(self.request.recv(4096))
        except OSError:
            pass


@pytest.fixture
def secret_server():
    HEARD.clear()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Secret)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _webhook_posts() -> list[bytes]:
    return [data for data in HEARD if data.startswith(b"POST ") and b"Stripe-Signature" in data]


def _run_hostile(sandbox, secret_port: int, tmp_path: Path, *, isolate: bool):
    home = sandbox.home
    store = EpisodeStore(home)
    try:
        victim = store.create(7)
    finally:
        store.close()
    proxy = next(child for child in sandbox._children if child.name == "proxy")
    extra = {
        "HOSTILE_SECRET_PORT": str(secret_port),
        "HOSTILE_CONTROL_PORT": str(sandbox.ports["control"]),
        "HOSTILE_HOME": str(home.root),
        "HOSTILE_VICTIM_LEDGER": str(home.ledger_path(victim.id)),
        "HOSTILE_PROXY_PID": str(proxy.proc.pid),
        "HOSTILE_WEBHOOKS_PORT": str(sandbox.ports["webhooks"]),
    }
    log = tmp_path / "agent.log"
    result = run_task(load_task("refund-duplicate-charge"), [sys.executable, str(AGENT)], home=home,
                      ports=sandbox.ports, extra_env=extra, log=log, timeout=60, isolate=isolate)
    lines = [line for line in log.read_text().splitlines() if line.startswith("HOSTILE ")]
    assert lines, f"the hostile agent printed no verdict; its log:\n{log.read_text()}"
    return result, json.loads(lines[-1].removeprefix("HOSTILE "))


@pytest.mark.skipif(not isolation_available()[0], reason="user namespaces are not available here")
def test_an_isolated_hostile_agent_gets_nothing_through(running_sandbox, secret_server, tmp_path):
    result, outcomes = _run_hostile(running_sandbox, secret_server, tmp_path, isolate=True)
    through = {name: o["evidence"] for name, o in outcomes.items() if o["through"]}
    print("\n" + "\n".join(f"{'THROUGH' if o['through'] else 'refused'}  {n}: {o['evidence']}"
                           for n, o in sorted(outcomes.items())))
    assert len(outcomes) >= 10
    assert through == {}, json.dumps(through, indent=2)
    # Contained, not just blocked: the call that ignored HTTPS_PROXY is in the ledger, answered by the fake.
    store = EpisodeStore(running_sandbox.home)
    try:
        with store.ledger(result.episode.id) as ledger:
            calls = [(x["host"], x["status"], x["via"]) for x in ledger.exchanges()]
    finally:
        store.close()
    assert ("api.stripe.com", 200, "proxy") in calls, calls
    # The webhook aimed at the host's loopback went to the namespace's instead, where nothing listens.
    assert _webhook_posts() == []
    with EpisodeStore(running_sandbox.home).ledger(result.episode.id) as ledger:
        sent = deliveries(ledger)
    assert sent and all(d["status"] is None and "refused" in (d["error"] or "").lower() for d in sent), sent


def test_without_isolation_the_same_agent_does_get_through(running_sandbox, secret_server, tmp_path):
    """The attempts are not vacuous: without a namespace, the host's loopback and the home's files
    are within reach of a process running as the operator's user."""
    _, outcomes = _run_hostile(running_sandbox, secret_server, tmp_path, isolate=False)
    assert outcomes["host_loopback_server"]["through"], outcomes["host_loopback_server"]
    assert outcomes["read_home_control.token"]["through"], outcomes["read_home_control.token"]
    assert outcomes["see_the_proxy_process"]["through"], outcomes["see_the_proxy_process"]
    assert outcomes["webhook_mailbox_port"]["through"], outcomes["webhook_mailbox_port"]
    assert _webhook_posts(), HEARD  # on the host's loopback, the deliverer does post to the agent's URL
