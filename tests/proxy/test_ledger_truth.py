"""What the ledger says happened is what happened: every exchange a fault fired on ends `faulted`
(whatever else came of it: a reset, a hang, a ghost write the fake applied, a cut body), and an
exchange the proxy began but never ended because it died mid-call is closed as an `error` when its
episode finishes, and counted as one. Real proxy, real fakes, real clients."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests

import services
from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import UNFINISHED, EpisodeStore
from sandbox.home import Home
from sandbox.run.agent_env import agent_env
from sandbox.scoring.efficiency import failed, measure
from sandbox.world import world
from tests.proxy.conftest import ProxyProcess, running_proxy, stand_in

pytestmark = pytest.mark.slow

FACT = world(7).facts["double_charge"]
CHARGE = f"/v1/charges/{FACT['original_charge']}"

# kind -> (action, method, path, form): one call that the action acts on, as an agent would make it.
KINDS = {
    "latency": ("{kind: latency, ms: 5}", "GET", CHARGE, None),
    "dribble": ("{kind: dribble, chunk_bytes: 400, interval_ms: 1}", "GET", "/v1/customers?limit=3", None),
    "error": ("{kind: error, status: 502}", "GET", CHARGE, None),
    "rate_limit": ("{kind: rate_limit, retry_after: 1}", "GET", CHARGE, None),
    "reset": ("{kind: reset}", "POST", "/v1/refunds", {"charge": FACT["duplicate_charge"]}),
    "hang": ("{kind: hang, max_s: 1}", "GET", CHARGE, None),
    "truncate": ("{kind: truncate, fraction: 0.5}", "GET", "/v1/customers?limit=3", None),
    "malformed_json": ("{kind: malformed_json}", "GET", "/v1/customers?limit=3", None),
    "drift": ("{kind: drift, ops: [{hide: email}]}", "GET", "/v1/customers?limit=3", None),
    "expire_session": ("{kind: expire_session}", "GET", CHARGE, None),
    "busy": ("{kind: busy, status: 409}", "POST", f"/v1/customers/{FACT['customer']}", {"description": "x"}),
    "maintenance": ("{kind: maintenance, retry_after: 5}", "GET", CHARGE, None),
    "ghost_write 500": ("{kind: ghost_write, status: 500}", "POST", "/v1/refunds",
                        {"charge": FACT["duplicate_charge"]}),
    "ghost_write drop": ("{kind: ghost_write, drop: true}", "POST", "/v1/refunds",
                         {"charge": FACT["duplicate_charge"]}),
}
# The agent got no whole answer or an error status: these count as errors in the efficiency figures.
FAILED = {"error", "rate_limit", "reset", "hang", "expire_session", "busy", "maintenance", "ghost_write 500",
          "ghost_write drop"}


@pytest.fixture(scope="module")
def sandbox(running_sandbox):
    return running_sandbox


@pytest.fixture(scope="module")
def store(sandbox):
    s = EpisodeStore(sandbox.home)
    yield s
    s.close()


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_fault_kind_leaves_a_faulted_exchange(sandbox, store, tmp_path, kind):
    action, method, path, form = KINDS[kind]
    profile = tmp_path / "profile.yaml"
    profile.write_text(f"name: t\nseed: 1\nrules:\n  - name: it\n    match: {{host: api.stripe.com}}\n"
                       f"    action: {action}\n")
    episode = store.create(7, faults=str(profile))
    env = agent_env(sandbox.home, episode, sandbox.ports)
    session = requests.Session()
    session.trust_env = False
    session.proxies = {"https": env["HTTPS_PROXY"], "http": env["HTTPS_PROXY"]}
    session.verify = env["SSL_CERT_FILE"]
    session.auth = (env["STRIPE_API_KEY"], "")
    try:
        response = session.request(method, f"https://api.stripe.com{path}", data=form, timeout=10)
        response.content  # noqa: B018 - read the whole body: a cut one raises here
    except requests.RequestException:
        pass  # a reset, a hang, a dropped ghost write or a cut body: the agent got no whole answer
    finally:
        session.close()
    deadline = time.monotonic() + 15  # a cut connection is ended by the proxy when it notices
    while True:
        with store.ledger(episode.id) as ledger:
            [row] = ledger.exchanges()
            fired = ledger.faults()
        if row["outcome"] != "pending" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [(f["exchange_id"], f["rule"]) for f in fired] == [(row["id"], "it")]
    assert row["outcome"] == "faulted", (kind, row["outcome"], row["status"], row["error"])
    assert failed(row) == (kind in FAILED), (kind, row["status"], row["error"])


def test_an_exchange_cut_by_a_proxy_crash_is_closed_at_finish_and_counted_as_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(services, "service_ids", list)  # the stand-in plays the fake: no world is needed
    home = Home.resolve(tmp_path / "home")
    profile = tmp_path / "hang.yaml"
    profile.write_text("name: h\nseed: 1\nrules:\n  - name: stuck\n    match: {path: /v1/slow}\n"
                       "    action: {kind: hang, max_s: 60}\n")
    store = EpisodeStore(home)
    try:
        episode = store.create(7, faults=str(profile))
        with stand_in() as fake:
            args = ["--service", f"payments={fake.port}", "--route", "api.stripe.com=payments"]
            with running_proxy(home, *args) as proxy:
                _call_then_kill(proxy, episode, home.ledger_path(episode.id))
        with store.ledger(episode.id) as ledger:
            assert [(e["path"], e["outcome"]) for e in ledger.exchanges()] == [("/v1/fast", "routed"),
                                                                              ("/v1/slow", "pending")]
        store.finish(episode.id)
        with store.ledger(episode.id) as ledger:
            exchanges = ledger.exchanges()
            [finished] = [e for e in ledger.events() if e["kind"] == "finished"]
    finally:
        store.close()
    fast, slow = exchanges
    assert (slow["outcome"], slow["status"], slow["error"]) == ("error", None, UNFINISHED)
    assert slow["duration_ms"] > 0
    assert fast["outcome"] == "routed"  # what the proxy did finish is left as it wrote it
    assert finished["detail"]["unfinished_exchanges"] == 1
    assert measure(exchanges, []).errors == 1


def _call_then_kill(proxy: ProxyProcess, episode, ledger_path: Path) -> None:
    """One finished call, then one the proxy holds (a hang); SIGKILL the proxy while it holds it."""
    session = requests.Session()
    session.trust_env = False
    url = f"http://{episode.id}:{episode.token}@127.0.0.1:{proxy.port}"
    session.proxies = {"http": url}
    assert session.get("http://api.stripe.com/v1/fast", timeout=10).status_code == 200
    outcome: list[BaseException | requests.Response] = []

    def slow() -> None:
        try:
            outcome.append(session.get("http://api.stripe.com/v1/slow", timeout=30))
        except requests.RequestException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=slow)
    thread.start()
    deadline = time.monotonic() + 15
    while True:  # the proxy writes the request before it holds it
        with Ledger(ledger_path) as ledger:
            if len(ledger.exchanges()) == 2:
                break
        assert time.monotonic() < deadline, "the held call never reached the ledger"
        time.sleep(0.05)
    proxy.proc.kill()
    proxy.proc.wait(timeout=10)
    thread.join(timeout=30)
    assert outcome and isinstance(outcome[0], requests.RequestException)  # the agent got nothing back
