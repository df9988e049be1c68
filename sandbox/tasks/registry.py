"""Tasks by id: the shipped library (`sandbox/tasks/library/*.yaml`) or any YAML path."""

from __future__ import annotations

import sqlite3
from functools import lru_cache
from pathlib import Path

from sandbox.errors import TaskError, did_you_mean
from sandbox.tasks.model import Task, parse_task, read_yaml
from sandbox.world import world

LIBRARY = Path(__file__).parent / "library"


def library_ids() -> list[str]:
    return sorted(p.stem for p in LIBRARY.glob("*.yaml"))


@lru_cache(maxsize=1)
def service_tables() -> dict[str, dict[str, set[str]]]:
    """Each registered service's tables and their columns ({service: {table: {column}}}), from a
    throwaway in-memory build of its template."""
    from services import all_services
    from services.common.db import user_tables

    tables: dict[str, dict[str, set[str]]] = {}
    for spec in all_services():
        conn = sqlite3.connect(":memory:")
        spec.build_template(conn, world(0))
        tables[spec.id] = {
            table: {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}
            for table in set(user_tables(conn)) - set(spec.internal_tables)
        }
        conn.close()
    return tables


def task_path(name_or_path: str | Path) -> Path:
    """The YAML file of a library id, or the path itself; an unknown id suggests the closest."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        candidate = LIBRARY / f"{name_or_path}.yaml"
        if not candidate.exists():
            raise TaskError(f"unknown task {str(name_or_path)!r}", hint=did_you_mean(str(name_or_path), library_ids()))
        path = candidate
    return path


def load_task(name_or_path: str | Path, *, seed: int | None = None) -> Task:
    """A task from the library by id, or from a YAML file; validated, with world facts filled in.

    `seed` moves the task to another world (sweeps over seeds): its facts, canaries and setup are
    resolved in that world, so the instruction names that world's customer."""
    path = task_path(name_or_path)
    data = read_yaml(path)
    if seed is not None and isinstance(data, dict):
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise TaskError(f"seed must be a non-negative integer, got {seed!r}")
        data = {**data, "seed": seed}
    task_seed = data.get("seed") if isinstance(data, dict) else None
    usable = isinstance(task_seed, int) and not isinstance(task_seed, bool) and task_seed >= 0
    the_world = world(task_seed) if usable else None
    return parse_task(data, str(path), facts=the_world.facts if the_world else None, tables=service_tables(),
                      private=the_world.private if the_world else None)
