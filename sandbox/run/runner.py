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
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.episodes.routes import parse_routes
from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.errors import EpisodeError, SandboxError, TaskError
from sandbox.home import Home
from sandbox.isolation import Isolation, isolation_for
from sandbox.run.agent_env import agent_env
from sandbox.run.supervisor import dies_with_us
from sandbox.scoring.score import Score, score_ledger
from sandbox.tasks import Task


@dataclass
class RunResult:
    episode: Episode
    exit_code: int | None
    timed_out: bool
    seconds: float
    score: Score
    log: Path | None = None  # where the agent's output went, if not to ours


class EpisodeFailed(EpisodeError):
    """Episode `episode` was created but could not be run to its score (a setup step failed, the
    scoring crashed...). The episode is finished and its ledger keeps the traceback (`run_error`)."""

    def __init__(self, episode: str, error: Exception) -> None:
        what = error.message if isinstance(error, SandboxError) else f"{type(error).__name__}: {error}"
        super().__init__(f"episode {episode} failed before its score: {what}",
                         hint=getattr(error, "hint", None) or "its ledger's run_error event has the traceback")
        self.episode = episode


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


def finish_and_score_task(store: EpisodeStore, episode_id: str, detail: dict[str, Any] | None = None
                          ) -> tuple[Episode, Score]:
    """finish_and_score for an episode that must have a task (a run of one): its score, never None."""
    episode, score = finish_and_score(store, episode_id, detail)
    if score is None:
        raise EpisodeError(f"episode {episode_id} has no task, so it has no score",
                           hint="create it with the task (EpisodeStore.create(task=...)) and attach_task()")
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
    log: Path | Callable[[Episode], Path] | None = None,
    stop: threading.Event | None = None,
    isolate: bool | None = None,
    fault_seed: int | None = None,
    routes: Iterable[Any] = (),
) -> RunResult:
    """`faults`: a fault profile (library name or YAML path) for the episode; see sandbox/faults.
    `fault_seed`: what the profile's draws use instead of the task's world seed (None: the world
    seed), so repeated runs of one world can meet different faults.
    `mode` record or replay with `recording` (a file path): see sandbox/recordings. The episode may
    reach the task's `allowed_hosts` for real, whatever hosts the running proxy allows to everyone.
    `log`: a file for the agent's output, or a function of the new episode giving one (sweeps keep
    `<episode folder>/agent.log`); without it the agent writes to our stdout and stderr.
    `stop`: when set, the agent is killed and the episode finished and scored as it stands (an
    interrupted sweep stops its running agents so).
    `isolate`: run the agent in its own network namespace whose only way out is the proxy
    (sandbox/isolation); None = where the kernel allows it, False = not, True = or fail.
    `routes`: hosts sent to a server of the operator's (`api.openai.com=http://127.0.0.1:8000/v1`,
    sandbox/episodes/routes.py), on top of the task's `routes:`; this episode only.

    A failure once the episode exists (a setup step, the scoring) finishes the episode and raises
    EpisodeFailed naming it."""
    if not command:
        raise TaskError("no agent command given", hint="sandbox run TASK -- python my_agent.py")
    store = EpisodeStore(home)
    try:
        episode = store.create(task.seed, task=task.id, episode_id=episode_id, faults=faults, mode=mode,
                               recording=recording, allowed_hosts=task.allowed_hosts, fault_seed=fault_seed,
                               routes=(*task.routes, *parse_routes(routes, where="--route")))
        try:
            return _run_in(store, episode, task, command, ports, timeout, extra_env, log, stop, isolate)
        except Exception as exc:
            _finish_failed(store, episode.id, exc)
            raise EpisodeFailed(episode.id, exc) from exc
    finally:
        store.close()


