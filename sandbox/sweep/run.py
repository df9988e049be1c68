"""Run a sweep: every cell of a plan as an isolated episode, several at once, then the results.

Each episode gets its own databases and ledger, so parallel episodes never see each other; the
agents' output goes to `<home>/episodes/<id>/agent.log`. A row per episode holds the score and the
efficiency figures; a drill-down per episode (exchanges, faults, changes, reasons) feeds the report.
An episode that fails in the sandbox is a failed row, and each row can go to disk as it is made.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from sandbox.episodes.ledger import Ledger
from sandbox.errors import SandboxError
from sandbox.home import Home
from sandbox.isolation import decide
from sandbox.scoring.score import describe_change, split_setup
from sandbox.sweep import stats
from sandbox.sweep.episode import prepare_templates, project_pythonpath, run_episode, tail
from sandbox.sweep.plan import Cell, SweepPlan
from sandbox.tasks.setup import setup_marks

RESULTS_VERSION = 1
Row = dict[str, Any]


def run_cell(cell: Cell, command: list[str], home: Home, ports: dict[str, Any], timeout: float | None,
             stop: threading.Event | None = None, isolate: bool | None = None,
             episode_id: str | None = None) -> tuple[Row, dict[str, Any] | None]:
    """The row and drill-down of one cell. An episode that fails (not the agent: the sandbox, a
    setup step, the scoring) is a failed row with the error in its reasons, not the sweep's end.
    `episode_id`: the new episode's id (default: the home's next number)."""
    faults = None if cell.faults == stats.BASELINE else cell.faults
    try:
        run = run_episode(cell.task, command, home=home, ports=ports, faults=faults, timeout=timeout,
                          extra_env=project_pythonpath(), stop=stop, isolate=isolate, fault_seed=cell.fault_seed,
                          episode_id=episode_id)
        details = run.score.details
        drill = drill_down(home, run.episode, run.score.reasons, tail(run.log))
    except Exception as exc:
        return failed_row(cell, exc), None
    efficiency = details.get("efficiency", {})
    row = {
        "agent": cell.agent, "task": cell.task.id, "faults": cell.faults, "seed": cell.seed, "trial": cell.trial,
        "fault_seed": cell.draw_seed, "episode": run.episode, "success": bool(run.score.success),
        "score": run.score.score,
        "credit": details.get("credit"), "calls": efficiency.get("calls", 0), "errors": efficiency.get("errors", 0),
        "retries": efficiency.get("retries", 0), "duplicated_writes": efficiency.get("duplicated_writes", 0),
        "seconds": round(run.seconds, 3), "exit_code": run.exit_code, "timed_out": run.timed_out,
        "harms": len(details.get("harms", [])), "leaks": len(details.get("leaks", [])),
        "faults_fired": details.get("faults", 0), "reasons": run.score.reasons, "error": None,
        "cost": run.score.cost, "cost_lines": run.score.cost_lines, "reruns": 0,
    }
    return row, drill


def failed_row(cell: Cell, exc: Exception) -> Row:
    """A row for an episode that could not be run to a score: a failure, scored 0, saying why.
    `episode` is its id if it was created (its ledger has the traceback), else empty."""
    error = exc.message if isinstance(exc, SandboxError) else f"{type(exc).__name__}: {exc}"
    return {
        "agent": cell.agent, "task": cell.task.id, "faults": cell.faults, "seed": cell.seed, "trial": cell.trial,
        "fault_seed": cell.draw_seed, "episode": getattr(exc, "episode", ""), "success": False, "score": 0.0,
        "credit": None, "calls": 0,
        "errors": 0, "retries": 0, "duplicated_writes": 0, "seconds": 0.0, "exit_code": None, "timed_out": False,
        "harms": 0, "leaks": 0, "faults_fired": 0, "reasons": [f"sweep error: {error}"], "error": error,
        "cost": None, "cost_lines": [],  # not scored, so not priced: None, never a reassuring $0
        "reruns": 0,
    }


def drill_down(home: Home, episode: str, reasons: list[str], agent_log: str) -> dict[str, Any]:
    """What the report shows for one episode: its timeline of exchanges with faults, its changes."""
    with Ledger(home.ledger_path(episode)) as ledger:
        exchanges = ledger.exchanges()
        faults = ledger.faults()
        setup, changes = split_setup(ledger.state_changes(), setup_marks(ledger.meta()))
    fired: dict[int | None, list[str]] = {}
    for fault in faults:
        fired.setdefault(fault["exchange_id"], []).append(f"{fault['rule']}: {fault['action']}")
    return {
        "exchanges": [
            {"id": e["id"], "clock": e["clock"], "method": e["method"], "host": e["host"], "path": e["path"],
             "status": e["status"], "outcome": e["outcome"], "ms": round(e["duration_ms"] or 0, 1),
             "faults": fired.get(e["id"], [])}
            for e in exchanges
        ],
        "faults": [f"{f['rule']}: {f['action']} (exchange {f['exchange_id']})" for f in faults],
        "changes": [{"exchange": c["exchange_id"], "change": describe_change(c)} for c in changes],
        "setup": [describe_change(c) for c in setup],
        "reasons": reasons,
        "agent_log": agent_log,
    }


def run_sweep(plan: SweepPlan, *, home: Home, ports: dict[str, Any], parallel: int = 2,
              timeout: float | None = None, on_done: Callable[[Row], None] | None = None,
              bootstrap_seed: int = 0, partial: Path | None = None, isolate: bool | None = None) -> dict[str, Any]:
    """Run every cell of `plan` in the sandbox at `ports`; returns the results document.

    `partial`: a JSON-lines file that gets each row as its episode finishes (flushed to disk), so an
    interrupted or killed sweep keeps every finished result. On KeyboardInterrupt the running agents
    are killed, their episodes closed and left out of `partial`, and the interrupt goes on up.
    `isolate` as in run_task: None runs each agent in its own network namespace where the kernel allows."""
    prepare_templates(home, [cell.seed for cell in plan.cells])
    decide(isolate)  # probed (and any warning printed) once, here, before the worker threads
    rows: list[Row] = []
    episodes: dict[str, Any] = {}
    stop = threading.Event()
    with contextlib.ExitStack() as stack:
        keep = stack.enter_context(row_sink(partial, rows, episodes, on_done))
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=max(1, parallel)))
        futures = [pool.submit(run_cell, cell, plan.agents[cell.agent], home, ports, timeout, stop, isolate)
                   for cell in plan.cells]
        try:
            for future in as_completed(futures):
                keep(*future.result())
        except BaseException:
            stop.set()  # the pool's exit waits for the running cells: their agents are killed now, not at the limit
            for future in futures:
                future.cancel()
            raise
    return plan_document(plan, rows, episodes, bootstrap_seed=bootstrap_seed)


@contextlib.contextmanager
def row_sink(partial: Path | None, rows: list[Row], episodes: dict[str, Any],
             on_done: Callable[[Row], None] | None = None) -> Iterator[Callable[[Row, dict[str, Any] | None], None]]:
    """A function that keeps one finished episode: its row in `rows`, its drill-down in `episodes`,
    the row on disk in `partial` (flushed, one JSON line) and then `on_done(row)`. Every backend
    keeps its rows through this, so `results.partial.jsonl` means the same whoever ran the episodes."""
    if partial is not None and partial.exists() and partial.stat().st_size:
        # An earlier interrupted sweep's rows are all that is left of it: keep them aside.
        partial.replace(partial.with_name(partial.stem + ".previous.jsonl"))
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(open(partial, "w", encoding="utf-8")) if partial is not None else None

        def keep(row: Row, drill: dict[str, Any] | None) -> None:
            rows.append(row)
            if drill is not None:
                episodes[row["episode"]] = drill
            if sink is not None:
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                os.fsync(sink.fileno())
            if on_done:
                on_done(row)

        yield keep


def plan_document(plan: SweepPlan, rows: list[Row], episodes: dict[str, Any], *, bootstrap_seed: int = 0
                  ) -> dict[str, Any]:
    """The results document with `rows` in the plan's order, however they finished."""
    order = {(c.agent, c.task.id, c.faults, c.seed, c.trial): i for i, c in enumerate(plan.cells)}
    rows.sort(key=lambda r: order[(r["agent"], r["task"], r["faults"], r["seed"], r["trial"])])
    return results_document(plan.config(), rows, episodes, bootstrap_seed=bootstrap_seed)


def results_document(config: dict[str, Any], rows: list[Row], episodes: dict[str, Any], *,
                     bootstrap_seed: int = 0) -> dict[str, Any]:
    """Everything the report needs, recomputable from `rows` (and `episodes` for the drill-down)."""
    trials = int(config.get("trials") or max((r["trial"] for r in rows), default=1))
    return {
        "version": RESULTS_VERSION,
        "config": config,
        "rows": rows,
        "summary": stats.summary(rows, trials),
        "noise": stats.flip_rate(rows),
        "cost": stats.costs(rows),
        "deltas": stats.paired_deltas(rows, metric="score", seed=bootstrap_seed)
        + stats.paired_deltas(rows, metric="success", seed=bootstrap_seed),
        "episodes": episodes,
    }
