"""The Gymnasium-style environment: HTTP requests as actions, the task's score as reward."""

from __future__ import annotations

import pytest
import yaml

from sandbox.interfaces.gym_env import ActionError, SandboxEnv
from sandbox.tasks.registry import task_path
from sandbox.world import world

FACT = world(7).facts["double_charge"]
STRIPE = "https://api.stripe.com/v1"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
LOOKUP = {"method": "GET", "url": f"{STRIPE}/customers?email={FACT['customer_email']}"}
REFUND = {"method": "POST", "url": f"{STRIPE}/refunds", "headers": FORM, "body": {"charge": FACT["duplicate_charge"]}}


@pytest.fixture
def env(running_sandbox):
    env = SandboxEnv("refund-duplicate-charge", home=running_sandbox.home)
    yield env
    env.close()


def test_an_episode_of_requests_earns_the_score(env):
    obs, info = env.reset()
    assert FACT["customer_email"] in obs["instruction"]
    assert {"id": "payments", "hosts": ["api.stripe.com", "mcp.stripe.com", "dashboard.stripe.com"]} in obs["services"]
    obs, reward, terminated, truncated, info = env.step(LOOKUP)
    assert obs["response"]["status"] == 200 and FACT["customer"] in obs["response"]["body"]
    assert (reward, terminated, truncated) == (0.0, False, False)
    obs, reward, terminated, truncated, info = env.step(REFUND)
    assert obs["response"]["status"] == 200 and reward == 1.0 and not info["final"]
    obs, reward, terminated, truncated, info = env.step({"method": "DONE"})
    assert (reward, terminated, truncated, info["final"], info["success"]) == (1.0, True, False, True, True)
    with pytest.raises(ActionError, match="the episode is over"):
        env.step(LOOKUP)


def test_reset_gives_a_fresh_world_and_delta_rewards_sum_to_the_score(running_sandbox):
    env = SandboxEnv("refund-duplicate-charge", home=running_sandbox.home, reward="delta")
    try:
        rewards = []
        for _ in range(2):
            env.reset()
            rewards = [env.step(REFUND)[1], env.step(LOOKUP)[1], env.step({"method": "done"})[1]]
        assert rewards == [1.0, 0.0, 0.0]  # the second episode could refund again: a fresh world
        assert sum(rewards) == env.ep.result.score
    finally:
        env.close()


def test_the_call_limit_truncates_and_scores(running_sandbox, tmp_path):
    doc = yaml.safe_load(task_path("refund-duplicate-charge").read_text())
    doc.update(id="two-calls", limits={"calls": 2, "seconds": 60})
    path = tmp_path / "two-calls.yaml"
    path.write_text(yaml.safe_dump(doc))
    env = SandboxEnv(str(path), home=running_sandbox.home)
    try:
        env.reset()
        assert env.step(LOOKUP)[3] is False
        obs, reward, terminated, truncated, info = env.step(LOOKUP)
        assert (terminated, truncated, info["final"], reward) == (False, True, True, 0.0)
    finally:
        env.close()


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("GET /", "an action is a dict"),
        ({"method": "GET", "url": "ftp://x"}, "is not an http"),
        ({"method": "GET /v1", "url": STRIPE}, "is not an HTTP method"),
        ({"method": "GET", "url": STRIPE, "params": {}}, "unknown action field"),
    ],
)
def test_bad_actions_are_refused_clearly(env, action, message):
    env.reset()
    with pytest.raises(ActionError, match=message):
        env.step(action)


def test_reset_takes_a_fault_seed_for_its_own_draws(running_sandbox):
    from tests.sweep.test_fault_draws import COIN, coin_fires

    env = SandboxEnv("refund-duplicate-charge", faults=str(COIN), home=running_sandbox.home)
    try:
        statuses = []
        for fault_seed in (1, 4):
            env.reset(options={"fault_seed": fault_seed})
            assert env.ep.episode.fault_seed == fault_seed
            statuses.append(env.step(REFUND)[0]["response"]["status"])
        assert statuses == [500 if coin_fires(s) else 200 for s in (1, 4)] == [500, 200]
    finally:
        env.close()
