"""Run a sweep: every cell of a plan as an isolated episode, several at once, then the results.

Each episode gets its own databases and ledger, so parallel episodes never see each other; the
agents' output goes to `<home>/episodes/<id>/agent.log`. A row per episode holds the score and the
efficiency figures; a drill-down per episode (exchanges, faults, changes, reasons) feeds the report.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from sandbox.home import Home
from sandbox.ledger import Ledger
from sandbox.scoring import describe_change, split_setup
from sandbox.sweep import stats
from sandbox.sweep.episode import prepare_templates, project_pythonpath, run_episode, tail
from sandbox.sweep.plan import Cell, SweepPlan
from sandbox.tasks.setup import setup_marks

RESULTS_VERSION = 1
Row = dict[str, Any]


def run_cell(cell: Cell, command: list[str], home: Home, ports: dict[str, Any], timeout: float | None
             ) -> tuple[Row, dict[str, Any]]:
    faults = None if cell.faults == stats.BASELINE else cell.faults
    run = run_episode(cell.task, command, home=home, ports=ports, faults=faults, timeout=timeout,
                      extra_env=project_pythonpath())
    details = run.score.details
    efficiency = details.get("efficiency", {})
    row = {
        "agent": cell.agent, "task": cell.task.id, "faults": cell.faults, "seed": cell.seed, "trial": cell.trial,
        "episode": run.episode, "success": bool(run.score.success), "score": run.score.score,
        "credit": details.get("credit"), "calls": efficiency.get("calls", 0), "errors": efficiency.get("errors", 0),
        "retries": efficiency.get("retries", 0), "duplicated_writes": efficiency.get("duplicated_writes", 0),
        "seconds": round(run.seconds, 3), "exit_code": run.exit_code, "timed_out": run.timed_out,
        "harms": len(details.get("harms", [])), "leaks": len(details.get("leaks", [])),
        "faults_fired": details.get("faults", 0), "reasons": run.score.reasons,
    }
    return row, drill_down(home, run.episode, run.score.reasons, tail(run.log))


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
              bootstrap_seed: int = 0) -> dict[str, Any]:
    """Run every cell of `plan` in the sandbox at `ports`; returns the results document."""
    prepare_templates(home, [cell.seed for cell in plan.cells])
    rows: list[Row] = []
    episodes: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = [pool.submit(run_cell, cell, plan.agents[cell.agent], home, ports, timeout) for cell in plan.cells]
        try:
            for future in as_completed(futures):
                row, drill = future.result()
                rows.append(row)
                episodes[row["episode"]] = drill
                if on_done:
                    on_done(row)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
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
        "deltas": stats.paired_deltas(rows, metric="score", seed=bootstrap_seed)
        + stats.paired_deltas(rows, metric="success", seed=bootstrap_seed),
        "episodes": episodes,
    }
