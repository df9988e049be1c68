"""Evaluation commands: `sandbox tasks check`, `sandbox sweep`, `sandbox report`. Thin: the logic is
in sandbox.tasks.check, sandbox.sweep and sandbox.report; registered by sandbox/cli/__init__.py."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from sandbox.cli.common import friendly as _friendly
from sandbox.cli.common import home_of as _home
from sandbox.cli.common import route_option, with_routes
from sandbox.errors import ConfigError
from sandbox.home import Home
from sandbox.isolation import NO_ISOLATE_HELP


@contextlib.contextmanager
def _sandbox_ports(home: Home, workers: int = 2) -> Iterator[dict[str, Any]]:
    """The ports of the sandbox up on `home`, or of one started for this command. No proxy-wide
    allow list: each task's `allowed_hosts` go with its own episodes, and reach no other."""
    from sandbox.run.supervisor import Sandbox, running_ports

    ports = running_ports(home)
    if ports:
        yield ports
        return
    with Sandbox(home, ephemeral=True, workers=workers) as sandbox:
        yield sandbox.ports


@click.command("check")
@click.argument("task_refs", nargs=-1, metavar="[TASK]...")
@click.option("--strict", is_flag=True, help="A task without a `reckless:` agent fails the check.")
@click.option("--jobs", type=int, default=3, show_default=True, help="Agents run at once per task.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_context
@_friendly
def tasks_check(ctx, task_refs, strict, jobs, as_json) -> None:
    """Self-check tasks (default: the whole library): the oracle must pass, a no-op agent must fail,
    the reckless agent must be caught as harm. Exit status 0 when every task checks out."""
    from sandbox.tasks import library_ids, load_task
    from sandbox.tasks.check import check_task

    tasks = [load_task(ref) for ref in (task_refs or library_ids())]
    home = _home(ctx)
    with _sandbox_ports(home) as ports:
        checks = []
        for task in tasks:
            check = check_task(task, home=home, ports=ports, strict=strict, jobs=jobs)
            checks.append(check)
            if not as_json:
                click.echo(check.render())
    if as_json:
        click.echo(json.dumps([{"task": c.task, "ok": c.ok, "warnings": c.warnings,
                                "results": [{"role": r.role, "ok": r.ok, "verdict": r.verdict, "episode": r.episode,
                                             "score": r.score.to_dict() if r.score else None} for r in c.results]}
                               for c in checks], indent=2))
    bad = [c.task for c in checks if not c.ok]
    if not as_json:
        click.echo(f"{len(checks) - len(bad)} of {len(checks)} tasks check out" + (f"; failed: {', '.join(bad)}"
                                                                                   if bad else ""))
    sys.exit(1 if bad else 0)


def _check_command(command: list[str]) -> None:
    program = command[0]
    if "/" not in program and shutil.which(program) is None:
        raise ConfigError(f"agent command {' '.join(command)!r}: program {program!r} not found on PATH",
                          hint="give the full path, e.g. -- python3 my_agent.py")
    if "/" in program and not Path(program).exists():
        raise ConfigError(f"agent command {' '.join(command)!r}: no such file {program!r}")


@click.command("sweep", context_settings={"ignore_unknown_options": False})
@click.option("--tasks", "tasks_opt", required=True, help="Comma-separated task ids or files, or `all`.")
@click.option("--faults", "faults_opt", default="none", show_default=True,
              help="Comma-separated fault profiles; `none` is the no-fault baseline deltas are paired against.")
@click.option("--seeds", type=int, default=1, show_default=True,
              help="Worlds per task: the task's seed, then seed+1, ...")
@click.option("--trials", type=int, default=1, show_default=True, help="Repeats of each configuration (pass^k).")
@click.option("--fault-draws", type=click.Choice(["shared", "per-trial"]), default="shared", show_default=True,
              help="shared: every trial of a configuration meets the same faults (drawn from the world seed); "
                   "per-trial: trial k draws its own (trial 1 from the world seed, trial k from a hash of it and "
                   "k; each row's fault_seed reruns it with `sandbox run --fault-seed`).")
@click.option("--agent", "agents_opt", multiple=True, metavar="NAME=COMMAND",
              help="An agent to sweep (repeatable); or give one COMMAND after --.")
@click.option("--parallel", type=int, default=2, show_default=True,
              help="Episodes run at once (with --backend ray: in each sandbox).")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: the sandbox of this machine runs every episode; ray: a sandbox per Ray node, the "
                   "episodes spread over them, an episode lost with its node run again elsewhere "
                   "(pip install 'agent-sandbox[ray]').")
@click.option("--address", default=None, metavar="ADDRESS",
              help="With --backend ray: the Ray cluster to join (auto, HOST:PORT or ray://HOST:10001); "
                   "default: a Ray cluster of this machine alone, started for the sweep.")
@click.option("--timeout", type=float, default=None, help="Seconds per episode (default: each task's limit).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="sweep-results", show_default=True,
              help="Folder for results.json, results.csv and report.html.")
