"""`sandbox`: a thin command line over the library. Every command's logic lives in a module;
errors of the SandboxError family print as one message with a hint and exit with status 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from sandbox.cli.common import friendly as _friendly
from sandbox.cli.common import home_of as _home
from sandbox.cli.common import route_option, with_routes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# A TCP port someone can connect to. 0 is refused too: the sandbox would read it as "the default".
PORT = click.IntRange(1, 65535)


def _service_ports(ctx: click.Context, param: click.Parameter, items: tuple[str, ...]) -> tuple[str, ...]:
    """Check `--service-port SERVICE=PORT` values before anything starts: a fake's id and a port."""
    from services import service_ids

    known = service_ids()
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: expected SERVICE=PORT, e.g. payments=8101", ctx, param)
        if name not in known:
            fakes = ", ".join(known)
            raise click.BadParameter(f"{item!r}: no fake is called {name!r} (the fakes: {fakes})", ctx, param)
        try:
            PORT.convert(value, param, ctx)
        except click.BadParameter as exc:
            raise click.BadParameter(f"{item!r}: {exc.message}", ctx, param) from None
    return items




@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="SANDBOX_HOME", type=click.Path(file_okay=False),
              help="The sandbox's folder (default: $SANDBOX_HOME or ./.sandbox).")
@click.pass_context
def main(ctx: click.Context, home: str | None) -> None:
    """agent-sandbox: a staging world for AI agents."""
    from sandbox.run.supervisor import interrupt_on_stop_signals

    ctx.ensure_object(dict)["home"] = home
    # For every command: SIGTERM and SIGHUP (docker stop, a CI timeout, a closed terminal) unwind
    # like Ctrl-C, so the agent, the fakes and the proxy this command started are stopped with it.
    ctx.with_resource(interrupt_on_stop_signals())


# -- running the sandbox -------------------------------------------------------------------------


@main.command()
@click.option("--proxy-port", type=PORT, default=None, help="Proxy port (default 8080).")
@click.option("--control-port", type=PORT, default=None, help="Control API port (default 8090).")
@click.option("--service-port", "service_ports", multiple=True, metavar="SERVICE=PORT", callback=_service_ports,
              help="Port of a fake (default payments=8101, helpdesk=8102, chat=8103, code=8104).")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="HOST",
              help="Let traffic to HOST (or *.suffix) through to the real internet.")
