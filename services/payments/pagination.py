"""Stripe's cursor pagination: `limit`, `starting_after`, `ending_before`, `created` filters.

Lists are newest first (`created` descending, then `id` descending so objects made in the same
second keep a stable order). A cursor is an object id: `starting_after=X` gives the objects after
X in that order, `ending_before=X` those just before it (still newest first). `has_more` says
whether more objects lie beyond the page in the direction of travel, which is what the SDK's
`auto_paging_iter()` follows.
"""

from __future__ import annotations

from typing import Any

from flask import g

from services.payments import objects
from services.payments.errors import StripeError, no_such
from services.payments.forms import MISSING, Params

LIST_PARAMS = ("limit", "starting_after", "ending_before", "created")
_RANGE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def list_expand(kind: str, params: Params) -> list[str]:
    """A list's `expand[]` names fields of its items as `data.<field>`."""
    below = []
    for path in params.expand():
        if not path.startswith("data."):
            raise StripeError(f"This property cannot be expanded ({path}).", param="expand")
        below.append(path.removeprefix("data."))
    objects.check_expand(kind, below, prefix="data.")
    return below


def created_filter(params: Params) -> tuple[list[str], list[Any]]:
    """`created=<ts>` or `created[gte]=<ts>&created[lt]=<ts>` -> SQL conditions."""
    value = params.data.get("created", MISSING)
    if value is MISSING:
        return [], []
    if not isinstance(value, dict):
        return ["created = ?"], [params.integer("created")]
    sql, args = [], []
    for op, bound in value.items():
        if op not in _RANGE:
            raise StripeError(
                f"Received unknown parameter: created[{op}]", code="parameter_unknown", param=f"created[{op}]"
            )
        sub = Params({f"created[{op}]": bound}, [f"created[{op}]"])
        sql.append(f"created {_RANGE[op]} ?")
        args.append(sub.integer(f"created[{op}]", required=True))
    return sql, args


def list_page(
    kind: str,
    url: str,
    params: Params,
    *,
    filters: dict[str, Any] | None = None,
    where: tuple[str, ...] = (),
    where_args: tuple[Any, ...] = (),
) -> dict[str, Any]:
    """One page of `kind` objects, newest first. `filters` are column equalities (MISSING and None
    ones are skipped); `where` adds SQL conditions (e.g. hiding deleted customers) whose `?`
    placeholders take `where_args`."""
    table, render = objects.RENDER[kind]
    expand = list_expand(kind, params)
    limit = params.integer("limit", minimum=1, maximum=100) or 10
    after = params.string("starting_after", max_length=255)
    before = params.string("ending_before", max_length=255)
    if after and before:
        raise StripeError(
            "You may only specify one of these parameters: ending_before, starting_after.",
            code="parameters_exclusive",
            param="ending_before",
        )
    conditions, args = created_filter(params)
    conditions += list(where)
    args += list(where_args)
    for column, value in (filters or {}).items():
        if value is not MISSING and value is not None:
            conditions.append(f"{column} = ?")
            args.append(value)

    cursor_id, param = (after, "starting_after") if after else (before, "ending_before")
    if cursor_id:
        cursor = g.db.execute(f"SELECT created, id FROM {table} WHERE id=?", (cursor_id,)).fetchone()
        if cursor is None:
            raise no_such(kind, cursor_id, param=param)
        op = "<" if after else ">"
        conditions.append(f"(created {op} ? OR (created = ? AND id {op} ?))")
        args += [cursor["created"], cursor["created"], cursor["id"]]

    order = "ASC" if before else "DESC"
    sql = f"SELECT * FROM {table}"
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    sql += f" ORDER BY created {order}, id {order} LIMIT ?"
    rows = g.db.execute(sql, (*args, limit + 1)).fetchall()
    has_more = len(rows) > limit
    rows = rows[:limit]
    if before:
        rows.reverse()  # fetched oldest-first to find the page next to the cursor; shown newest-first
    return {"object": "list", "data": [render(r, expand) for r in rows], "has_more": has_more, "url": url}
