"""The Python API: `with sandbox.episode(task, faults=...) as ep:` against the session's sandbox."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import sandbox
from sandbox.episodes.store import EpisodeStore
from sandbox.errors import ConfigError, TaskError
from sandbox.world import world

ROOT = Path(__file__).resolve().parents[2]
FACT = world(7).facts["double_charge"]
STRIPE = "https://api.stripe.com/v1"
GHOST = ROOT / "tests" / "sweep" / "profiles" / "ghost-refund.yaml"


def test_requests_through_the_episode_are_scored_with_partial_credit_then_finished(running_sandbox):
    home = running_sandbox.home
    with sandbox.episode("refund-duplicate-charge", home=home) as ep:
        found = ep.request("GET", f"{STRIPE}/customers", params={"email": FACT["customer_email"]})
        assert [c["id"] for c in found.json()["data"]] == [FACT["customer"]]
        assert ep.score().score == 0.0
        refund = ep.request("POST", f"{STRIPE}/refunds", data={"charge": FACT["duplicate_charge"]})
        assert refund.status_code == 200
        mid = ep.score()
        assert mid.success and mid.details["calls"] == 2
    assert ep.result.success and ep.result.score == 1.0
    assert EpisodeStore(home).require(ep.id).status == "finished"
    with EpisodeStore(home).ledger(ep.id) as ledger:
        assert [e["path"] for e in ledger.exchanges()] == ["/v1/customers", "/v1/refunds"]


def test_an_agent_process_runs_inside_the_episode(running_sandbox):
    with sandbox.episode("refund-duplicate-charge", home=running_sandbox.home) as ep:
        proc = ep.run([sys.executable, str(ROOT / "examples" / "careful_refund_agent.py")])
        assert proc.returncode == 0, proc.stderr
        assert FACT["duplicate_charge"] in proc.stdout
    assert ep.result.success


IGNORES_THE_PROXY = """
import os, ssl, urllib.request
context = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
request = urllib.request.Request("https://api.stripe.com/v1/customers?limit=1",
                                 headers={"Authorization": "Bearer " + os.environ["STRIPE_API_KEY"]})
print(opener.open(request, timeout=10).status)
"""


def test_an_agent_process_is_isolated_like_under_sandbox_run(running_sandbox):
    from sandbox.isolation import isolation_available

    if not isolation_available()[0]:
        pytest.skip("user namespaces are not available here")
    with sandbox.episode("refund-duplicate-charge", home=running_sandbox.home) as ep:
        proc = ep.run([sys.executable, "-c", IGNORES_THE_PROXY])  # no proxy: only isolation can route it
        assert proc.returncode == 0 and proc.stdout.strip() == "200", proc.stderr
        with EpisodeStore(running_sandbox.home).ledger(ep.id) as ledger:
            assert [(e["host"], e["via"], e["status"]) for e in ledger.exchanges()] == [
                ("api.stripe.com", "proxy", 200)]


def test_faults_apply_and_a_retry_without_idempotency_is_a_duplicated_write(running_sandbox):
    with sandbox.episode("refund-duplicate-charge", faults=str(GHOST), home=running_sandbox.home) as ep:
        form = {"charge": FACT["duplicate_charge"], "amount": 1000}
        assert ep.request("POST", f"{STRIPE}/refunds", data=form).status_code == 500  # refunded, answer lost
        assert ep.request("POST", f"{STRIPE}/refunds", data=form).status_code == 200  # refunded again
    efficiency = ep.result.details["efficiency"]
    assert (efficiency["retries"], efficiency["duplicated_writes"]) == (1, 1)
    assert not ep.result.success


def test_an_exception_in_the_block_still_finishes_and_scores(running_sandbox):
    with pytest.raises(RuntimeError, match="agent bug"), \
            sandbox.episode("refund-duplicate-charge", home=running_sandbox.home) as ep:
        raise RuntimeError("agent bug")
    assert ep.result is not None and not ep.result.success


def test_bad_task_or_profile_fails_before_an_episode_exists(running_sandbox):
    with pytest.raises(TaskError, match="did you mean"):
        sandbox.start_episode("refund-duplicate-charg", home=running_sandbox.home)
    with pytest.raises(ConfigError, match="unknown fault profile"):
        sandbox.start_episode("refund-duplicate-charge", faults="ghost-refnd", home=running_sandbox.home)


def test_an_episode_with_a_route_to_a_model_server(running_sandbox):
    from tests.proxy.model_stand_in import MODEL, ModelStandIn

    with ModelStandIn() as server:
        with sandbox.episode("refund-duplicate-charge", home=running_sandbox.home,
                             routes={"api.openai.com": f"{server.url}/v1"}) as ep:
            models = ep.request("GET", "https://api.openai.com/v1/models")
            assert [m["id"] for m in models.json()["data"]] == [MODEL]
            assert [r.url for r in ep.episode.routes] == [f"{server.url}/v1"]
    with EpisodeStore(running_sandbox.home).ledger(ep.id) as ledger:
        assert [(e["host"], e["service"], e["outcome"]) for e in ledger.exchanges()] == [
            ("api.openai.com", "route:api.openai.com", "routed")]
    before = len(EpisodeStore(running_sandbox.home).list())
    with pytest.raises(ConfigError, match=r"routes\[0\]: cannot parse 'api.openai.com'"):
        sandbox.episode("refund-duplicate-charge", home=running_sandbox.home, routes=["api.openai.com"]).__enter__()
    assert len(EpisodeStore(running_sandbox.home).list()) == before


def test_a_fault_seed_gives_one_world_its_own_fault_draws(running_sandbox):
    """The RL loop's per-trial draws: same world and profile, the refund's coin follows the fault seed."""
    from tests.sweep.test_fault_draws import COIN, coin_fires

    heads, tails = 1, 4  # refund-coin with profile seed 1: fires for fault seed 1, not for 4 (the engine says)
    assert (coin_fires(heads), coin_fires(tails)) == (True, False)
    statuses = {}
    for fault_seed in (heads, tails):
        with sandbox.episode("refund-duplicate-charge", faults=str(COIN), fault_seed=fault_seed,
                             home=running_sandbox.home) as ep:
            assert ep.episode.fault_seed == fault_seed
            statuses[fault_seed] = ep.request("POST", f"{STRIPE}/refunds",
                                              data={"charge": FACT["duplicate_charge"]}).status_code
    assert statuses == {heads: 500, tails: 200}