@route_option("Send HOST to a server of yours, for every episode: --route api.openai.com=http://127.0.0.1:8000/v1 "
              "(a model server; add #keep-auth to pass the agent's key on). Repeat for more hosts.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True, help="Worker processes per fake.")
@click.option("--proxy-workers", type=click.IntRange(min=1), default=None,
              help="Proxy processes sharing the proxy port (SO_REUSEPORT, Linux; default: one per core, at most 8).")
@click.option("--max-live-episodes", "max_live_episodes", type=click.IntRange(min=1), default=None,
              help="Episodes live at once (default 200).")
@click.option("--creations-per-minute", "creations_per_minute", type=click.IntRange(min=1), default=None,
              help="New episodes per minute (default 6000).")
@click.option("--episode-lifetime", "episode_lifetime_seconds", type=click.FloatRange(min=0, min_open=True),
              default=None, metavar="SECONDS", help="An episode live longer is finished and scored (default 6 h).")
@click.option("--idle-timeout", "idle_seconds", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS", help="An episode without traffic this long is finished and scored (default 1 h).")
@click.option("--max-body-bytes", "max_body_bytes", type=click.IntRange(min=1), default=None,
              help="Largest request or response body the proxy passes (default 8 MiB).")
@click.option("--ledger-body-bytes", "ledger_body_bytes", type=click.IntRange(min=1), default=None,
              help="What the ledger keeps of a body (default 64 KiB).")
@click.pass_context
@_friendly
def up(ctx, proxy_port, control_port, service_ports, allow_hosts, routes, workers, proxy_workers, **limits) -> None:
    """Start proxy, fakes and control API on loopback; stop with Ctrl-C (or SIGTERM, SIGHUP).

    The limit options are kept in <home>/limits.json, for this run and the later ones."""
    from sandbox.limits import Limits, load_limits, save_limits
    from sandbox.run.proxy_workers import default_proxy_workers
    from sandbox.run.supervisor import Sandbox, interrupt_on_stop_signals

    home = _home(ctx)
    given = {name: value for name, value in limits.items() if value is not None}
    if given:  # written before the children start: each reads the home's limits when it starts
        save_limits(home, Limits.from_mapping({**load_limits(home).to_dict(), **given}, where="sandbox up"))
    bound = load_limits(home)  # and a broken limits.json fails here, before anything starts
    sandbox = Sandbox(home, proxy_port=proxy_port, control_port=control_port,
                      service_ports=_pairs(service_ports, int), allow_hosts=tuple(allow_hosts),
                      routes=tuple(route.to_spec() for route in routes), workers=workers,
                      proxy_workers=proxy_workers or default_proxy_workers())
    # SIGTERM (docker stop, systemd, kill) and SIGHUP (a closed terminal) stop the children as Ctrl-C does.
    with interrupt_on_stop_signals(), sandbox:
        ports = sandbox.ports
        click.echo(f"sandbox up (home {sandbox.home.root})")
        click.echo(f"  proxy    http://127.0.0.1:{ports['proxy']}   CA {sandbox.home.ca_cert}   "
                   f"{sandbox.proxy_workers} worker{'s' if sandbox.proxy_workers > 1 else ''}")
        click.echo(f"  control  http://127.0.0.1:{ports['control']}")
        for service, port in ports["services"].items():
            click.echo(f"  {service:<8} http://127.0.0.1:{port}")
        for route in routes:
            click.echo(f"  route    {route.host} -> {route.url}")
        click.echo(f"  limits   {bound.max_live_episodes} live episodes, {bound.creations_per_minute}/min, lifetime "
                   f"{bound.episode_lifetime_seconds:g} s, idle {bound.idle_seconds:g} s, bodies "
                   f"{bound.max_body_bytes} B (limits.json)")
        click.echo("create an episode with `sandbox episodes create`, then `sandbox env EPISODE`. Ctrl-C stops.")
        status = sandbox.wait()
    sys.exit(status)


def _pairs(items: tuple[str, ...], cast=str) -> dict[str, Any]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: expected NAME=VALUE")
        out[name] = cast(value)
    return out


@main.command()
@click.option("--seed", type=int, default=None, help="Override the task's seed (same seed, same world).")
@click.option("--id", "episode_id", default=None, help="Episode id (default: generated).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds before the agent is killed (default: the task's).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--faults", default=None, metavar="PROFILE",
              help="Fault profile for the episode: a library name (sandbox faults list) or a YAML file.")
@click.option("--fault-seed", type=click.IntRange(0, 2**63 - 1), default=None, metavar="N",
              help="Draw the profile's faults from N instead of the world seed (a sweep row's fault_seed).")
@click.option("--record", "record_to", default=None, metavar="NAME",
              help="Record the episode's traffic to recordings/NAME.jsonl (or a path), secrets redacted.")
@click.option("--replay", "replay_from", default=None, metavar="NAME",
              help="Answer the agent from recording NAME (or a path) instead of the fakes and the internet.")
@click.option("--no-isolate", is_flag=True, help="Run the agent without its network namespace (see README: Isolation).")
@click.option("--proxy-workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Proxy processes, when this run starts its own sandbox (one agent rarely needs more).")
@route_option()
@click.argument("task")
@click.argument("command", nargs=-1, required=True)
@click.pass_context
@_friendly
def run(ctx, seed, episode_id, timeout, as_json, faults, fault_seed, record_to, replay_from, no_isolate, proxy_workers,
        routes, task, command) -> None:
    """Run COMMAND as an agent in a fresh episode of TASK, then score it.

    \b
    sandbox run refund-duplicate-charge -- python examples/careful_refund_agent.py

    Uses the sandbox that `sandbox up` started on this home, or starts one for this run.
    Exit status: 0 if the task succeeded, 1 if not, 2 on bad input.
    """
    import dataclasses

    from sandbox.run.runner import run_task
    from sandbox.run.supervisor import Sandbox, running_ports
    from sandbox.tasks import load_task

    home = _home(ctx)
    loaded = with_routes(load_task(task), routes)
    if seed is not None:
        loaded = dataclasses.replace(loaded, seed=seed)
    if faults is not None:
        from sandbox.faults import profile_ref

        faults = profile_ref(faults)  # a bad profile fails here, before any sandbox or agent starts
    elif fault_seed is not None:
        raise click.UsageError("--fault-seed needs --faults: without a profile there is nothing to draw")
    recording = _recording_mode(record_to, replay_from)
    isolate = False if no_isolate else None  # None: isolated where the kernel allows it
    ports = running_ports(home)
    if ports:
        result = run_task(loaded, list(command), home=home, ports=ports, episode_id=episode_id, timeout=timeout,
                          faults=faults, fault_seed=fault_seed, isolate=isolate, **recording)
    else:
        with Sandbox(home, ephemeral=True, proxy_workers=proxy_workers) as sandbox:  # allowed_hosts: the episode's
            result = run_task(loaded, list(command), home=home, ports=sandbox.ports,
                              episode_id=episode_id, timeout=timeout, faults=faults, fault_seed=fault_seed,
                              isolate=isolate, **recording)
    if as_json:
        click.echo(json.dumps({"episode": result.episode.id, "exit_code": result.exit_code,
                               "timed_out": result.timed_out, "score": result.score.to_dict()}, indent=2))
    else:
        click.echo(f"episode {result.episode.id} (ledger {home.ledger_path(result.episode.id)})")
        click.echo(result.score.render())
    sys.exit(0 if result.score.success else 1)


def _recording_mode(record_to: str | None, replay_from: str | None) -> dict[str, str]:
    """run_task's mode and recording for `--record NAME` / `--replay NAME`."""
    from sandbox.recordings.store import load, resolve

    if record_to and replay_from:
        raise click.UsageError("--record and --replay exclude each other")
    if record_to:
        return {"mode": "record", "recording": str(resolve(record_to))}
    if replay_from:
        return {"mode": "replay", "recording": str(load(replay_from).path)}  # checked now, not at the first request
    return {}


@main.command()
@click.pass_context
@_friendly
def demo(ctx) -> None:
    """Bring the sandbox up and run pairs of agents: the two example agents on the double-charge
    task (payments), then the reference and the reckless agent of the cross-service ticket task
    (payments, helpdesk, chat)."""
    from sandbox.run.runner import run_task
    from sandbox.run.supervisor import Sandbox
    from sandbox.tasks import load_task

    home = _home(ctx)
    python = sys.executable
    ticket = load_task("double-charge-ticket")
    pairs = [  # (task, the agent that should pass, the agent that should be caught)
        ("refund-duplicate-charge",
         ("careful_refund_agent", [python, str(EXAMPLES / "careful_refund_agent.py")]),
         ("careless_refund_agent", [python, str(EXAMPLES / "careless_refund_agent.py")])),
        (ticket.id, ("oracle", [python, "-m", ticket.oracle]), ("reckless", [python, "-m", ticket.reckless])),
    ]
    expected = True
    with Sandbox(home, ephemeral=True) as sandbox:
        click.echo(f"sandbox up: proxy on 127.0.0.1:{sandbox.proxy_port}, home {home.root}")
        for task_id, good, bad in pairs:
            task = load_task(task_id)
            click.echo(f"\n#### task: {task.title}\n{task.instruction}")
            scores = {}
            for name, command in (good, bad):
                click.echo(f"== {name}")
                result = run_task(task, command, home=home, ports=sandbox.ports)
                click.echo(result.score.render() + "\n")
                scores[name] = result.score.success
            expected = expected and scores[good[0]] and not scores[bad[0]]
    click.echo("demo " + ("as expected: each good agent passes, each harmful one is caught"
                          if expected else "did NOT go as expected"))
    sys.exit(0 if expected else 1)


# -- episodes --------------------------------------------------------------------------------------


@main.group()
def episodes() -> None:
    """Create, list, finish, snapshot and fork episodes."""


@episodes.command("create")
@click.option("--seed", type=int, default=None, help="World seed (default: the task's, else 0).")
@click.option("--task", default=None, help="Task id or file, to score the episode when it finishes.")
@click.option("--id", "episode_id", default=None)
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="HOST",
              help="Let this episode (only) reach HOST (or *.suffix) on the real internet; adds to the task's.")
@route_option()
@click.pass_context
@_friendly
def episodes_create(ctx, seed, task, episode_id, allow_hosts, routes) -> None:
    """Create an episode and print its id."""
    from sandbox.episodes.store import EpisodeStore
    from sandbox.run.runner import attach_task
    from sandbox.tasks import load_task

    store = EpisodeStore(_home(ctx))
    loaded = load_task(task) if task else None
    episode = store.create(seed if seed is not None else (loaded.seed if loaded else 0),
                           task=loaded.id if loaded else None, episode_id=episode_id,
                           allowed_hosts=(*(loaded.allowed_hosts if loaded else ()), *allow_hosts),
                           routes=(*(loaded.routes if loaded else ()), *routes))
    if loaded:
        attach_task(store, episode, loaded)
    click.echo(episode.id)


@episodes.command("list")
@click.pass_context
@_friendly
def episodes_list(ctx) -> None:
    """List episodes."""
    from sandbox.episodes.store import EpisodeStore

    for e in EpisodeStore(_home(ctx)).list():
        click.echo(f"{e.id}\t{e.status}\tseed={e.seed}\ttask={e.task or '-'}")


@episodes.command("finish")
@click.argument("episode_id")
@click.pass_context
@_friendly
def episodes_finish(ctx, episode_id) -> None:
    """Finish an episode (and score it if it has a task)."""
    from sandbox.episodes.store import EpisodeStore
    from sandbox.run.runner import finish_and_score

    episode, score = finish_and_score(EpisodeStore(_home(ctx)), episode_id)
    click.echo(f"{episode.id} finished")
    if score:
        click.echo(score.render())


@episodes.command("snapshot")
@click.argument("episode_id")
@click.option("--name", default=None, help="The snapshot's name (default: snap1, snap2, ...).")
@click.pass_context
@_friendly
def episodes_snapshot(ctx, episode_id, name) -> None:
    """Snapshot EPISODE now (its services' databases, ledger, fault state) and print EPISODE/NAME,
    which `sandbox episodes fork` takes."""
    from sandbox.episodes.snapshot import snapshot
    from sandbox.episodes.store import EpisodeStore

    click.echo(snapshot(EpisodeStore(_home(ctx)), episode_id, name).ref)


@episodes.command("fork")
@click.argument("source", metavar="EPISODE|EPISODE/SNAPSHOT")
@click.option("--id", "episode_id", default=None, help="The new episode's id (default: generated).")
@click.pass_context
@_friendly
def episodes_fork(ctx, source, episode_id) -> None:
    """Create a new episode from a snapshot (or from EPISODE as it is now) and print its id;
    `sandbox env NEW` then gives an agent its environment."""
    from sandbox.episodes.snapshot import fork
    from sandbox.episodes.store import EpisodeStore

    click.echo(fork(EpisodeStore(_home(ctx)), source, episode_id=episode_id).id)


@main.command()
@click.argument("episode_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@_friendly
def env(ctx, episode_id, as_json) -> None:
    """Print the environment an agent process needs for EPISODE (eval "$(sandbox env EP)")."""
    from sandbox.episodes.store import EpisodeStore
    from sandbox.errors import ConfigError
    from sandbox.run.agent_env import agent_env, render_env
    from sandbox.run.published import reachable_ports
    from sandbox.run.supervisor import running_ports

    home = _home(ctx)
    episode = EpisodeStore(home).require(episode_id)
    # `sandbox up` on this home, else docker compose with this home mounted (sandbox/run/published.py).
    ports = running_ports(home) or reachable_ports(home)
    if not ports:
        raise ConfigError(f"no sandbox is up on {home.root}",
                          hint="start one with `sandbox up`, or name the folder docker compose mounts: "
                               "--home .sandbox/compose")
    click.echo(render_env(agent_env(home, episode, ports), "json" if as_json else "shell"))


@main.command()
@click.argument("episode")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@_friendly
def score(ctx, episode, as_json) -> None:
    """Recompute the score of EPISODE (an id, or a path to a ledger.db) from its ledger alone."""
    import sqlite3

    from sandbox.episodes.store import EPISODE_ID
    from sandbox.errors import EpisodeError, LedgerError
    from sandbox.scoring.score import score_ledger

    path = Path(episode)
    if not (path.suffix == ".db" or _is_file(path)):
        # An id names a folder under the home: only a well-formed one, never `../..` or a long path.
        if not EPISODE_ID.match(episode):
            raise EpisodeError(f"{episode[:80]!r} is neither an episode id nor a ledger file",
                               hint="pass an episode id (sandbox episodes list) or the path to its ledger.db")
        path = _home(ctx).ledger_path(episode)
    try:
        result = score_ledger(path)
    except sqlite3.DatabaseError as exc:  # not SQLite at all, or SQLite without a ledger's tables
        raise LedgerError(f"{path} is not an episode ledger ({exc})",
                          hint="pass the ledger.db of an episode (sandbox episodes list shows them)") from None
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else result.render())
    sys.exit(0 if result.success else 1)


def _is_file(path: Path) -> bool:
    """Path.is_file, False for a name the OS refuses (too long, NUL) rather than an OSError."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


# -- tasks and world -------------------------------------------------------------------------------


@main.group()
def tasks() -> None:
    """The task library."""


@tasks.command("list")
@_friendly
def tasks_list() -> None:
    """List the shipped tasks."""
    from sandbox.tasks import library_ids, load_task

    for task_id in library_ids():
        click.echo(f"{task_id}\t{load_task(task_id).title}")


@tasks.command("show")
@click.argument("task")
@_friendly
def tasks_show(task) -> None:
    """Validate TASK (id or file) and print it with the world's facts filled in."""
    from sandbox.tasks import load_task

    click.echo(json.dumps(load_task(task).to_spec(), indent=2))


@main.command()
@click.option("--seed", type=int, default=0, show_default=True)
@_friendly
def world(seed) -> None:
    """Print the named facts of the world of SEED (what tasks refer to as ${group.field})."""
    from sandbox.world import world as build

    w = build(seed)
    click.echo(json.dumps({"company": w.company, "customers": len(w.customers), "charges": len(w.charges),
                           "facts": w.facts}, indent=2))


# -- single parts, for docker compose ---------------------------------------------------------------


@main.command()
@click.argument("service")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=PORT, default=8101, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--allow-remote", is_flag=True, help="Listen on a non-loopback address (containers only).")
@click.pass_context
@_friendly
def serve(ctx, service, host, port, workers, allow_remote) -> None:
    """Serve one fake (e.g. payments) in gunicorn workers."""
    from sandbox.run.bind import require_loopback
    from sandbox.run.serve import serve_service

    require_loopback(host, allow_remote, f"the {service} fake")  # before the home is made
    serve_service(service, _home(ctx), host=host, port=port, workers=workers, allow_remote=allow_remote)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=PORT, default=8090, show_default=True)
