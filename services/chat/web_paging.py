"""The web client's list parameters (`?q=`, `?page=`, `?per_page=`) and its pager.

Pages are 1-based, `per_page` is 1..100 (default 25); a value that is not a number in range is a
400 page naming the parameter and what it takes. The pager's links carry q, page and per_page as
actually used, so an agent that follows `#next-page` never computes an offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import request

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000
MAX_QUERY = 200


class WebError(Exception):
    """A page-level error: rendered as the error page with `status` and `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _number(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    if not re.fullmatch(r"\s*\d{1,7}\s*", raw) or not low <= int(raw) <= high:
        raise WebError(400, f"?{name}={raw[:40]!r} is not valid: {name} takes a whole number from {low} to {high}.")
    return int(raw)


@dataclass(frozen=True)
class Paging:
    page: int
    per_page: int
    q: str
    total: int = 0

    @classmethod
    def from_request(cls) -> Paging:
        q = (request.args.get("q") or "").strip()
        if len(q) > MAX_QUERY:
            raise WebError(400, f"?q= is {len(q)} characters long: search with at most {MAX_QUERY}.")
        return cls(_number("page", 1, 1, MAX_PAGE), _number("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE), q)

    def counted(self, total: int) -> Paging:
        return Paging(self.page, self.per_page, self.q, total)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def last_page(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_shown(self) -> int:
        return self.offset + 1 if self.offset < self.total else 0

    @property
    def last_shown(self) -> int:
        return min(self.offset + self.per_page, self.total)

    def url(self, path: str, page: int) -> str:
        params: dict[str, str | int] = {"q": self.q} if self.q else {}
        params.update(page=page, per_page=self.per_page)
        return f"{path}?{urlencode(params)}"

    def prev_url(self, path: str) -> str | None:
        return self.url(path, min(self.page - 1, self.last_page)) if self.page > 1 else None

    def next_url(self, path: str) -> str | None:
        return self.url(path, self.page + 1) if self.page < self.last_page else None
