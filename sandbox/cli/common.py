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
