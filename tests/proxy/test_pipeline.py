"""Pipeline: the stages as one addon behave as they did as separate addons of a real mitmproxy Master.

Each test drives the same stages twice through mitmproxy's own AddonManager, once added one by one
and once wrapped in `Pipeline`, and compares what happened: calls in order, errors logged.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from mitmproxy import eventsequence, exceptions, hooks, options
from mitmproxy.master import Master
from mitmproxy.test import tflow

from sandbox.proxy.pipeline import Pipeline


class First:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def load(self, loader) -> None:
        loader.add_option("pipeline_test_level", int, 1, "A test option, added by a stage.")
        self.calls.append("first.load")

    def configure(self, updated: set[str]) -> None:
        if "pipeline_test_level" in updated:
            self.calls.append("first.configure")

    def requestheaders(self, flow) -> None:
        self.calls.append("first.requestheaders")

    def request(self, flow) -> None:
        self.calls.append("first.request")


class Broken:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def request(self, flow) -> None:
        self.calls.append("broken.request")
        raise RuntimeError("boom in broken.request")


class Slow:
    """Async hooks: each must be awaited to the end before the next stage runs."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    async def running(self) -> None:
        await asyncio.sleep(0)
        self.calls.append("slow.running")

    async def request(self, flow) -> None:
        self.calls.append("slow.request.start")
        await asyncio.sleep(0.01)
        self.calls.append("slow.request.end")

    def response(self, flow) -> None:
        self.calls.append("slow.response")


class Last:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def request(self, flow) -> None:
        self.calls.append("last.request")

    def response(self, flow) -> None:
        self.calls.append("last.response")

    def done(self) -> None:
        self.calls.append("last.done")


class After:
    """An addon after the stages, as `_Announce` is after the pipeline in the server."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def request(self, flow) -> None:
        self.calls.append("after.request")


class Halting:
    def request(self, flow) -> None:
        raise exceptions.AddonHalt()


async def _drive(stages: list, wrap: bool, calls: list[str]) -> None:
    """A real Master, the stages flat or wrapped, one flow through every hook, then shutdown hooks."""
    master = Master(options.Options(), with_termlog=False)
    try:
        master.addons.add(*([Pipeline(stages)] if wrap else stages), After(calls))
        master.options.update(pipeline_test_level=2)  # every stage list here starts with First, which adds it
        await master.addons.trigger_event(hooks.RunningHook())
        flow = tflow.tflow(resp=True)
        for hook in eventsequence.iterate(flow):
            await master.addons.handle_lifecycle(hook)
    finally:
        await master.done()


def _run(make_stages, wrap: bool, caplog) -> tuple[list[str], list[logging.LogRecord]]:
    caplog.clear()
    calls: list[str] = []
    with caplog.at_level(logging.ERROR):
        asyncio.run(_drive(make_stages(calls), wrap, calls))
    return calls, [r for r in caplog.records if r.levelno >= logging.ERROR]


def _stages(calls: list[str]) -> list:
    return [First(calls), Broken(calls), Slow(calls), Last(calls)]


def test_same_calls_in_the_same_order_as_separate_addons(caplog):
    flat, _ = _run(_stages, False, caplog)
    wrapped, _ = _run(_stages, True, caplog)
    assert wrapped == flat
    assert wrapped == [
        "first.load", "first.configure", "slow.running",
        "first.requestheaders",
        "first.request", "broken.request", "slow.request.start", "slow.request.end", "last.request", "after.request",
        "slow.response", "last.response",
        "last.done",
    ]


def test_a_failing_stage_is_logged_like_mitmproxy_logs_it_and_the_next_stages_still_run(caplog):
    _, flat = _run(_stages, False, caplog)
    _, wrapped = _run(_stages, True, caplog)
    messages = [r.getMessage() for r in wrapped]
    assert messages == [r.getMessage() for r in flat] == ["Addon error: boom in broken.request"]
    tb = wrapped[0].exc_info[2]
    assert tb.tb_frame.f_code.co_name == "request" and tb.tb_frame.f_locals["self"].__class__ is Broken


def test_addon_halt_stops_the_later_stages_and_addons_for_that_hook_only(caplog):
    def stages(calls):
        return [First(calls), Halting(), Last(calls)]

    flat, _ = _run(stages, False, caplog)
    wrapped, errors = _run(stages, True, caplog)
    assert wrapped == flat and not errors
    assert "first.request" in wrapped and "last.request" not in wrapped and "after.request" not in wrapped
    assert "last.response" in wrapped  # the next hook runs as usual


def test_a_stage_refusing_an_option_value_fails_the_update():
    class Strict:
        def load(self, loader) -> None:
            loader.add_option("pipeline_test_strict", str, "ok", "Only 'ok' is accepted.")

        def configure(self, updated: set[str]) -> None:
            if "pipeline_test_strict" in updated and self.value() != "ok":
                raise exceptions.OptionsError("pipeline_test_strict must be 'ok'")

        def value(self) -> str:
            from mitmproxy import ctx

            return ctx.options.pipeline_test_strict

    async def drive() -> None:
        master = Master(options.Options(), with_termlog=False)
        try:
            master.addons.add(Pipeline([Strict()]))
            with pytest.raises(exceptions.OptionsError, match="must be 'ok'"):
                master.options.update(pipeline_test_strict="no")
            assert master.options.pipeline_test_strict == "ok"  # rolled back
        finally:
            await master.done()

    asyncio.run(drive())


def test_only_hooks_some_stage_has_are_registered():
    pipeline = Pipeline(_stages([]))
    assert set(pipeline.hooks) == {"load", "configure", "running", "requestheaders", "request", "response", "done"}
    assert not hasattr(pipeline, "error") and not hasattr(pipeline, "responseheaders")
    assert asyncio.iscoroutinefunction(pipeline.request) and not asyncio.iscoroutinefunction(pipeline.response)