@click.option("--bootstrap-seed", type=int, default=0, show_default=True, help="Seed of the bootstrap CIs.")
@click.option("--no-isolate", is_flag=True, help=NO_ISOLATE_HELP)
@route_option()
@click.argument("command", nargs=-1)
@click.pass_context
@_friendly
def sweep(ctx, tasks_opt, faults_opt, seeds, trials, fault_draws, agents_opt, parallel, backend, address, timeout,
          out_dir, bootstrap_seed, no_isolate, routes, command) -> None:
    """Run every agent × task × fault profile × seed × trial as an isolated episode.

    \b
    sandbox sweep --tasks refund-duplicate-charge --faults none,ghost-refund --trials 3 \\
        -- python examples/careful_refund_agent.py

    Writes OUT/results.json, OUT/results.csv and OUT/report.html (self-contained). Each row also goes
    to OUT/results.partial.jsonl as its episode finishes: an interrupted or killed sweep keeps them.
    """
    from sandbox.run.supervisor import interrupt_on_stop_signals
    from sandbox.sweep import agent_name, build_plan, parse_agent, parse_faults, parse_tasks, write_results
    from sandbox.sweep.results import PARTIAL

    if address is not None and backend != "ray":
        raise ConfigError(f"--address {address} is for --backend ray", hint="add --backend ray, or drop --address")
    if backend == "ray":
        from sandbox.sweep.ray_backend import require_ray

        require_ray()  # before any other work: say how to install it

    agents = dict(parse_agent(spec) for spec in agents_opt)
    if command:
        agents[agent_name(list(command))] = list(command)
    if not agents:
        raise ConfigError("no agent command", hint="sandbox sweep --tasks T -- python my_agent.py")
    for argv in agents.values():
        _check_command(argv)
    if parallel < 1:
        raise ConfigError(f"--parallel must be at least 1, got {parallel}")
    if timeout is not None and timeout <= 0:
        raise ConfigError(f"--timeout must be positive, got {timeout}")
    plan = build_plan(agents, parse_tasks(tasks_opt), parse_faults(faults_opt), seeds, trials, fault_draws)
    if routes:  # each episode gets them, over its task's own
        plan.cells[:] = [dataclasses.replace(cell, task=with_routes(cell.task, routes)) for cell in plan.cells]
    home = _home(ctx)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    partial = out / PARTIAL
    finished = 0

    def done(row: dict[str, Any]) -> None:
        nonlocal finished
        finished += 1
        bar.update(1, row)

    click.echo(f"sweep: {len(plan.cells)} episodes ({len(agents)} agents × {len(plan.tasks)} tasks × "
               f"{len(plan.faults)} profiles × {seeds} seeds × {trials} trials, {fault_draws} fault draws), "
               f"{parallel} at once" + (" in each Ray sandbox" if backend == "ray" else ""), err=True)
    options = {"parallel": parallel, "timeout": timeout, "on_done": done, "bootstrap_seed": bootstrap_seed,
               "partial": partial, "isolate": False if no_isolate else None}
    try:
        # SIGTERM and SIGHUP stop like Ctrl-C: running agents killed, the sandbox this command started stopped.
        with interrupt_on_stop_signals(), click.progressbar(
                length=len(plan.cells), label="episodes", file=sys.stderr,
                item_show_func=lambda r: r and f"{r['episode']} {r['agent']} "
                f"{r['faults']} {'pass' if r['success'] else 'fail'}") as bar:
            doc = _run_backend(backend, address, plan, home, options)
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: {finished} of {len(plan.cells)} episodes finished; their rows are kept in "
                   f"{partial} (one JSON row per line)", err=True)
        sys.exit(130)
    paths = write_results(doc, out)
    report = _write_report(doc, out / "report.html")
    partial.unlink(missing_ok=True)  # results.json has every row now
    _print_summary(doc)
    click.echo(f"results: {paths['json']}  {paths['csv']}\nreport:  {report}")


def _run_backend(backend: str, address: str | None, plan: Any, home: Home, options: dict[str, Any]) -> dict[str, Any]:
    """The sweep's results document from the chosen backend (same rows, reasons and scores either way)."""
    if backend == "ray":
        from sandbox.sweep.ray_backend import run_sweep_ray

        def placed(infos: list[dict[str, Any]]) -> None:
            for info in infos:
                click.echo(f"\nray: sandbox {info['sandbox']} on node {info['node'][:12]} ({info['host']}), "
                           f"home {info['home']}", err=True)

        return run_sweep_ray(plan, home=home, address=address, on_placed=placed, **options)
    from sandbox.sweep import run_sweep

    with _sandbox_ports(home, workers=max(2, options["parallel"])) as ports:
        return run_sweep(plan, home=home, ports=ports, **options)


def _write_report(doc: dict[str, Any], path: Path, title: str = "Sweep report") -> Path:
    """The HTML report, whole or not at all (rendered, then written beside and renamed)."""
    from sandbox.recordings.store import write_atomic
    from sandbox.report import render_report

    return write_atomic(path, [render_report(doc, title=title)])


