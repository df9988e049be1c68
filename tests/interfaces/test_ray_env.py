"""The Gym env and the Python API from Ray workers: handles and envs pickle, env actors of one node
share one sandbox, and their rewards are the task's scores."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import ray

from sandbox.interfaces.api import SandboxHandle, start_episode
from sandbox.interfaces.gym_env import ActionError, SandboxEnv
from tests.ray_support import short_temp_dir

TASK = "refund-duplicate-charge"
CUSTOMERS = "https://api.stripe.com/v1/customers"


def test_handles_pickle_as_where_the_sandbox_listens(running_sandbox):
    handle = SandboxHandle(running_sandbox.home, running_sandbox.ports, _owned=running_sandbox)
    copy = pickle.loads(pickle.dumps(handle))
    assert (copy.home, copy.ports, copy._owned) == (handle.home, handle.ports, None)  # a copy never stops it
    ep = start_episode(TASK, sandbox=handle)
    assert ep.request("GET", CUSTOMERS).status_code == 200  # a session now, which does not travel
    moved = pickle.loads(pickle.dumps(ep))
    assert moved.id == ep.id and moved.request("GET", CUSTOMERS, params={"limit": 1}).status_code == 200
    assert moved.finish().details["calls"] == 2  # both processes' calls are in the one ledger


def test_an_env_pickles_as_its_config_but_not_mid_episode(running_sandbox):
    handle = SandboxHandle(running_sandbox.home, running_sandbox.ports)
    env = SandboxEnv(TASK, faults="none", sandbox=handle, reward="delta")
    again = pickle.loads(pickle.dumps(env))
    assert again.config == env.config and again.config["reward"] == "delta"
    env.reset()
    with pytest.raises(ActionError) as caught:
        pickle.dumps(env)
    assert "in the middle of episode" in caught.value.message and "env.config" in caught.value.hint
    env.close()
    assert pickle.loads(pickle.dumps(env)).ep is None


@pytest.fixture
def local_ray(monkeypatch):
    """Ray on this machine alone, on loopback, its files in a short temp folder; shut down after."""
    with short_temp_dir() as temp:
        monkeypatch.setenv("RAY_TMPDIR", str(temp))
        monkeypatch.setenv("SANDBOX_SERVICES", "payments")  # inherited by the actors: one fake, not four
        ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=78 * 1024 * 1024,
                 _node_ip_address="127.0.0.1", _temp_dir=str(temp / "ray"), log_to_driver=False)
        try:
            yield
        finally:
            ray.shutdown()


@pytest.mark.slow
def test_env_actors_of_one_node_share_its_sandbox_and_score_like_any_agent(local_ray, tmp_path):
    home = tmp_path / "home"
    Env = ray.remote(SandboxEnv)
    envs = [Env.remote(TASK, home=str(home)) for _ in range(2)]
    starts = ray.get([env.reset.remote(seed=7 + i) for i, env in enumerate(envs)])
    assert len({info["episode"] for _, info in starts}) == 2
    steps = ray.get([env.step.remote({"method": "GET", "url": CUSTOMERS}) for env in envs])
    assert [obs["response"]["status"] for obs, *_ in steps] == [200, 200]
    ends = ray.get([env.step.remote({"method": "DONE"}) for env in envs])
    # Nothing refunded: the task's score for a read-only agent, from the ledger, as for any agent.
    ended = [(terminated, info["final"], info["success"]) for _, _, terminated, _, info in ends]
    assert ended == [(True, True, False)] * 2
    proxies = [p for p in Path("/proc").glob("[0-9]*/cmdline")
               if b"sandbox.proxy" in _read(p) and str(home).encode() in _read(p)]
    assert len(proxies) == 1  # the first actor started it, the second found it running
    ray.get([env.close.remote() for env in envs])


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # a process that ended while we looked
        return b""
