"""Every fault kind through the real proxy, against the real payments fake, with real clients (the
stripe SDK, requests, a raw socket), and what the ledger says about each."""

from __future__ import annotations

import base64
import re
import socket
import time
from pathlib import Path

import pytest
import requests
import stripe

from sandbox.episodes.store import EpisodeStore
from sandbox.faults import load_profile
from sandbox.faults.engine import Call, EpisodeFaults, latency_ms
from sandbox.run.agent_env import agent_env
from sandbox.world import world

pytestmark = pytest.mark.slow

FACT = world(7).facts["double_charge"]


@pytest.fixture(scope="module")
def sandbox(running_sandbox):
    return running_sandbox


@pytest.fixture(scope="module")
def store(sandbox):
    s = EpisodeStore(sandbox.home)
    yield s
    s.close()


class Agent:
    """One episode with a profile, and the clients an agent of it would use."""

    def __init__(self, sandbox, store, profile: Path) -> None:
        self.sandbox, self.store = sandbox, store
        self.episode = store.create(7, faults=str(profile))
        self.env = agent_env(sandbox.home, self.episode, sandbox.ports)

    def stripe(self, retries: int = 0) -> stripe.StripeClient:
        http = stripe.RequestsClient(proxy=self.env["HTTPS_PROXY"])
        return stripe.StripeClient(self.env["STRIPE_API_KEY"], http_client=http, max_network_retries=retries)

    def requests(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.proxies = {"https": self.env["HTTPS_PROXY"], "http": self.env["HTTPS_PROXY"]}
        session.verify = self.env["SSL_CERT_FILE"]
        session.auth = (self.env["STRIPE_API_KEY"], "")
        return session

    def exchanges(self) -> list[dict]:
        with self.store.ledger(self.episode.id) as ledger:
            return ledger.exchanges()

    def faults(self) -> list[dict]:
        with self.store.ledger(self.episode.id) as ledger:
            return ledger.faults()

    def refunds(self) -> list[dict]:
        with self.store.ledger(self.episode.id) as ledger:
            return [c for c in ledger.state_changes() if c["tbl"] == "refunds" and c["op"] == "insert"]


@pytest.fixture
def make_agent(sandbox, store, tmp_path):
    """make_agent(rules_yaml) -> an Agent whose episode runs under a profile of those rules."""
    count = iter(range(1000))

    def make(rules: str, seed: int = 1) -> Agent:
        path = tmp_path / f"profile-{next(count)}.yaml"
        path.write_text(f"name: test\nseed: {seed}\nrules:\n{rules}")
        return Agent(sandbox, store, path)

    old = stripe.ca_bundle_path
    stripe.ca_bundle_path = str(sandbox.home.ca_cert)  # the SDK pins its own bundle (see examples/)
    yield make
    stripe.ca_bundle_path = old


def summary(agent: Agent) -> list[tuple]:
    by_id = {e["id"]: e for e in agent.exchanges()}
    return [(by_id[f["exchange_id"]]["path"], f["rule"], f["action"]) for f in agent.faults()]


# -- transport and HTTP faults --------------------------------------------------------------------


def test_latency_is_drawn_from_the_seeds_and_recorded(make_agent):
    agent = make_agent("""
  - name: slow
    match: {method: GET, path: "/v1/charges/*"}
    action: {kind: latency, lognormal: {median_ms: 20, sigma: 0.5, cap_ms: 200}}
""")
    sdk = agent.stripe()
    for _ in range(2):
        assert sdk.v1.charges.retrieve(FACT["original_charge"]).amount == FACT["amount"]
    state = EpisodeFaults(load_profile(agent.episode.faults), 7)
    expected = [latency_ms(state.decide(Call("api.stripe.com", "GET", "/v1/charges/x", "payments", n))[0])
                for n in (1, 2)]
    assert [f["detail"]["delay_ms"] for f in agent.faults()] == expected
    assert [(f["exchange_id"], f["action"]) for f in agent.faults()] == [(1, "latency"), (2, "latency")]


def test_dribble_sends_the_body_in_paced_chunks(make_agent):
    agent = make_agent("""
  - name: drip
    match: {path: /v1/products}
    action: {kind: dribble, chunk_bytes: 200, interval_ms: 15}
""")
    proxy = ("127.0.0.1", agent.sandbox.proxy_port)
    credentials = base64.b64encode(f"{agent.episode.id}:{agent.episode.token}".encode()).decode()
    key = base64.b64encode(f"{agent.env['STRIPE_API_KEY']}:".encode()).decode()
    reads, data = [], b""
    with socket.create_connection(proxy, timeout=10) as sock:
        sock.sendall(f"GET http://api.stripe.com/v1/products?limit=5 HTTP/1.1\r\nHost: api.stripe.com\r\n"
                     f"Proxy-Authorization: Basic {credentials}\r\nAuthorization: Basic {key}\r\n\r\n".encode())
        while True:
            chunk = sock.recv(65536)
            assert chunk, "the proxy closed the connection before the body was complete"
            reads.append(len(chunk))
            data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length: *(\d+)", head)
            if length and len(body) >= int(length.group(1)):
                break
    assert head.startswith(b"HTTP/1.1 200")
    assert len(body) > 600
    assert len(reads) >= len(body) // 200  # one read per paced chunk, not the body at once
    [row] = agent.exchanges()
    assert row["response_body"] == body  # the ledger has the whole body, as the client got it
    assert agent.faults()[0]["detail"]["chunk_bytes"] == 200


def test_error_comes_in_stripes_own_shape(make_agent):
    agent = make_agent("""
  - name: boom
    match: {path: "/v1/customers*", nth: 1}
    action: {kind: error, status: 503, message: Stripe is having a moment.}
""")
    sdk = agent.stripe()
    with pytest.raises(stripe.APIError) as info:
        sdk.v1.customers.list()
    assert info.value.http_status == 503
    assert info.value.json_body["error"] == {"message": "Stripe is having a moment.", "type": "api_error"}
    assert len(sdk.v1.customers.list(params={"limit": 1}).data) == 1  # only the first call
    assert [(e["status"], e["outcome"]) for e in agent.exchanges()] == [(503, "faulted"), (200, "routed")]


def test_rate_limit_429_with_retry_after_and_the_sdk_retries(make_agent):
    agent = make_agent("""
  - name: throttle
    match: {path: "/v1/charges/*", nth: 1}
    action: {kind: rate_limit, retry_after: 1}
""")
    charge = agent.stripe(retries=1).v1.charges.retrieve(FACT["original_charge"])
    assert charge.amount == FACT["amount"]
    first, second = agent.exchanges()
    headers = {k.lower(): v for k, v in first["response_headers"]}
    assert (first["status"], headers["retry-after"], headers["stripe-should-retry"]) == (429, "1", "true")
    assert second["status"] == 200
    assert summary(agent) == [(first["path"], "throttle", "rate_limit")]


def test_connection_reset_before_the_write_so_a_retry_refunds_once(make_agent):
    agent = make_agent("""
  - name: cut
    match: {method: POST, path: /v1/refunds, nth: 1}
    action: {kind: reset}
""")
    with pytest.raises(stripe.APIConnectionError):
        agent.stripe(retries=0).v1.refunds.create(params={"charge": FACT["duplicate_charge"]})
    assert agent.refunds() == []  # the request never reached the fake
    agent.stripe(retries=0).v1.refunds.create(params={"charge": FACT["duplicate_charge"]})
    assert len(agent.refunds()) == 1
    first = agent.exchanges()[0]
    assert (first["status"], first["outcome"], first["error"]) == (None, "faulted", "Connection killed.")


def test_hang_holds_the_call_until_the_client_gives_up(make_agent):
    agent = make_agent("""
  - name: stuck
    match: {path: /v1/payment_intents}
    action: {kind: hang, max_s: 30}
""")
    with pytest.raises(requests.exceptions.ReadTimeout):
        agent.requests().get("https://api.stripe.com/v1/payment_intents", timeout=0.5)
    deadline = time.monotonic() + 15  # the proxy notices the client left and closes the exchange
    while time.monotonic() < deadline and agent.exchanges()[0]["outcome"] == "pending":
        time.sleep(0.05)
    [row] = agent.exchanges()
    assert (row["outcome"], row["status"]) == ("faulted", None)
    assert summary(agent) == [("/v1/payment_intents", "stuck", "hang")]


def test_truncated_body_breaks_the_read(make_agent):
    agent = make_agent("""
  - name: cut-short
    match: {path: /v1/charges}
    action: {kind: truncate, fraction: 0.5}
""")
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        agent.requests().get("https://api.stripe.com/v1/charges?limit=5", timeout=10)
    [fault] = agent.faults()
    assert fault["detail"]["sent_bytes"] == fault["detail"]["declared_bytes"] // 2


def test_malformed_json_makes_the_sdk_fail_to_parse(make_agent):
    agent = make_agent("""
  - name: garbled
    match: {path: /v1/customers}
    action: {kind: malformed_json}
""")
    with pytest.raises(stripe.APIError, match="Invalid response body"):
        agent.stripe().v1.customers.list(params={"limit": 2})
    assert agent.faults()[0]["action"] == "malformed_json"


# -- semantic nuisance ------------------------------------------------------------------------------


def test_schema_drift_renames_hides_and_shrinks_pages(make_agent):
    agent = make_agent("""
  - name: drift
    match: {path: /v1/customers}
    action:
      kind: drift
      ops: [{rename: {field: email, to: email_address}}, {hide: phone}, {page_size: 1}, {add: {tier: gold}}]
""")
    page = agent.stripe().v1.customers.list(params={"limit": 3})
    assert len(page.data) == 1 and page.has_more is True
    customer = page.data[0]
    assert "email" not in customer and "phone" not in customer
    assert customer["email_address"].endswith("@example.net") or "@" in customer["email_address"]
    assert customer["tier"] == "gold"
    changes = agent.faults()[0]["detail"]["changes"]
    assert "cut data from 3 to 1 items" in changes and any(c.startswith("renamed email") for c in changes)


def test_expired_session_401_then_success(make_agent):
    agent = make_agent("""
  - name: expire
    match: {host: api.stripe.com, after_s: 2, times: 1}
    action: {kind: expire_session}
""")
    sdk = agent.stripe()
    sdk.v1.customers.list(params={"limit": 1})  # clock 1 s: before the rule's after_s
    with pytest.raises(stripe.AuthenticationError):
        sdk.v1.customers.list(params={"limit": 1})
    sdk.v1.customers.list(params={"limit": 1})
    assert [e["status"] for e in agent.exchanges()] == [200, 401, 200]


def test_resource_busy_409_is_retried_by_the_sdk(make_agent):
    agent = make_agent("""
  - name: locked
    match: {method: POST, nth: 1}
    action: {kind: busy, status: 409}
""")
    customer = agent.stripe(retries=1).v1.customers.update(FACT["customer"], params={"metadata": {"vip": "1"}})
    assert customer.metadata["vip"] == "1"
    assert [e["status"] for e in agent.exchanges()] == [409, 200]
    body = agent.exchanges()[0]["response_body"]
    assert b'"lock_timeout"' in body


def test_maintenance_page_for_browsers_and_vendor_error_for_apis(make_agent):
    agent = make_agent("""
  - name: down
    match: {path: "/v1/*"}
    action: {kind: maintenance, retry_after: 60}
""")
    session = agent.requests()
    page = session.get("https://api.stripe.com/v1/customers", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 503 and page.headers["Retry-After"] == "60" and "maintenance" in page.text
    api = session.get("https://api.stripe.com/v1/customers", timeout=10)
    assert api.status_code == 503 and api.json()["error"]["type"] == "api_error"


# -- the ghost write ----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["{kind: ghost_write, status: 500}", "{kind: ghost_write, drop: true}"])
def test_ghost_write_with_the_stripe_sdk_refunds_exactly_once(make_agent, action):
    agent = make_agent(f"""
  - name: ghost
    match: {{method: POST, path: /v1/refunds, nth: 1}}
    action: {action}
""")
    refund = agent.stripe(retries=2).v1.refunds.create(params={"charge": FACT["duplicate_charge"]})
    assert refund.amount == FACT["amount"]
    assert [c["row_key"] for c in agent.refunds()] == [refund.id]  # one refund, though it was written twice
    first, second = agent.exchanges()
    keys = [dict((k.lower(), v) for k, v in e["request_headers"])["idempotency-key"] for e in (first, second)]
    assert keys[0] == keys[1]  # the SDK retried with the same key, and the fake replayed the first refund
    assert dict((k.lower(), v) for k, v in second["response_headers"])["idempotent-replayed"] == "true"
    assert first["status"] == (500 if "500" in action else None)
    [fault] = agent.faults()
    assert (fault["exchange_id"], fault["detail"]["upstream_status"]) == (first["id"], 200)


def test_ghost_write_with_a_naive_client_refunds_twice(make_agent):
    agent = make_agent("""
  - name: ghost
    match: {method: POST, path: /v1/refunds, nth: 1}
    action: {kind: ghost_write, status: 502}
""")
    session = agent.requests()
    for _ in range(2):  # retry on a 5xx, without an Idempotency-Key
        response = session.post("https://api.stripe.com/v1/refunds",
                                 data={"charge": FACT["original_charge"], "amount": 500}, timeout=10)
        if response.status_code < 500:
            break
    assert response.status_code == 200
    assert [c["after"]["amount"] for c in agent.refunds()] == [500, 500]


# -- determinism, and a profile that goes missing ------------------------------------------------------


def test_same_profile_and_seed_give_identical_fault_ledgers_even_concurrently(make_agent, tmp_path):
    import threading

    rules = """
  - name: coin
    match: {method: GET, probability: 0.4}
    action: {kind: error, status: 500}
  - name: wait
    match: {every: 3}
    action: {kind: latency, uniform_ms: [1, 5]}
  - name: drift
    match: {path: /v1/customers, probability: 0.5}
    action: {kind: drift, ops: [{reorder: shuffle}]}
"""
    agents = [make_agent(rules), make_agent(rules), make_agent(rules, seed=2)]

    def work(agent: Agent) -> None:
        session = agent.requests()
        for i in range(15):
            path = "/v1/customers?limit=5" if i % 2 else f"/v1/charges/{FACT['original_charge']}"
            session.get(f"https://api.stripe.com{path}", timeout=10)

    threads = [threading.Thread(target=work, args=(a,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def ledger(agent: Agent) -> list[tuple]:
        return [(f["exchange_id"], f["rule"], f["action"], f["detail"], f["clock"]) for f in agent.faults()]

    same, again, other = (ledger(a) for a in agents)
    assert same and same == again
    assert other != same
    bodies = [[e["response_body"] for e in a.exchanges()] for a in agents[:2]]
    assert bodies[0] == bodies[1]  # the shuffles, too


def test_a_profile_that_vanished_is_refused_not_ignored(sandbox, store, tmp_path):
    path = tmp_path / "gone.yaml"
    path.write_text("name: gone\nseed: 1\nrules: []\n")
    agent = Agent(sandbox, store, path)
    path.unlink()
    response = agent.requests().get("https://api.stripe.com/v1/customers", timeout=10)
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "sandbox_fault_profile_unusable"
    assert "gone.yaml" in response.json()["error"]["message"]


def test_the_control_api_creates_an_episode_with_a_profile(sandbox):
    import json
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def create(body: dict) -> tuple[int, dict]:
        from sandbox.interfaces.control import control_headers

        request = urllib.request.Request(f"http://127.0.0.1:{sandbox.control_port}/episodes", method="POST",
                                         data=json.dumps(body).encode(), headers=control_headers(sandbox.home))
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    status, created = create({"seed": 7, "faults": "rate-limit"})
    assert status == 201 and created["faults"] == "rate-limit"
    status, error = create({"seed": 7, "faults": "rate-limt"})
    assert status == 400 and "unknown fault profile 'rate-limt'" in error["error"]["message"]
    assert "rate-limit" in error["error"]["hint"]
