"""`sandbox run TASK -- COMMAND`: one scored episode around one agent process.

The agent runs with the episode's environment (proxy, CA, API keys) plus the task's instruction in
`SANDBOX_TASK_INSTRUCTION`. Whatever the agent does — succeed, crash, hang past the task's time
limit — the episode is finished and scored, and the ledger says how the agent ended.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.agent_env import agent_env
from sandbox.episodes import Episode, EpisodeStore
from sandbox.errors import TaskError
from sandbox.home import Home
from sandbox.scoring import Score, score_ledger
from sandbox.tasks import Task


@dataclass
class RunResult:
    episode: Episode
    exit_code: int | None
    timed_out: bool
    seconds: float
    score: Score


def attach_task(store: EpisodeStore, episode: Episode, task: Task) -> None:
    """Store the resolved task in the episode's ledger, so it can be scored from the ledger alone,
    and apply its setup steps (recorded as setup, not as the agent's changes)."""
    from sandbox.tasks.setup import apply_setup

    with store.ledger(episode.id) as ledger:
        ledger.set_meta(task=task.id, task_spec=task.to_spec())
    apply_setup(store.home, episode.id, task)


def finish_and_score(store: EpisodeStore, episode_id: str, detail: dict[str, Any] | None = None
                     ) -> tuple[Episode, Score | None]:
    episode = store.finish(episode_id, detail)
    score = None if episode.task is None else score_ledger(store.home.ledger_path(episode_id), record=True)
    if episode.mode == "record" and episode.recording:
        from sandbox.recordings.store import finalize

        finalize(episode.id, episode.recording, store.home.ledger_path(episode_id))  # after the score: it says it
    return episode, score


def run_task(
    task: Task,
    command: list[str],
    *,
    home: Home,
    ports: dict[str, Any],
    episode_id: str | None = None,
    timeout: float | None = None,
    extra_env: dict[str, str] | None = None,
    faults: str | None = None,
    mode: str = "live",
    recording: str | None = None,
) -> RunResult:
    """`faults`: a fault profile (library name or YAML path) for the episode; see sandbox/faults.
    `mode` record or replay with `recording` (a file path): see sandbox/recordings. The episode may
    reach the task's `allowed_hosts` for real, whatever hosts the running proxy allows to everyone."""
    if not command:
        raise TaskError("no agent command given", hint="sandbox run TASK -- python my_agent.py")
    store = EpisodeStore(home)
    try:
        episode = store.create(task.seed, task=task.id, episode_id=episode_id, faults=faults, mode=mode,
                               recording=recording, allowed_hosts=task.allowed_hosts)
        attach_task(store, episode, task)
        env = {
            **os.environ,
            **agent_env(home, episode, ports),
            "SANDBOX_TASK_ID": task.id,
            "SANDBOX_TASK_INSTRUCTION": task.instruction,
            **(extra_env or {}),
        }
        limit = timeout if timeout is not None else task.limits.seconds
        started = time.monotonic()
        exit_code, timed_out, error = run_process(command, env, limit)
        seconds = time.monotonic() - started
        detail = {"exit_code": exit_code, "timed_out": timed_out, "seconds": round(seconds, 3), "command": command}
        if error:
            detail["error"] = error
        with store.ledger(episode.id) as ledger:
            ledger.record_event("agent_exit", detail)
        episode, score = finish_and_score(store, episode.id, {"agent": detail})
        assert score is not None  # the episode has a task
        return RunResult(episode, exit_code, timed_out, seconds, score)
    finally:
        store.close()


def run_process(command: list[str], env: dict[str, str], limit: float, log: Path | None = None
                ) -> tuple[int | None, bool, str | None]:
    """Run the agent in its own process group, so a hung agent and its children can be killed at
    `limit` seconds. Output goes to `log` when given (sweeps keep one per episode), else inherits
    ours. Returns (exit code or None, timed out, why it could not start)."""
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(log, "wb")) if log is not None else None
        try:
            proc = subprocess.Popen(command, env=env, start_new_session=True, stdout=out,
                                    stderr=subprocess.STDOUT if out else None,
                                    stdin=subprocess.DEVNULL if out else None)
        except OSError as exc:
            return None, False, f"{command[0]}: {exc.strerror or exc}"
        try:
            return proc.wait(timeout=limit), False, None
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return None, True, None
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
