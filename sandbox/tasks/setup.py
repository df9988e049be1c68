"""A task's setup steps: changes made to an episode's world before its agent starts.

They go through the service database's own change capture, so the ledger shows them like any
change, but with no exchange, under an event `setup`, and with the last setup change of each
service in the ledger's meta (`setup_seq`). Scoring ignores changes up to that mark: the agent is
judged on what it did, not on the scene it was given.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sandbox.episodes.ledger import Ledger
from sandbox.errors import TaskError, did_you_mean
from sandbox.home import Home
from sandbox.tasks.model import SetupStep, Task
from services.common.db import open_service_db, sync_changes, write_transaction


def apply_setup(home: Home, episode_id: str, task: Task) -> dict[str, int]:
    """Apply `task.setup` to episode `episode_id`; returns {service: last setup change seq}."""
    if not task.setup:
        return {}
    marks: dict[str, int] = {}
    touched: list[dict[str, Any]] = []
    with Ledger(home.ledger_path(episode_id)) as ledger:
        for service in dict.fromkeys(step.service for step in task.setup):
            path = home.service_db(episode_id, service)
            if not path.exists():
                raise TaskError(
                    f"task {task.id}: setup needs service {service!r}, which this sandbox does not run",
                    hint="start the sandbox with that service (check SANDBOX_SERVICES)",
                )
            conn = open_service_db(path)
            try:
                with write_transaction(conn):
                    for index, step in enumerate(task.setup):
                        if step.service == service:
                            rows = _apply(conn, step, f"{task.source or task.id}: setup[{index}]")
                            touched.append({"step": index, "service": service, "table": step.table,
                                            "op": step.op, "rows": rows})
                sync_changes(conn, ledger, service)
                marks[service] = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM _sandbox_changes").fetchone()[0])
            finally:
                conn.close()
        ledger.set_meta(setup_seq=marks)
        ledger.record_event("setup", {"steps": touched, "setup_seq": marks})
    return marks


def _apply(conn: sqlite3.Connection, step: SetupStep, place: str) -> int:
    columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{step.table}")')]
    if not columns:
        raise TaskError(f"{place}: no table {step.table!r} in {step.service}")
    for column in [*step.match, *step.values]:
        if column not in columns:
            raise TaskError(f"{place}: {step.service}.{step.table} has no column {column!r}",
                            hint=did_you_mean(column, columns))
    values = {k: _sql_value(v) for k, v in step.values.items()}
    where = " AND ".join(f'"{k}" = ?' for k in step.match)
    match = [_sql_value(v) for v in step.match.values()]
    try:
        if step.op == "insert":
            names = ", ".join(f'"{k}"' for k in values)
            marks = ", ".join("?" for _ in values)
            cur = conn.execute(f'INSERT INTO "{step.table}" ({names}) VALUES ({marks})', list(values.values()))
        elif step.op == "update":
            sets = ", ".join(f'"{k}" = ?' for k in values)
            cur = conn.execute(f'UPDATE "{step.table}" SET {sets} WHERE {where}', [*values.values(), *match])
        else:
            cur = conn.execute(f'DELETE FROM "{step.table}" WHERE {where}', match)
    except sqlite3.IntegrityError as exc:
        raise TaskError(f"{place}: the database refused the {step.op}: {exc}",
                        hint="check required columns and unique keys in the service's schema.sql") from None
    if cur.rowcount == 0:
        raise TaskError(f"{place}: {step.op} matched no row of {step.service}.{step.table} ({step.match})",
                        hint="fix the match so it names a row of the task's world")
    return cur.rowcount


def _sql_value(value: Any) -> Any:
    """Nested values are stored as JSON text (the fakes' convention); booleans as 0/1."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def setup_marks(meta: dict[str, Any]) -> dict[str, int]:
    """The ledger's record of which changes were setup: {service: last setup seq}."""
    marks = meta.get("setup_seq") or {}
    return {str(k): int(v) for k, v in marks.items()}
