"""Paging for the web pages' tables: `?page=N` (1-based) and `?per_page=M` (1..100, 25 by default),
and the pager's links, which carry `q`, `page` and `per_page` as actually used.

Bad values are the caller's mistake, answered with a 400 page that names the parameter and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
T = TypeVar("T")


@dataclass(frozen=True)
class Pager:
    first: int  # 1-based position of the first row shown (0 when none)
    last: int
    total: int
    prev_url: str | None
    next_url: str | None


def _positive(args: MultiDict, name: str, default: int, most: int | None) -> int:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    limit = f"between 1 and {most}" if most else "1 or more"
    if not raw.isdigit() or not 1 <= int(raw) <= (most or 10**9):
        raise BadRequest(f"The parameter {name}={raw!r} is not valid: use a whole number {limit}.")
    return int(raw)


def paged(rows: Sequence[T], args: MultiDict, path: str, keep: dict[str, str]) -> tuple[Sequence[T], Pager]:
    """The rows of the page `args` asks for, and the pager around them; `keep` holds the other
    parameters (such as `q`) the pager's links repeat."""
    page = _positive(args, "page", 1, None)
    per_page = _positive(args, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    start = (page - 1) * per_page
    shown = rows[start:start + per_page]

    def link(n: int) -> str:
        return f"{path}?{urlencode({**keep, 'page': n, 'per_page': per_page})}"

    pager = Pager(
        first=start + 1 if shown else 0,
        last=start + len(shown),
        total=len(rows),
        prev_url=link(page - 1) if page > 1 else None,
        next_url=link(page + 1) if start + per_page < len(rows) else None,
    )
    return shown, pager
