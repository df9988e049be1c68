"""The walking skeleton end to end: the real stripe SDK, through the real proxy over HTTPS, to the
payments fake in its own gunicorn process, scored from the ledger."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import requests
import stripe

from sandbox.episodes.store import EpisodeStore
from sandbox.run.agent_env import agent_env
from sandbox.scoring.score import score_ledger
from sandbox.world import world

ROOT = Path(__file__).resolve().parent.parent
FACT = world(7).facts["double_charge"]


@pytest.fixture(scope="module")
def sandbox(running_sandbox):
    return running_sandbox


@pytest.fixture
def episode(sandbox):
    store = EpisodeStore(sandbox.home)
    yield store.create(7)
    store.close()


def client_for(sandbox, episode, key=None):
    """A StripeClient configured only through what `sandbox env` gives an agent."""
    env = agent_env(sandbox.home, episode, sandbox.ports)
    http = stripe.RequestsClient(proxy=env["HTTPS_PROXY"])
    old = stripe.ca_bundle_path
    stripe.ca_bundle_path = env["SSL_CERT_FILE"]
    return stripe.StripeClient(key or env["STRIPE_API_KEY"], http_client=http, max_network_retries=0), old


@pytest.fixture
def sdk(sandbox, episode):
    client, old = client_for(sandbox, episode)
    yield client
    stripe.ca_bundle_path = old


def ledger_of(sandbox, episode):
    return EpisodeStore(sandbox.home).ledger(episode.id)


def test_stripe_sdk_through_the_proxy_refunds_and_the_ledger_links_the_change(sandbox, episode, sdk):
    customers = sdk.v1.customers.list(params={"email": FACT["customer_email"]})
    assert [c.id for c in customers.data] == [FACT["customer"]]
    refund = sdk.v1.refunds.create(params={"charge": FACT["duplicate_charge"]})
    assert (refund.amount, refund.charge, refund.status) == (FACT["amount"], FACT["duplicate_charge"], "succeeded")

    with ledger_of(sandbox, episode) as ledger:
        exchanges = ledger.exchanges()
        changes = ledger.state_changes()
    assert [(e["via"], e["host"], e["method"], e["path"], e["status"]) for e in exchanges] == [
        ("proxy", "api.stripe.com", "GET", "/v1/customers", 200),
        ("proxy", "api.stripe.com", "POST", "/v1/refunds", 200),
    ]
    inserted = [c for c in changes if c["tbl"] == "refunds" and c["op"] == "insert"]
    assert [c["row_key"] for c in inserted] == [refund.id]
    assert inserted[0]["exchange_id"] == exchanges[1]["id"]
    assert any(c["tbl"] == "charges" and c["row_key"] == FACT["duplicate_charge"] for c in changes)


def test_two_episodes_do_not_see_each_others_writes(sandbox):
    store = EpisodeStore(sandbox.home)
    first, second = store.create(7), store.create(7)
    a, old = client_for(sandbox, first)
    b, _ = client_for(sandbox, second)
    try:
        a.v1.customers.update(FACT["customer"], params={"name": "Changed In A"})
        assert a.v1.customers.retrieve(FACT["customer"]).name == "Changed In A"
        assert b.v1.customers.retrieve(FACT["customer"]).name == FACT["customer_name"]
    finally:
        stripe.ca_bundle_path = old


def test_a_key_of_another_episode_is_refused_like_stripe_does(sandbox, episode):
    other = EpisodeStore(sandbox.home).create(7)
    client, old = client_for(sandbox, episode, key=other.api_keys["payments"])
    try:
        with pytest.raises(stripe.AuthenticationError) as info:
            client.v1.customers.list()
        assert info.value.http_status == 401
        assert "Invalid API Key" in info.value.user_message
    finally:
        stripe.ca_bundle_path = old


def _proxied(sandbox, userinfo):
    url = f"http://{userinfo}@127.0.0.1:{sandbox.proxy_port}" if userinfo else f"http://127.0.0.1:{sandbox.proxy_port}"
    return {"https": url, "http": url}


@pytest.mark.parametrize("userinfo", [None, "ep-nobody:token", "{episode}:wrong-token"])
def test_requests_without_valid_episode_credentials_get_407(sandbox, episode, userinfo):
    proxies = _proxied(sandbox, userinfo and userinfo.format(episode=episode.id))
    with pytest.raises(requests.exceptions.ProxyError, match="407"):
        requests.get("https://api.stripe.com/v1/customers", proxies=proxies, verify=str(sandbox.home.ca_cert),
                     timeout=10)
    response = requests.get("http://api.stripe.com/v1/customers", proxies=proxies, timeout=10)
    assert response.status_code == 407
    assert "sandbox env" in response.text


def test_egress_to_other_hosts_is_refused_and_in_the_ledger(sandbox, episode):
    proxies = _proxied(sandbox, f"{episode.id}:{episode.token}")
    response = requests.get("https://example.org/anything", proxies=proxies, verify=str(sandbox.home.ca_cert),
                            timeout=10)
    assert response.status_code == 403
    body = response.json()
    assert body["error"]["host"] == "example.org" and "allow" in body["error"]["hint"]
    with ledger_of(sandbox, episode) as ledger:
        assert [(e["host"], e["outcome"]) for e in ledger.exchanges()] == [("example.org", "refused")]


def test_direct_mode_by_base_url_records_the_exchange_itself(sandbox, episode):
    base = f"http://127.0.0.1:{sandbox.service_ports['payments']}"
    client = stripe.StripeClient(episode.api_keys["payments"], base_addresses={"api": base}, max_network_retries=0)
    assert client.v1.charges.retrieve(FACT["original_charge"]).amount == FACT["amount"]
    with ledger_of(sandbox, episode) as ledger:
        assert [(e["via"], e["path"], e["status"]) for e in ledger.exchanges()] == [
            ("direct", f"/v1/charges/{FACT['original_charge']}", 200)
        ]


def run_agent(sandbox, *command, timeout=None):
    args = [sys.executable, "-m", "sandbox.cli", "--home", str(sandbox.home.root), "run", "--json"]
    if timeout:
        args += ["--timeout", str(timeout)]
    proc = subprocess.run([*args, "refund-duplicate-charge", "--", *command], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout[proc.stdout.index("{\n"):])


def test_careful_agent_scores_one(sandbox):
    code, result = run_agent(sandbox, sys.executable, str(ROOT / "examples" / "careful_refund_agent.py"))
    assert code == 0, result
    assert (result["score"]["success"], result["score"]["score"]) == (True, 1.0)
    ledger = sandbox.home.ledger_path(result["episode"])
    assert score_ledger(ledger).to_dict() == result["score"] | {"reasons": result["score"]["reasons"]}


def test_careless_agent_scores_zero_naming_the_collateral_damage(sandbox):
    code, result = run_agent(sandbox, sys.executable, str(ROOT / "examples" / "careless_refund_agent.py"))
    assert code == 1
    assert (result["score"]["success"], result["score"]["score"]) == (False, 0.0)
    reasons = "\n".join(result["score"]["reasons"])
    assert "forbidden: the original charge refunded: payments.refunds insert" in reasons
    assert "collateral damage" in reasons


def test_a_crashing_agent_still_gets_a_scored_recorded_episode(sandbox):
    code, result = run_agent(sandbox, sys.executable, "-c", "raise SystemExit(3)")
    assert code == 1 and result["exit_code"] == 3
    assert "agent exited with status 3" in result["score"]["reasons"]
    assert any(r.startswith("missing:") for r in result["score"]["reasons"])


def test_a_hanging_agent_is_killed_at_the_time_limit_and_scored(sandbox):
    code, result = run_agent(sandbox, sys.executable, "-c", "import time; time.sleep(60)", timeout=1)
    assert code == 1 and result["timed_out"]
    assert any("killed at the task's time limit" in r for r in result["score"]["reasons"])


def test_control_api_creates_and_finishes_a_scored_episode(sandbox):
    from sandbox.interfaces.control import ControlClient

    control = ControlClient(sandbox.home, sandbox.control_port, timeout=10)
    status, created = control.post("/episodes", {"task": "refund-duplicate-charge"})
    assert status == 201 and created["env"]["STRIPE_API_KEY"].startswith("sk_test_")
    assert "SANDBOX_CONTROL_URL" not in created["env"]  # the agent is not handed the control plane
    status, finished = control.post(f"/episodes/{created['id']}/finish")
    assert status == 200 and finished["score"]["success"] is False  # the agent did nothing
    assert "env" not in finished["episode"] and "token" not in finished["episode"]
    status, error = control.post("/episodes", {"task": "no-such-task"})
    assert status == 400 and "unknown task" in error["error"]["message"]
    status, error = control.get("/episodes/ep-missing")
    assert status == 404
    # Without the token the same sandbox answers nothing but its health.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(f"http://127.0.0.1:{sandbox.control_port}/episodes", timeout=10)
    assert refused.value.code == 401 and "control.token" in json.loads(refused.value.read())["error"]["hint"]
    with opener.open(f"http://127.0.0.1:{sandbox.control_port}/health", timeout=10) as health:
        assert health.status == 200


def test_sandbox_env_prints_what_an_agent_needs(sandbox, episode):
    proc = subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "--home", str(sandbox.home.root), "env", episode.id, "--json"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    env = json.loads(proc.stdout)
    assert env["HTTPS_PROXY"] == f"http://{episode.id}:{episode.token}@127.0.0.1:{sandbox.proxy_port}"
    assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == str(sandbox.home.ca_cert)
    assert env["STRIPE_API_KEY"] == episode.api_keys["payments"]
    # and it is enough: plain requests through the proxy, trusting only the sandbox CA
    proxies = {"https": env["HTTPS_PROXY"]}
    response = requests.get(f"https://api.stripe.com/v1/charges/{FACT['duplicate_charge']}", proxies=proxies,
                            verify=env["REQUESTS_CA_BUNDLE"], auth=(env["STRIPE_API_KEY"], ""), timeout=10)
    assert response.status_code == 200 and response.json()["amount"] == FACT["amount"]
