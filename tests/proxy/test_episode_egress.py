"""Per-episode egress: an episode's `allowed_hosts` open those hosts for that episode only, on a
proxy started without any allow list. A stand-in server on 127.0.0.1 plays the outside host."""

from __future__ import annotations

import base64
import dataclasses
import socket
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

import services
from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import Episode, EpisodeStore, HostPatterns
from sandbox.home import Home
from sandbox.proxy.egress import Egress
from sandbox.proxy.route import Routes
from sandbox.recordings.format import read_recording
from sandbox.recordings.store import finalize
from sandbox.run.runner import run_task
from sandbox.tasks import load_task
from tests.proxy.conftest import ProxyProcess, StandIn, agent, running_proxy, stand_in

TASK = Path(__file__).resolve().parents[2] / "sandbox" / "tasks" / "library" / "refund-duplicate-charge.yaml"


@dataclass
class Bare:
    """A proxy with no proxy-wide allow list, a stand-in fake and a stand-in outside host."""

    home: Home
    proxy: ProxyProcess
    internet: StandIn
    store: EpisodeStore

    def create(self, **options) -> Episode:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(services, "service_ids", list)  # the proxy needs no fake's world
            return self.store.create(seed=7, **options)

    def finish(self, episode: Episode) -> None:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(services, "service_ids", list)
            self.store.finish(episode.id)

    def ledger(self, episode: Episode) -> list[dict]:
        with Ledger(self.home.ledger_path(episode.id)) as ledger:
            return ledger.exchanges()

    def ledger_when_ended(self, episode: Episode) -> list[dict]:
        """The exchanges once none is pending: a tunnel's row ends after both its sides closed,
        which the proxy learns a moment after the test closes its socket."""
        deadline = time.monotonic() + 10
        while True:
            rows = self.ledger(episode)
            if all(r["outcome"] != "pending" for r in rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.02)


@pytest.fixture(scope="module")
def bare(tmp_path_factory) -> Iterator[Bare]:
    home = Home.resolve(tmp_path_factory.mktemp("bare-home"))
    with stand_in() as fake, stand_in() as internet:
        args = ["--service", f"payments={fake.port}", "--route", "api.stripe.com=payments"]
        with running_proxy(home, *args) as proxy:
            store = EpisodeStore(home)
            yield Bare(home, proxy, internet, store)
            store.close()


@pytest.mark.slow
def test_an_episodes_allowance_is_its_own(bare):
    allowed = bare.create(allowed_hosts=["127.0.0.1"])
    other = bare.create()  # live at the same time, on the same proxy, without an allowance
    base = f"http://127.0.0.1:{bare.internet.port}"
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(
            lambda job: agent(bare.proxy, job[0]).get(f"{base}/{job[1]}", timeout=10),
            [(allowed, "a1"), (other, "b1"), (allowed, "a2"), (other, "b2")],
        ))
    assert [a.status_code for a in answers] == [200, 403, 200, 403]
    assert sorted(s.path for s in bare.internet.seen) == ["/a1", "/a2"]  # the refused never left
    error = answers[1].json()["error"]
    assert error["type"] == "sandbox_egress_refused" and error["episode"] == other.id
    assert "allowed_hosts" in error["hint"] and "--allow-host 127.0.0.1" in error["hint"]
    assert sorted((r["path"], r["outcome"], r["status"]) for r in bare.ledger(allowed)) == [
        ("/a1", "forwarded", 200), ("/a2", "forwarded", 200)]
    assert sorted((r["path"], r["outcome"], r["status"]) for r in bare.ledger(other)) == [
        ("/b1", "refused", 403), ("/b2", "refused", 403)]


@pytest.mark.slow
def test_the_connection_backstop_follows_the_episode(bare):
    """Raw TCP in a tunnel skips the request hook: the upstream connection itself must be allowed
    for the tunnel's episode, and for no other."""
    allowed, other = bare.create(allowed_hosts=["127.0.0.1"]), bare.create()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    port = listener.getsockname()[1]
    with listener:
        for episode in (other, allowed):
            with socket.create_connection(("127.0.0.1", bare.proxy.port), timeout=10) as sock:
                credentials = base64.b64encode(f"{episode.id}:{episode.token}".encode())
                sock.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1\r\nProxy-Authorization: Basic %s"
                             b"\r\n\r\n" % (port, credentials))
                assert sock.recv(4096).startswith(b"HTTP/1.1 200")
                sock.sendall(b"\x00\x01 not http, not tls\r\n")
                if episode is other:
                    assert sock.recv(4096) == b""  # closed by the proxy: never connected
                else:
                    upstream, _ = listener.accept()
                    with upstream:
                        assert upstream.recv(4096) == b"\x00\x01 not http, not tls\r\n"
                        upstream.sendall(b"pong")
                        assert sock.recv(4096) == b"pong"
    [refused] = bare.ledger(other)
    assert (refused["scheme"], refused["outcome"]) == ("tcp", "refused") and "egress refused" in refused["error"]
    [forwarded] = bare.ledger_when_ended(allowed)
    assert (forwarded["scheme"], forwarded["host"], forwarded["outcome"]) == ("tcp", "127.0.0.1", "forwarded")


