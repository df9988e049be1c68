"""Tasks: what an agent is asked, from which world, and what its side effects must be.

    from sandbox.tasks import load_task
    task = load_task("refund-duplicate-charge")   # an id from the library, or a path to a YAML file
"""

from sandbox.tasks.model import Canary, Effect, Limits, SetupStep, Task
from sandbox.tasks.registry import library_ids, load_task

__all__ = ["Canary", "Effect", "Limits", "SetupStep", "Task", "library_ids", "load_task"]
