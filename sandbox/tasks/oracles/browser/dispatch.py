"""Find and run the browser oracle a task names (`browser_oracle:` in its YAML), optionally naive:
without `adapt.settle`, the way a browser agent that does not adapt to the UI nuisance works."""

from __future__ import annotations

import os
import runpy

from sandbox.errors import SandboxError
from sandbox.tasks.oracles.clients import give_up


def browser_oracle_of(task_id: str) -> str:
    """The module named by the library task's `browser_oracle:`."""
    from sandbox.tasks import load_task

    try:
        module = load_task(task_id).browser_oracle
    except SandboxError as exc:
        give_up(f"task {task_id!r}: {exc}")
    if not module:
        give_up(f"task {task_id!r} names no browser_oracle: add `browser_oracle: <module>` to its YAML")
    return module


def run_browser_oracle(naive: bool = False) -> None:
    task_id = os.environ.get("SANDBOX_TASK_ID")
    if not task_id:
        give_up("SANDBOX_TASK_ID is not set: run this inside an episode of a task (sandbox run / sandbox sweep)")
    if naive:
        # Before any page object imports `settle`: they then bind the no-op, so nothing is dismissed,
        # waited for or signed in again.
        from sandbox.tasks.oracles.browser import adapt

        adapt.settle = lambda page, *args, **kwargs: None
    runpy.run_module(browser_oracle_of(task_id), run_name="__main__", alter_sys=True)