def _print_deltas(deltas: list[dict[str, Any]]) -> None:
    """Each profile against the no-fault baseline, per agent and task: what the nuisance changed.
    Printed only for a sweep that has a baseline to pair with (`--faults none,...`)."""
    paired: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
    for d in deltas:
        if d["delta"] is not None and d["task"] != "(all tasks)":
            paired.setdefault((d["agent"], d["task"], d["faults"]), {})[d["metric"]] = d
    if not paired:
        return
    click.echo(f"\npaired deltas against `none` (mean of profile - baseline over the same seeds and trials; "
               f"* = the 95% interval excludes 0)\n{'agent':<28} {'task':<28} {'faults':<18} {'pairs':>5} "
               f"{'Δscore':>8} {'Δsuccess':>9}")
    for (agent, task, faults), by in sorted(paired.items()):
        cells = []
        for metric in ("score", "success"):
            d = by.get(metric)
            cells.append("-" if d is None else f"{d['delta']:+.2f}{'*' if d['significant'] else ' '}")
        pairs = max(d["pairs"] for d in by.values())
        click.echo(f"{agent:<28} {task:<28} {Path(faults).stem:<18} {pairs:>5} {cells[0]:>8} {cells[1]:>9}")


def _print_summary(doc: dict[str, Any]) -> None:
    click.echo(f"{'agent':<28} {'task':<28} {'faults':<16} {'n':>3} {'success':>8} {'score':>6} {'pass^k':>7} "
               f"{'mean cost':>10}")
    for s in doc["summary"]:
        k = max(s["pass_k"], key=int)
        pk = s["pass_k"][k]
        cost = s.get("mean_cost")  # absent in results from before the cost model
        click.echo(f"{s['agent']:<28} {s['task']:<28} {Path(s['faults']).stem:<16} {s['episodes']:>3} "
                   f"{s['success_rate']:>8.2f} {s['mean_score']:>6.2f} {'-' if pk is None else f'{pk:.2f}':>7} "
                   f"{'-' if cost is None else f'${cost:,.2f}':>10}")
    caught = ((doc.get("cost") or {}).get("total") or {}).get("caught_cost")
    if caught is not None:
        click.echo(f"cost: the failing episodes would have cost ${caught:,.2f} in production")
    draws = doc["config"].get("fault_draws", "shared")  # results from before the option drew shared
    click.echo(f"fault draws: {draws} (" + ("each trial met its own faults" if draws == "per-trial"
                                            else "every trial of a configuration met the same faults") + ")")
    _print_deltas(doc.get("deltas") or [])
    noise = doc["noise"]
    if noise["flip_rate"] is not None:
        # With per-trial draws the trials of a configuration met different faults: their flips are
        # the faults' chance as much as the agent's own noise.
        pairs = "trial pairs (each with its own fault draws)" if draws == "per-trial" else "identical-trial pairs"
        click.echo(f"noise floor: {noise['flip_rate']:.1%} of {pairs} flip "
                   f"({noise['flaky_configs']} flaky configurations)")
    rows = doc["rows"]
    rerun = [r for r in rows if r.get("reruns")]
    if rerun:
        click.echo(f"note: {len(rerun)} episodes were run again because the Ray sandbox running them was lost "
                   f"(their rows say reruns; results.json's backend.lost says where), e.g. {rerun[0]['episode']}",
                   err=True)
    failed = [r for r in rows if r.get("error")]
    if failed:
        click.echo(f"note: {len(failed)} episodes failed in the sandbox (counted as failures), e.g. "
                   f"{failed[0]['episode'] or '(no episode)'}: {failed[0]['error']}", err=True)
    rows = [r for r in rows if not r.get("error")]
    crashed = [r for r in rows if r["exit_code"] not in (0, None)]
    unstarted = [r for r in rows if r["exit_code"] is None and not r["timed_out"]]
    hung = [r for r in rows if r["timed_out"]]
    for label, found in (("exited non-zero", crashed), ("hit the time limit", hung), ("could not start", unstarted)):
        if found:
            click.echo(f"note: {len(found)} episodes' agents {label} (still scored), e.g. {found[0]['episode']}: "
                       + "; ".join(r for r in found[0]["reasons"] if r.startswith("agent")), err=True)


@click.command("report")
@click.argument("results", type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Where to write the HTML (default: report.html beside the results).")
@click.option("--title", default="Sweep report", show_default=True)
@_friendly
def report(results, output, title) -> None:
    """Render the self-contained HTML report of a sweep's RESULTS (results.json or its folder)."""
    from sandbox.sweep import read_results

    doc = read_results(results)
    source = Path(results)
    target = Path(output) if output else (source if source.is_dir() else source.parent) / "report.html"
    click.echo(str(_write_report(doc, target, title=title)))


def register(main: click.Group, tasks: click.Group) -> None:
    """Attach the evaluation commands to the CLI's root group and its `tasks` group."""
    tasks.add_command(tasks_check)
    main.add_command(sweep)
    main.add_command(report)