@click.option("--allow-remote", is_flag=True, help="Listen on a non-loopback address (containers only).")
@click.option("--public-name", "public_names", multiple=True, metavar="NAME",
              help="A Host name to accept besides 127.0.0.1, localhost and [::1] (repeatable).")
@click.option("--publish", "published", multiple=True, metavar="NAME=PORT",
              help="In a container: the host port a part (proxy, control, a fake) is published on, for the "
                   "env of agents on the host (repeatable; docker-compose.yml gives them).")
@click.pass_context
@_friendly
def control(ctx, host, port, allow_remote, public_names, published) -> None:
    """Serve the control API alone (token: <home>/control.token)."""
    from sandbox.interfaces import control as control_module
    from sandbox.run.published import parse_publish

    if published:
        parse_publish(published)  # a typo fails here, before the home is made
    argv = ["--host", host, "--port", str(port)] + (["--allow-remote"] if allow_remote else [])
    argv += [arg for name in public_names for arg in ("--public-name", name)]
    argv += [arg for item in published for arg in ("--publish", item)]
    control_module.main(["--home", str(_home(ctx).root), *argv])


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
@_friendly
def proxy(ctx, args) -> None:
    """Run the proxy alone (options as `python -m sandbox.proxy --help`)."""
    from sandbox.proxy.server import main as proxy_main

    proxy_main(["--home", str(_home(ctx).root), *args])


@main.command()
@click.argument("url")
@click.option("--timeout", type=float, default=3.0, show_default=True)
@_friendly
def ping(url, timeout) -> None:
    """Exit 0 if URL answers 200 (no proxy is used). The containers' health checks run the same
    check without the CLI: python -m sandbox.run.health URL."""
    from sandbox.run.health import ping as check

    problem = check(url, timeout)
    if problem:
        click.echo(f"{url}: {problem}", err=True)
    sys.exit(1 if problem else 0)


# Command groups that live in modules of their own, one registration line each.
# (recordings / replay)
from sandbox.cli.recordings import recordings as _recordings  # noqa: E402
from sandbox.cli.recordings import replay as _replay  # noqa: E402

main.add_command(_recordings)
main.add_command(_replay)
# (faults / paired)
from sandbox.cli.faults import faults as _faults  # noqa: E402
from sandbox.cli.faults import paired as _paired  # noqa: E402

main.add_command(_faults)
main.add_command(_paired)
# (tasks check / sweep / report)
from sandbox.cli.eval import register as _register_eval  # noqa: E402

_register_eval(main, tasks)


if __name__ == "__main__":
    main()
