"""Rollouts on Ray: several Gym env actors, each stepping a policy through its own episodes of the
double-charge task, all sharing the one sandbox of their node (the same home).

    pip install 'agent-sandbox[ray]'
    python examples/ray_rollouts.py [--envs 2] [--episodes 2] [--address auto]

The policy here is scripted (find the customer, find the order's two charges, refund the later
one); an RL loop puts its model where `policy` is. Every rollout's reward is the task's score,
from the ledger, exactly as `sandbox run` would score an agent process doing the same calls.
Without --address, Ray runs on this machine alone, on loopback.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import ray

from sandbox.interfaces.gym_env import SandboxEnv

API = "https://api.stripe.com/v1"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def policy(obs: dict[str, Any], memory: dict[str, Any]) -> dict[str, Any]:
    """The next action from the last observation: three calls, then DONE."""
    response = obs.get("response") or {}
    if "email" not in memory:
        memory["email"] = re.search(r"<([^<>\s]+@[^<>\s]+)>", obs["instruction"]).group(1)
        memory["order"] = re.search(r"order (ORD-[\w-]+)", obs["instruction"]).group(1)
        return {"method": "GET", "url": f"{API}/customers?email={memory['email']}"}
    body = json.loads(response.get("body") or "{}")
    if "customer" not in memory:
        memory["customer"] = body["data"][0]["id"]
        return {"method": "GET", "url": f"{API}/charges?customer={memory['customer']}&limit=100"}
    if "refunded" not in memory:
        twins = [c for c in body["data"] if c["metadata"].get("order_id") == memory["order"]]
        duplicate = max(twins, key=lambda c: (c["created"], c["id"]))
        memory["refunded"] = duplicate["id"]
        return {"method": "POST", "url": f"{API}/refunds", "headers": FORM, "body": {"charge": duplicate["id"]}}
    return {"method": "DONE"}


def rollout(env: SandboxEnv, seed: int) -> dict[str, Any]:
    """One episode of `env` on world `seed`, to its end: what an RL loop collects."""
    obs, info = env.reset(seed=seed)
    memory: dict[str, Any] = {}
    total, steps = 0.0, 0
    while True:
        obs, reward, terminated, truncated, step_info = env.step(policy(obs, memory))
        total, steps = reward, steps + 1  # partial rewards: the last is the episode's score
        if terminated or truncated:
            return {"episode": info["episode"], "seed": seed, "steps": steps, "reward": total,
                    "success": step_info["success"]}


@ray.remote
class EnvWorker:
    """A Gym env in a Ray actor: built from a picklable config, in the actor's own process."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.env = SandboxEnv(**config)

    def rollouts(self, seeds: list[int]) -> list[dict[str, Any]]:
        try:
            return [rollout(self.env, seed) for seed in seeds]
        finally:
            self.env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", type=int, default=2, help="env actors")
    parser.add_argument("--episodes", type=int, default=2, help="rollouts per env actor")
    parser.add_argument("--address", default=None, help="a Ray cluster to join (default: this machine alone)")
    parser.add_argument("--home", default=None, help="the sandbox home the env actors share (default: a temp folder)")
    args = parser.parse_args()
    home = str(Path(args.home or tempfile.mkdtemp(prefix="ray-rollouts-")).resolve())
    if args.address:
        ray.init(address=args.address)
    else:
        ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1",
                 object_store_memory=100 * 1024 * 1024)
    try:
        config = SandboxEnv("refund-duplicate-charge", home=home).config  # picklable: built again in each actor
        workers = [EnvWorker.remote(config) for _ in range(args.envs)]
        seeds = [[7 + i * args.episodes + k for k in range(args.episodes)] for i in range(args.envs)]
        for results in ray.get([w.rollouts.remote(s) for w, s in zip(workers, seeds, strict=True)]):
            for r in results:
                print(f"{r['episode']}  seed {r['seed']}  {r['steps']} steps  reward {r['reward']:.2f}  "
                      f"{'pass' if r['success'] else 'fail'}")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
