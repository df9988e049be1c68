"""One scored episode around one agent process, quietly: `sandbox run` (sandbox.run.runner.run_task)
with the agent's output in `<episode folder>/agent.log`, as many agents run at once under a
progress bar, and the episode named by its id.

Whatever the agent does (succeed, crash, hang past the time limit, fail to start) the episode is
finished and scored, and the ledger says how the agent ended.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home
from sandbox.run.runner import run_task
from sandbox.scoring.score import Score
from sandbox.tasks import Task

ROOT = Path(__file__).resolve().parent.parent.parent
AGENT_LOG = "agent.log"


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
    stop: threading.Event | None = None,
    isolate: bool | None = None,
    fault_seed: int | None = None,
    episode_id: str | None = None,
) -> EpisodeRun:
    """Create an episode of `task` (with fault profile `faults`, drawing from `fault_seed`), run
    `command` in it, score it; `isolate`, `fault_seed` and `episode_id` as in run_task. Raises what run_task
    raises (EpisodeFailed once the episode exists)."""

    def log(episode: Episode) -> Path:
        return home.episode_dir(episode.id) / AGENT_LOG

    run = run_task(task, command, home=home, ports=ports, faults=faults, timeout=timeout, extra_env=extra_env,
                   log=log, stop=stop, isolate=isolate, fault_seed=fault_seed, episode_id=episode_id)
    return EpisodeRun(run.episode.id, run.exit_code, run.timed_out, run.seconds, run.score,
                      run.log or log(run.episode))


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