@pytest.mark.slow
def test_a_record_episode_records_its_allowed_host(bare, tmp_path):
    path = tmp_path / "run.jsonl"
    episode = bare.create(mode="record", recording=str(path), allowed_hosts=["127.0.0.1"])
    answer = agent(bare.proxy, episode).get(f"http://127.0.0.1:{bare.internet.port}/recorded?q=1", timeout=10)
    assert answer.status_code == 200
    bare.finish(episode)
    rec = read_recording(finalize(episode.id, episode.recording, bare.home.ledger_path(episode.id)))
    assert [(e.upstream, e.request.host, e.request.path, e.response.status) for e in rec.exchanges] == [
        ("real", "127.0.0.1", "/recorded", 200)]


def test_episode_and_proxy_wide_patterns_add_up():
    egress = Egress(Routes({}, {}))
    egress.patterns = HostPatterns.parse(["everyone.test"])  # what option egress_allow_hosts sets
    episode = Episode("e", "t", 7, None, "live", None, "live", 0, 0.0, None,
                      allowed_hosts=("api.partner.test", "*.cdn.test"))
    assert egress.allowed("everyone.test") and egress.allowed("everyone.test", episode)
    assert egress.allowed("API.partner.test.", episode) and not egress.allowed("api.partner.test")
    assert egress.allowed("a.b.cdn.test", episode)
    assert not egress.allowed("cdn.test", episode) and not egress.allowed("evilcdn.test", episode)
    assert not egress.allowed("www.partner.test", episode)


# -- through a whole sandbox started without allow hosts (tests/conftest.py) -----------------------

AGENT = """
import os, sys, requests
answer = requests.get(os.environ["OUTSIDE_URL"], timeout=10)
sys.exit(0 if answer.status_code == 200 else 3)
"""


@pytest.fixture(scope="module")
def internet() -> Iterator[StandIn]:
    with stand_in() as server:
        yield server


@pytest.mark.slow
def test_run_task_takes_the_tasks_allowed_hosts_to_a_running_sandbox(running_sandbox, internet, tmp_path):
    task_file = tmp_path / "needs-outside.yaml"
    task_file.write_text(TASK.read_text().replace("id: refund-duplicate-charge", "id: needs-outside")
                         + "allowed_hosts: [127.0.0.1]\n")
    task = load_task(task_file)
    assert task.allowed_hosts == ("127.0.0.1",)
    env = {"OUTSIDE_URL": f"http://127.0.0.1:{internet.port}/from-the-task"}
    kwargs = dict(home=running_sandbox.home, ports=running_sandbox.ports, extra_env=env, timeout=60)
    result = run_task(task, [sys.executable, "-c", AGENT], **kwargs)
    assert result.exit_code == 0 and result.episode.allowed_hosts == ("127.0.0.1",)
    assert internet.last().path == "/from-the-task"
    assert result.score.details["refused_egress"] == []  # allowed for the episode: not refused egress
    with Ledger(running_sandbox.home.ledger_path(result.episode.id)) as ledger:
        assert ledger.meta()["allowed_hosts"] == ["127.0.0.1"]
        assert [(r["host"], r["outcome"]) for r in ledger.exchanges()] == [("127.0.0.1", "forwarded")]
    # The same task without the allowance, on the same running sandbox: refused, and scored so.
    stripped = run_task(dataclasses.replace(task, allowed_hosts=()), [sys.executable, "-c", AGENT], **kwargs)
    assert stripped.exit_code == 3 and stripped.score.details["refused_egress"] == ["127.0.0.1"]
    assert len(internet.seen) == 1


@pytest.mark.slow
def test_control_api_episodes_get_their_allowed_hosts(running_sandbox, internet, tmp_path):
    from sandbox.interfaces.control import control_headers

    control = f"http://127.0.0.1:{running_sandbox.ports['control']}/episodes"
    headers = control_headers(running_sandbox.home)  # the operator's token: agents never get it
    task_file = tmp_path / "needs-outside.yaml"
    task_file.write_text(TASK.read_text().replace("id: refund-duplicate-charge", "id: needs-outside")
                         + "allowed_hosts: [127.0.0.1]\n")
    created = {
        "body": requests.post(control, json={"seed": 7, "allowed_hosts": ["127.0.0.1"]}, headers=headers, timeout=30),
        "task": requests.post(control, json={"task": str(task_file)}, headers=headers, timeout=30),
        "none": requests.post(control, json={"seed": 7}, headers=headers, timeout=30),
    }
    # What an agent would try first: widen its own egress through the control API. No token, no episode.
    tokenless = requests.post(control, json={"seed": 7, "allowed_hosts": ["127.0.0.1"]}, timeout=30)
    assert tokenless.status_code == 401 and "env" not in tokenless.json()
    assert {name: r.status_code for name, r in created.items()} == {"body": 201, "task": 201, "none": 201}
    assert [created[n].json()["allowed_hosts"] for n in ("body", "task", "none")] == [["127.0.0.1"]] * 2 + [[]]
    statuses = {}
    for name, answer in created.items():
        env = answer.json()["env"]
        session = requests.Session()
        session.trust_env = False
        session.proxies = {"http": env["HTTP_PROXY"], "https": env["HTTPS_PROXY"]}
        statuses[name] = session.get(f"http://127.0.0.1:{internet.port}/control-{name}", timeout=10).status_code
    assert statuses == {"body": 200, "task": 200, "none": 403}
    assert {"/control-body", "/control-task"} <= {s.path for s in internet.seen}
    assert "/control-none" not in {s.path for s in internet.seen}
    for bad in (["https://example.org/"], "example.org", [7]):
        refused = requests.post(control, json={"seed": 7, "allowed_hosts": bad}, headers=headers, timeout=30)
        assert refused.status_code == 400, bad
        assert "allowed" in refused.json()["error"]["message"] and refused.json()["error"]["hint"]
