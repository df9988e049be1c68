"""`sandbox faults list | check FILE` and `sandbox paired TASK --faults PROFILE -- COMMAND`.

Thin, like the rest of the CLI: the logic is in sandbox.faults and sandbox.run.paired.
"""

from __future__ import annotations

import sys

import click

from sandbox.cli.common import friendly as _friendly
from sandbox.cli.common import home_of as _home
from sandbox.cli.common import route_option, with_routes
from sandbox.isolation import NO_ISOLATE_HELP


@click.group()
def faults() -> None:
    """Fault profiles: seeded nuisance for episodes (sandbox run --faults PROFILE)."""


@faults.command("list")
@_friendly
def faults_list() -> None:
    """List the shipped fault profiles and what their rules do."""
    from sandbox.faults import library_names, load_profile

    for name in library_names():
        profile = load_profile(name)
        kinds = ", ".join(dict.fromkeys(rule.action.kind for rule in profile.rules))
        click.echo(f"{name}\t{kinds}\t{profile.description}")


@faults.command("check")
@click.argument("profile", nargs=-1, required=True)
@_friendly
def faults_check(profile) -> None:
    """Validate PROFILE files (or library names); errors name the file, the rule and the field."""
    from sandbox.faults import load_profile

    for ref in profile:
        loaded = load_profile(ref)
        click.echo(f"{ref}: ok, profile {loaded.name!r}, seed {loaded.seed}, {len(loaded.rules)} rules")


@click.command()
@click.option("--faults", "profile", required=True, help="Fault profile: a library name (sandbox faults list) or "
              "a YAML file.")
@click.option("--seed", type=int, default=None, help="Override the task's seed (both runs use it).")
@click.option("--timeout", type=float, default=None, help="Seconds before the agent is killed (default: the task's).")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option("--no-isolate", is_flag=True, help=NO_ISOLATE_HELP)
@route_option()
@click.argument("task")
@click.argument("command", nargs=-1, required=True)
@click.pass_context
@_friendly
def paired(ctx, profile, seed, timeout, as_json, no_isolate, routes, task, command) -> None:
    """Run COMMAND on TASK twice, without and with a fault profile, and print the difference.

    \b
    sandbox paired refund-duplicate-charge --faults ghost-refund -- python examples/careful_refund_agent.py

    Exit status: 0 if the run with faults succeeded, 1 if not, 2 on bad input.
    """
    import dataclasses

    from sandbox.run.paired import dumps, paired_run
    from sandbox.run.supervisor import Sandbox, running_ports
    from sandbox.tasks import load_task

    home = _home(ctx)
    loaded = with_routes(load_task(task), routes)
    if seed is not None:
        loaded = dataclasses.replace(loaded, seed=seed)
    isolate = False if no_isolate else None  # None: isolated where the kernel allows it
    ports = running_ports(home)
    if ports:
        result = paired_run(loaded, list(command), faults=profile, home=home, ports=ports, timeout=timeout,
                            isolate=isolate)
    else:
        with Sandbox(home, ephemeral=True) as sandbox:  # the task's allowed_hosts go with its episodes
            result = paired_run(loaded, list(command), faults=profile, home=home, ports=sandbox.ports,
                                timeout=timeout, isolate=isolate)
    if as_json:
        click.echo(dumps(result))
    else:
        click.echo(result.render())
        click.echo("\nwith faults:\n" + result.with_faults.score.render())
    sys.exit(0 if result.with_faults.score.success else 1)
