"""Row writes on the request's episode database (`g.db`), for a fake's handlers. Inside the
handler's write transaction, so the change capture logs each one with the exchange that made it.

Table and column names come from the fake's own code, never from the request: only values are
bound as parameters."""

from __future__ import annotations

from typing import Any

from flask import g


def insert(table: str, **values: Any) -> None:
    if not values:
        g.db.execute(f"INSERT INTO {table} DEFAULT VALUES")
        return
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    g.db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(values.values()))


def update(table: str, row_id: Any, **values: Any) -> None:
    """Set `values` on the row whose primary key `id` is `row_id` (nothing to set: no write)."""
    if values:
        columns = ", ".join(f"{name}=?" for name in values)
        g.db.execute(f"UPDATE {table} SET {columns} WHERE id=?", (*values.values(), row_id))