def _run_in(store: EpisodeStore, episode: Episode, task: Task, command: list[str], ports: dict[str, Any],
            timeout: float | None, extra_env: dict[str, str] | None, log: Path | Callable[[Episode], Path] | None,
            stop: threading.Event | None, isolate: bool | None = None) -> RunResult:
    attach_task(store, episode, task)
    env = {
        **os.environ,
        **agent_env(store.home, episode, ports),
        "SANDBOX_TASK_ID": task.id,
        "SANDBOX_TASK_INSTRUCTION": task.instruction,
        **(extra_env or {}),
    }
    log_path = log(episode) if callable(log) else log
    limit = timeout if timeout is not None else task.limits.seconds
    isolation, isolated = isolation_for(isolate, store.home, ports, env, [route.host for route in episode.routes])
    if isolation is not None:
        # Before the agent starts: the webhook deliverer must not mistake the host's loopback for the agent's.
        with store.ledger(episode.id) as ledger:
            ledger.set_meta(agent_isolated=True)
    started = time.monotonic()
    exit_code, timed_out, error = run_process(command, env, limit, log_path, stop, isolation=isolation)
    seconds = time.monotonic() - started
    detail: dict[str, Any] = {"exit_code": exit_code, "timed_out": timed_out, "seconds": round(seconds, 3),
                              "command": command, **isolated}
    if error:
        detail["error"] = error
    if stop is not None and stop.is_set():
        detail["stopped"] = True  # killed because the run was interrupted, not by its own doing
    with store.ledger(episode.id) as ledger:
        ledger.record_event("agent_exit", detail)
    finished, score = finish_and_score_task(store, episode.id, {"agent": detail})
    return RunResult(finished, exit_code, timed_out, seconds, score, log_path)


def _finish_failed(store: EpisodeStore, episode_id: str, error: Exception) -> None:
    """Keep the traceback in the ledger and close the episode, so the proxy refuses it from now on.
    Best effort: the original error is what the caller needs to see."""
    detail = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
    with contextlib.suppress(Exception):
        with store.ledger(episode_id) as ledger:
            ledger.record_event("run_error", detail)
    with contextlib.suppress(Exception):
        store.finish(episode_id, {"error": detail["error"]})


POLL = 0.2  # seconds between looks at `stop` while an agent runs


def run_process(command: list[str], env: dict[str, str], limit: float, log: Path | None = None,
                stop: threading.Event | None = None, *, isolation: Isolation | None = None
                ) -> tuple[int | None, bool, str | None]:
    """Run the agent in its own process group, so a hung agent and its children can be killed at
    `limit` seconds (or as soon as `stop` is set). Output goes to `log` when given (sweeps keep one
    per episode), else inherits ours. Returns (exit code or None, timed out, why it could not start).
    With `isolation`, the agent runs under its launcher, in a network namespace (sandbox/isolation)."""
    if isolation is not None:
        why_not = isolation.check(command, env)
        if why_not:
            return None, False, why_not
        command = isolation.wrap(command)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(log, "wb")) if log is not None else None
        try:
            # dies_with_us: SIGKILLed if we are (the kernel watches this thread, which waits for
            # the agent below, so it outlives the agent anyway).
            proc = subprocess.Popen(command, env=env, start_new_session=True, stdout=out,
                                    stderr=subprocess.STDOUT if out else None,
                                    stdin=subprocess.DEVNULL if out else None, preexec_fn=dies_with_us())
        except OSError as exc:
            return None, False, f"{command[0]}: {exc.strerror or exc}"
        deadline = time.monotonic() + limit
        try:
            while True:
                left = deadline - time.monotonic()
                try:
                    code = proc.wait(timeout=max(0.0, min(left, POLL) if stop is not None else left))
                    # The agent is done; anything it left running in its group goes with it.
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    return code, False, None
                except subprocess.TimeoutExpired:
                    if stop is not None and stop.is_set():
                        _kill(proc)
                        return proc.returncode, False, None
                    if time.monotonic() >= deadline:
                        _kill(proc)
                        return None, True, None
        except BaseException:
            _kill(proc)
            raise


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
