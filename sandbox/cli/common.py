"""What every CLI module shares. It lives apart from sandbox.cli because the command modules are
imported by sandbox.cli (which also runs as __main__ under `python -m`), so they cannot import it."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from sandbox.errors import SandboxError
from sandbox.home import Home


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a SandboxError into `error: ...` and `hint: ...` on stderr and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SandboxError as exc:
            click.echo(f"error: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"  hint: {exc.hint}", err=True)
            sys.exit(2)

    return wrapper


def home_of(ctx: click.Context) -> Home:
    """The sandbox home the top-level `--home` option (or $SANDBOX_HOME) names."""
    return Home.resolve((ctx.find_root().obj or {}).get("home"))


ROUTE_HELP = ("Send HOST to a server of yours: --route api.openai.com=http://127.0.0.1:8000/v1 (a model server; "
              "add #keep-auth to pass the agent's key on). Repeat for more hosts.")


def _check_routes(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[Any, ...]:
    """`--route HOST=URL` values, checked before anything starts (sandbox/episodes/routes.py)."""
    from sandbox.episodes.routes import parse_route

    routes = []
    for value in values:
        try:
            routes.append(parse_route(value, "--route"))
        except SandboxError as exc:
            raise click.BadParameter(f"{exc.message} (hint: {exc.hint})", ctx, param) from None
    return tuple(routes)


def route_option(help: str = ROUTE_HELP) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The repeatable `--route HOST=URL` option; the command gets a tuple of ServerRoutes as `routes`."""
    return click.option("--route", "routes", multiple=True, metavar="HOST=URL", callback=_check_routes, help=help)


def with_routes(task: Any, routes: tuple[Any, ...]) -> Any:
    """`task` with the command line's routes over its own `routes:` (same host: the command line's)."""
    if not routes:
        return task
    import dataclasses

    from sandbox.episodes.routes import parse_routes

    return dataclasses.replace(task, routes=parse_routes((*task.routes, *routes)))
