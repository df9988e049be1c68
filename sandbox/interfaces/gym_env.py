"""A Gymnasium-style environment: an action is one HTTP request, the reward is the task's score.

    from sandbox.interfaces.gym_env import SandboxEnv
    env = SandboxEnv("refund-duplicate-charge")
    obs, info = env.reset(seed=7)
    obs, reward, terminated, truncated, info = env.step(
        {"method": "GET", "url": "https://api.stripe.com/v1/customers", "headers": {}, "body": None})
    ...
    obs, reward, terminated, truncated, info = env.step({"method": "DONE"})   # ends the episode

Tree search: `snap = env.snapshot()` keeps the state reached so far (services, ledger, faults,
clock); `env.restore(snap)` (or `env.reset(options={"snapshot": snap})`) finishes the current episode
and goes on in a new one forked from it, as many times as wanted (sandbox/episodes/snapshot.py).
Rewards after a restore count from the snapshot's score, and the time limit starts again.

A body that is a dict is sent as JSON, or form-encoded when the action's headers say
`Content-Type: application/x-www-form-urlencoded` (as Stripe wants); a string is sent as is.

Observation: after reset, the instruction and the services (id and vendor hosts) the agent may
call; after a step, also the response (status, headers, body as text, truncated) or the
transport error. Reward: the score so far (partial credit) on every step (`reward="partial"`,
the default), or its change since the last step (`reward="delta"`: rewards sum to the final
score). `terminated` when the agent sends DONE; `truncated` at the task's call or time limit.
Either way the episode is then finished and scored, and the reward is the final score.

Requests go through the proxy of an embedded sandbox in this process, so the ledger, faults and
scoring are exactly those of any other agent. It subclasses `gymnasium.Env` when gymnasium is
installed; nothing here needs it.

In Ray: `ray.remote(SandboxEnv).remote("refund-duplicate-charge", home="/abs/home")` makes an env
actor; env actors of one node given one home share one sandbox (sandbox.interfaces.api), or pass
`sandbox=` a handle the driver started. An env pickles as its `config` (examples/ray_rollouts.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sandbox.episodes.snapshot import Snapshot
from sandbox.errors import SandboxError
from sandbox.home import Home
from sandbox.interfaces.api import EpisodeHandle, SandboxHandle, fork, shared_sandbox, start_episode
from sandbox.tasks import load_task

try:  # pragma: no cover - depends on what is installed
    import gymnasium

    _Base: type = gymnasium.Env
except ImportError:
    _Base = object

DONE = "DONE"
REWARDS = ("partial", "delta")


class ActionError(SandboxError):
    """An action that is not {"method", "url", "headers", "body"}."""


class SandboxEnv(_Base):
    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, task: str, *, faults: str | None = None, home: Any = None, sandbox: SandboxHandle | None = None,
                 reward: str = "partial", max_body: int = 20_000, auto_auth: bool = True) -> None:
        if reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
        self.task_ref = task
        self.task = load_task(task)
        # An absolute path: the env may be rebuilt from its config in a process with another working folder.
        home = str(Path(home).resolve()) if home is not None and not isinstance(home, Home) else home
        self.faults = faults
        self.reward_mode = reward
        self.max_body = max_body
        self.auto_auth = auto_auth
        self._sandbox = sandbox
        self._home = home
        self.ep: EpisodeHandle | None = None
        self._last_score = 0.0
        self._started = 0.0

    # -- in Ray (or any other process) -----------------------------------------------------------

    @property
    def config(self) -> dict[str, Any]:
        """The keyword arguments that build this env again, picklable: `SandboxEnv(**env.config)` in
        a Ray actor or task (an env creator's config, say) gives the same env, episodes aside."""
        return {"task": self.task_ref, "faults": self.faults, "home": self._home, "sandbox": self._sandbox,
                "reward": self.reward_mode, "max_body": self.max_body, "auto_auth": self.auto_auth}

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its config, so it can be handed to a Ray worker before it is used; an env in the
        middle of an episode cannot be (the episode lives in this process's sandbox handle)."""
        if self.ep is not None and self.ep.result is None:
            raise ActionError(f"this env is in the middle of episode {self.ep.id}, which cannot be pickled",
                              hint="pickle env.config (or the env before reset(), or after close()) and build the "
                                   "env in the worker: SandboxEnv(**config)")
        return (_from_config, (self.config,))

    # -- Gymnasium API -----------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A fresh episode (the previous one is finished). `seed` picks the world (default: the task's).
        `options={"snapshot": snap}` goes on from a snapshot instead (see `restore`);
        `options={"fault_seed": k}` draws the profile's faults from k (default: the world seed), so
        resets on one world can meet different fault timing."""
        if (options or {}).get("snapshot") is not None:
            return self.restore(options["snapshot"])  # type: ignore[index]
        self._finish()
        sandbox = self._sandbox or shared_sandbox(self._home)
        faults = (options or {}).get("faults", self.faults)
        self.ep = start_episode(self.task_ref, faults=faults, seed=seed, sandbox=sandbox,
                                fault_seed=(options or {}).get("fault_seed"))
        self._last_score = 0.0
        return self._begin()

    # -- tree search -------------------------------------------------------------------------

    def snapshot(self, name: str | None = None) -> Snapshot:
        """The current episode's state, to `restore` later (any number of times)."""
        if self.ep is None:
            raise ActionError("there is no episode to snapshot", hint="call reset() first")
        return self.ep.snapshot(name)

    def restore(self, snapshot: Snapshot | str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Finish the current episode and go on in a new one forked from `snapshot` (a Snapshot, or
        "EPISODE/NAME"); returns (obs, info) like reset, info["forked_from"] naming the snapshot."""
        self._finish()
        sandbox = self._sandbox or shared_sandbox(self._home)
        self.ep = fork(snapshot, sandbox=sandbox)
        # Delta rewards go on from the snapshot's own partial score, so they still sum to the final one.
        self._last_score = self.ep.score().score
        obs, info = self._begin()
        info["forked_from"] = snapshot if isinstance(snapshot, str) else snapshot.ref
        return obs, info

    # -- Gymnasium API -----------------------------------------------------------------------

    def _begin(self) -> tuple[dict[str, Any], dict[str, Any]]:
        assert self.ep is not None
        self.task = self.ep.task
        self._started = time.monotonic()
        from services import get_service

        services = [{"id": s, "hosts": list(get_service(s).hosts)} for s in self.task.services]
        obs = {"instruction": self.task.instruction, "task": self.task.id, "services": services, "response": None}
        return obs, {"episode": self.ep.id, "seed": self.task.seed, "limits": self.task.limits.__dict__}

    def step(self, action: dict[str, Any]) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self.ep is None or self.ep.result is not None:
            raise ActionError("the episode is over", hint="call reset() to start another")
        method, url, headers, body = _parse(action)
        if method == DONE:
            score = self.ep.finish()
            return self._observe(None), self._reward(score.score), True, False, self._info(score)
        response = self._send(method, url, headers, body)
        score = self.ep.score()
        calls = score.details.get("calls", 0)
        limits = self.task.limits
        truncated = (limits.calls is not None and calls >= limits.calls) or (
            time.monotonic() - self._started >= limits.seconds)
        if truncated:
            score = self.ep.finish()
        return self._observe(response), self._reward(score.score), False, truncated, self._info(score)

    def close(self) -> None:
        self._finish()

    # -- inside ------------------------------------------------------------------------------

    def _finish(self) -> None:
        if self.ep is not None and self.ep.result is None:
            self.ep.finish()

    def _send(self, method: str, url: str, headers: dict[str, str], body: Any) -> dict[str, Any]:
        import requests

        assert self.ep is not None
        # A dict body is sent as JSON, or form-encoded when the action's Content-Type says so (Stripe).
        form = any(k.lower() == "content-type" and "form-urlencoded" in v for k, v in headers.items())
        kwargs: dict[str, Any] = {"json": body} if isinstance(body, dict | list) and not form else {"data": body}
        try:
            resp = self.ep.request(method, url, headers=headers, auto_auth=self.auto_auth, allow_redirects=False,
                                   **kwargs)
        except requests.RequestException as exc:
            return {"status": None, "headers": {}, "body": "", "error": f"{type(exc).__name__}: {exc}"}
        text = resp.text
        return {"status": resp.status_code, "headers": dict(resp.headers), "body": text[: self.max_body],
                "truncated": len(text) > self.max_body, "error": None}

    def _observe(self, response: dict[str, Any] | None) -> dict[str, Any]:
        return {"instruction": self.task.instruction, "task": self.task.id, "response": response}

    def _reward(self, value: float) -> float:
        reward = value if self.reward_mode == "partial" else value - self._last_score
        self._last_score = value
        return float(reward)

    def _info(self, score: Any) -> dict[str, Any]:
        assert self.ep is not None
        return {"episode": self.ep.id, "score": score.score, "success": score.success, "reasons": score.reasons,
                "calls": score.details.get("calls", 0), "final": self.ep.result is not None}


def _from_config(config: dict[str, Any]) -> SandboxEnv:
    return SandboxEnv(**config)


def _parse(action: Any) -> tuple[str, str, dict[str, str], Any]:
    if not isinstance(action, dict):
        raise ActionError(f"an action is a dict, got {type(action).__name__}",
                          hint='{"method": "GET", "url": "https://api.stripe.com/v1/customers"}')
    unknown = set(action) - {"method", "url", "headers", "body"}
    if unknown:
        raise ActionError(f"unknown action field(s) {sorted(unknown)}", hint="use method, url, headers, body")
    method = str(action.get("method") or "").upper()
    if method == DONE:
        return method, "", {}, None
    if not method.isalpha():
        raise ActionError(f"action method {action.get('method')!r} is not an HTTP method (or DONE)")
    url = action.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ActionError(f"action url {url!r} is not an http(s) URL")
    headers = action.get("headers") or {}
    if not isinstance(headers, dict):
        raise ActionError("action headers must be a dict of strings")
    return method, url, {str(k): str(v) for k, v in headers.items()}, action.get("body")
