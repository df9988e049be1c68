"""The sandbox stages as one mitmproxy addon: each hook calls the stages that have it, in order.

mitmproxy's AddonManager calls every addon for every hook, after every flow hook once more for
`update`, and wraps each call in a context manager and a generator walk. With the eight stages as
eight addons that was 12 addons and ~96 addon calls per request, most finding nothing to call:
~15 % of the proxy's CPU under bench_proxy's load (py-spy). `Pipeline(stages)` is one addon whose
hooks are only those at least one stage implements, each a precomputed list of the stages' own
methods: 5 addons, ~40 calls per request, dispatch ~8 % of the CPU, ~10-15 % less CPU per request.

What mitmproxy does per addon, it does here per stage, so the stages behave as if added one by one:
- Order: list order, for every hook, the lifecycle ones included.
- A hook that some stage implements with `async def` is async here: the stages run one after the
  other, each awaited before the next starts (mitmproxy awaits addon by addon too).
- An exception in a stage's hook is logged as mitmproxy logs it ("Addon error: ..." with the
  traceback from the stage) and the next stage still runs: one stage's bug never skips the ledger.
  `AddonHalt` stops the stages after it and the addons after the pipeline; `OptionsError` (a bad
  option in `configure`) propagates, as from any addon. `load` is not guarded (mitmproxy does not
  guard it either: a stage that cannot load stops the proxy from starting).
- No checks of its own between stages: mitmproxy 11 does not look at `flow.killed` or
  `flow.intercepted` between addons (the proxy layers do, after the whole hook), so neither does
  this. A stage that answered (`flow.response` set) is left to the stages after it, as before.
- `load` registers each stage's commands, as mitmproxy does for every addon it loads.

The hooks are read once, when the pipeline is built: a stage that grows a hook method later is
not called for it. Stages are not registered under their own names (`addons.get("egress")` is None).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any

# Imported for their side effect too: each module registers its hooks' names in `hooks.all_hooks`.
import mitmproxy.addonmanager
import mitmproxy.proxy.layers  # noqa: F401 - http, tls, tcp, udp, websocket, dns hooks
import mitmproxy.proxy.server_hooks  # noqa: F401 - client_connected, server_connect...
from mitmproxy import exceptions, hooks

logger = logging.getLogger(__name__)

_PASS_THROUGH = (exceptions.AddonHalt, exceptions.OptionsError)  # what mitmproxy's safecall re-raises
_SYNC_ONLY = frozenset({"load", "configure"})  # mitmproxy calls these from synchronous code


class Pipeline:
    """One addon for `stages`, in order. See the module docstring for what it keeps of mitmproxy's
    per-addon behaviour."""

    name = "sandbox_pipeline"

    def __init__(self, stages: Sequence[Any]) -> None:
        self.stages = tuple(stages)
        self.hooks: dict[str, tuple[Callable, ...]] = {}
        for hook in sorted(hooks.all_hooks):
            calls = tuple(func for func in (getattr(stage, hook, None) for stage in self.stages) if callable(func))
            if not calls:
                continue
            self.hooks[hook] = calls
            if hook == "load":
                continue  # the method below
            if any(inspect.iscoroutinefunction(func) for func in calls):
                if hook in _SYNC_ONLY:
                    raise TypeError(f"a stage's {hook} hook is async, and mitmproxy calls {hook} synchronously")
                setattr(self, hook, _async_dispatch(calls))
            else:
                setattr(self, hook, _sync_dispatch(calls))

    def load(self, loader: mitmproxy.addonmanager.Loader) -> None:
        for func in self.hooks.get("load", ()):
            func(loader)
        for stage in self.stages:
            loader.master.commands.collect_commands(stage)

    def __repr__(self) -> str:
        return f"Pipeline({', '.join(type(stage).__name__ for stage in self.stages)})"


def _log(exc: Exception) -> None:
    # As mitmproxy's safecall: its message, and the traceback from the stage's frame on.
    logger.error(f"Addon error: {exc}", exc_info=(type(exc), exc, exc.__traceback__.tb_next or exc.__traceback__))


def _sync_dispatch(calls: tuple[Callable, ...]) -> Callable[..., None]:
    def dispatch(*args: Any) -> None:
        for func in calls:
            try:
                func(*args)
            except _PASS_THROUGH:
                raise
            except Exception as exc:
                _log(exc)

    return dispatch


def _async_dispatch(calls: tuple[Callable, ...]) -> Callable[..., Any]:
    async def dispatch(*args: Any) -> None:
        for func in calls:
            try:
                result = func(*args)
                if result is not None and inspect.isawaitable(result):
                    await result
            except _PASS_THROUGH:
                raise
            except Exception as exc:
                _log(exc)

    return dispatch
