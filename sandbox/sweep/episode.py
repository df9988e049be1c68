"""One scored episode around one agent process, quietly: what `sandbox run` does, plus a fault
profile and the agent's output in a log file (many agents run at once under a progress bar).

Whatever the agent does (succeed, crash, hang past the time limit, fail to start) the episode is
finished and scored, and the ledger says how the agent ended.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.agent_env import agent_env
from sandbox.episodes import EpisodeStore
from sandbox.home import Home
from sandbox.runner import attach_task, finish_and_score, run_process
from sandbox.scoring import Score
from sandbox.tasks import Task

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass
class EpisodeRun:
    episode: str
    exit_code: int | None
    timed_out: bool
    seconds: float
    score: Score
    log: Path


def project_pythonpath() -> dict[str, str]:
    """`python -m sandbox.tasks.oracles...` must import from this checkout wherever it runs."""
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


def run_episode(
    task: Task,
    command: list[str],
    *,
    home: Home,
    ports: dict[str, Any],
    faults: str | None = None,
    timeout: float | None = None,
    extra_env: dict[str, str] | None = None,
) -> EpisodeRun:
    """Create an episode of `task` (with fault profile `faults`), run `command` in it, score it."""
    store = EpisodeStore(home)
    try:
        episode = store.create(task.seed, task=task.id, faults=faults, allowed_hosts=task.allowed_hosts)
        attach_task(store, episode, task)
        env = {
            **os.environ,
            **agent_env(home, episode, ports),
            "SANDBOX_TASK_ID": task.id,
            "SANDBOX_TASK_INSTRUCTION": task.instruction,
            **(extra_env or {}),
        }
        log = home.episode_dir(episode.id) / "agent.log"
        limit = timeout if timeout is not None else task.limits.seconds
        started = time.monotonic()
        exit_code, timed_out, error = run_process(command, env, limit, log)
        seconds = time.monotonic() - started
        detail: dict[str, Any] = {"exit_code": exit_code, "timed_out": timed_out, "seconds": round(seconds, 3),
                                  "command": command}
        if error:
            detail["error"] = error
        with store.ledger(episode.id) as ledger:
            ledger.record_event("agent_exit", detail)
        _, score = finish_and_score(store, episode.id, {"agent": detail})
        assert score is not None  # the episode has a task
        return EpisodeRun(episode.id, exit_code, timed_out, seconds, score, log)
    finally:
        store.close()


def prepare_templates(home: Home, seeds: list[int]) -> None:
    """Build the templates of `seeds` once, before episodes are created from several threads:
    template builds of one process share a staging folder and must not overlap."""
    store = EpisodeStore(home)
    try:
        for seed in sorted(set(seeds)):
            store.prepare(seed)
    finally:
        store.close()


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""
