"""Zendesk's two pagination styles, over one ordered list of rows.

- Offset: `page` (from 1) and `per_page` (at most 100); the answer carries `count` and the
  absolute URLs `next_page` / `previous_page` (null at the ends). zenpy's ZendeskResultGenerator
  follows `next_page`.
- Cursor: `page[size]` (at most 100), `page[after]` / `page[before]`; the answer carries `meta`
  {has_more, after_cursor, before_cursor} and `links` {next, prev}. zenpy asks for it
  (`page[size]=100`) on the endpoints that support it and follows `links.next` while `has_more`.

A cursor is opaque to clients: base64 of the sort value and id of the row it stands on, so a row
written or deleted between two pages shifts nothing. The desk is small (tens of tickets, about a
hundred users), so a page is cut from the whole ordered list in Python.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from flask import g, request

from services.common.inputs import fits_sqlite, parse_json
from services.helpdesk.errors import ZendeskError
from services.helpdesk.wire import base_url

MAX_PAGE_SIZE = 100
CURSOR_PARAMS = ("page[size]", "page[after]", "page[before]")
# Cursor pagination sorts only on columns that are never null, so cursors compare.
CURSOR_SORTS = ("id", "created_at", "updated_at")


def pagination_error(description: str) -> ZendeskError:
    return ZendeskError(400, "InvalidPaginationParameter", description)


def _int(name: str, default: int, *, low: int = 1) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise pagination_error(f"{name} must be an integer, got {raw!r}") from None
    if value < low:
        raise pagination_error(f"{name} must be at least {low}, got {value}")
    return value


def cursor_mode() -> bool:
    return any(p in request.args for p in CURSOR_PARAMS)


def _encode(order: str, row: sqlite3.Row) -> str:
    token = json.dumps({"o": order, "v": [row[order.lstrip("-")], row["id"]]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def _decode(name: str, cursor: str, order: str) -> tuple[int, int]:
    try:
        data = parse_json(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value, row_id = data["v"]
        if data["o"] != order:
            raise ValueError(data["o"])
        value, row_id = int(value), int(row_id)
        if not (fits_sqlite(value) and fits_sqlite(row_id)):  # a forged cursor: SQLite cannot bind it
            raise ValueError(value)
        return value, row_id
    except (binascii.Error, ValueError, KeyError, TypeError, OverflowError):  # OverflowError: int(inf)
        raise pagination_error(f"{name} is not a valid cursor for this list (sorted by {order})") from None


def _url(path: str, **params: Any) -> str:
    """This list's absolute URL with its own parameters, some replaced (None drops one)."""
    query = {k: v for k, v in request.args.items() if k not in params}
    query.update({k: v for k, v in params.items() if v is not None})
    return f"{base_url()}{path}?{urlencode(query)}"


def ordered(rows: Sequence[sqlite3.Row], column: str, descending: bool) -> list[sqlite3.Row]:
    """Rows by `column` then id, nulls first ascending like Zendesk's SQL."""

    def key(row: sqlite3.Row) -> tuple:
        value = row[column]
        return (value is not None, value if value is not None else 0, row["id"])

    return sorted(rows, key=key, reverse=descending)


def page_of(
    plural: str,
    path: str,
    rows: Sequence[sqlite3.Row],
    render: Callable[[sqlite3.Row], dict[str, Any]],
    *,
    sortable: tuple[str, ...] = CURSOR_SORTS,
    default_sort: str = "id",
) -> dict[str, Any]:
    """One page of `rows` (any order) as Zendesk answers `path` (e.g. "/api/v2/tickets.json")."""
    if cursor_mode():
        return _cursor_page(plural, path, rows, render)
    column = request.args.get("sort_by") or default_sort
    if column not in sortable:
        raise ZendeskError(400, "InvalidValue", f"sort_by must be one of {', '.join(sortable)}, got {column!r}")
    direction = request.args.get("sort_order") or "asc"
    if direction not in ("asc", "desc"):
        raise ZendeskError(400, "InvalidValue", f"sort_order must be asc or desc, got {direction!r}")
    return offset_page(plural, path, ordered(rows, column, direction == "desc"), render)


def offset_page(
    plural: str, path: str, rows: Sequence[Any], render: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    """A page of already ordered `rows` by `page` and `per_page`."""
    page = _int("page", 1)
    per_page = min(_int("per_page", MAX_PAGE_SIZE), MAX_PAGE_SIZE)
    start = (page - 1) * per_page
    chunk = rows[start : start + per_page]
    more = start + per_page < len(rows)
    return {
        plural: [render(r) for r in chunk],
        "next_page": _url(path, page=page + 1, per_page=per_page) if more else None,
        "previous_page": _url(path, page=page - 1, per_page=per_page) if page > 1 else None,
        "count": len(rows),
    }


def _cursor_page(
    plural: str, path: str, rows: Sequence[sqlite3.Row], render: Callable[[sqlite3.Row], dict[str, Any]]
) -> dict[str, Any]:
    size = _int("page[size]", MAX_PAGE_SIZE)
    if size > MAX_PAGE_SIZE:
        raise pagination_error(f"page[size] is limited to {MAX_PAGE_SIZE}")
    order = request.args.get("sort") or "id"
    if order.lstrip("-") not in CURSOR_SORTS:
        raise ZendeskError(400, "InvalidValue", f"sort must be one of {', '.join(CURSOR_SORTS)} (prefix - for"
                           f" descending), got {order!r}")
    column, descending = order.lstrip("-"), order.startswith("-")
    rows = ordered(rows, column, descending)
    keys = [(r[column], r["id"]) for r in rows]

    def beyond(key: tuple[int, int], cursor: tuple[int, int]) -> bool:
        return key < cursor if descending else key > cursor

    after, before = request.args.get("page[after]"), request.args.get("page[before]")
    if after and before:
        raise pagination_error("page[after] and page[before] cannot be used together")
    if before:
        cursor = _decode("page[before]", before, order)
        end = next((i for i, k in enumerate(keys) if k == cursor or beyond(k, cursor)), len(rows))
        start = max(0, end - size)
        chunk, has_more = rows[start:end], start > 0
    else:
        start = 0
        if after:
            cursor = _decode("page[after]", after, order)
            start = next((i for i, k in enumerate(keys) if beyond(k, cursor)), len(rows))
        chunk, has_more = rows[start : start + size], start + size < len(rows)
    first = _encode(order, chunk[0]) if chunk else None
    last = _encode(order, chunk[-1]) if chunk else None
    keep = {"page[after]": None, "page[before]": None, "page[size]": size}
    return {
        plural: [render(r) for r in chunk],
        "meta": {"has_more": has_more, "after_cursor": last, "before_cursor": first},
        "links": {
            "prev": _url(path, **{**keep, "page[before]": first}) if first else None,
            "next": _url(path, **{**keep, "page[after]": last}) if last else None,
        },
    }


def episode_rows(sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
    return g.db.execute(sql, tuple(args)).fetchall()
