"""Paging and search for the dashboard's lists: `?q=`, `?page=N` (1-based), `?per_page=M` (1..100).

The worlds are small (hundreds of rows), so a list filters its rows in Python and cuts one page out;
`Listing` carries what the template's table and pager need (rows, "Showing X–Y of Z", prev/next links
with q, page and per_page as actually used).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from flask import request

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
MAX_QUERY = 200


class BadListParameter(ValueError):
    """A list parameter the page cannot use; the dashboard answers 400 naming it."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class Listing:
    rows: list[Any]
    total: int
    page: int
    per_page: int
    q: str
    path: str

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    def link(self, page: int) -> str:
        query = {"q": self.q} if self.q else {}
        return f"{self.path}?{urlencode({**query, 'page': page, 'per_page': self.per_page})}"

    @property
    def prev_link(self) -> str | None:
        return self.link(self.page - 1) if self.page > 1 else None

    @property
    def next_link(self) -> str | None:
        return self.link(self.page + 1) if self.page * self.per_page < self.total else None


def _positive(name: str, default: int, maximum: int | None = None) -> int:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    bound = f"1..{maximum}" if maximum else "1 or more"
    if not raw.isdigit() or len(raw) > 9 or not 1 <= int(raw) <= (maximum or 10**9):
        raise BadListParameter(name, f"{name} must be a whole number {bound}, got {raw[:40]!r}: fix {name} in the URL.")
    return int(raw)


def query() -> str:
    q = request.args.get("q", "").strip()
    if len(q) > MAX_QUERY:
        raise BadListParameter("q", f"q is {len(q)} characters long; a search takes at most {MAX_QUERY}.")
    return q


def paged(rows: Sequence[Any], matches: Callable[[Any, str], bool]) -> Listing:
    """The page of `rows` (already in display order) whose every search term `matches`."""
    q = query()
    page = _positive("page", 1)
    per_page = _positive("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    terms = q.lower().split()
    found = [row for row in rows if all(matches(row, term) for term in terms)]
    start = (page - 1) * per_page
    return Listing(found[start:start + per_page], len(found), page, per_page, q, request.path)


_MONEY = re.compile(r"^[$€£¥₩]?(\d{1,9}(?:[.,]\d{1,2})?)$")


def money_term(term: str) -> Decimal | None:
    """"42", "42.00" or "$42.00" -> Decimal("42.00"): an amount in major units, or None."""
    match = _MONEY.match(term)
    if not match:
        return None
    try:
        return Decimal(match.group(1).replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        return None
