"""GitHub's page-number pagination: `per_page` (default 30, at most 100) and `page` (from 1), with a
`Link` header naming the `next`, `last`, `first` and `prev` pages — what PyGithub's PaginatedList
and Octokit's `paginate` follow. The lists are small, so they are sliced in memory."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar
from urllib.parse import urlencode

from flask import request

from services.code.errors import invalid_request, show
from services.code.wire import api_base

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
T = TypeVar("T")


def _integer(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?\d{1,9}", raw.strip()):
        raise invalid_request(f"For '{name}', {show(raw)} is not an integer.")
    return int(raw)


def page_params() -> tuple[int, int]:
    """(per_page, page). GitHub caps per_page at 100 and reads page 0 or below as page 1."""
    per_page = _integer("per_page", DEFAULT_PER_PAGE)
    per_page = DEFAULT_PER_PAGE if per_page < 1 else min(per_page, MAX_PER_PAGE)
    return per_page, max(1, _integer("page", 1))


def _page_url(page: int) -> str:
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]
    return f"{api_base()}{request.path}?{urlencode([*pairs, ('page', str(page))])}"


def paginate(items: Sequence[T]) -> tuple[list[T], dict[str, str]]:
    """The current page of `items` and the headers that go with it (a Link header when there is
    more than one page)."""
    per_page, page = page_params()
    last = max(1, -(-len(items) // per_page))
    chunk = list(items[(page - 1) * per_page : page * per_page])
    links = []
    if page > 1:
        links.append(("prev", min(page - 1, last)))
    if page < last:
        links += [("next", page + 1), ("last", last)]
    if page > 1:
        links.append(("first", 1))
    if not links:
        return chunk, {}
    return chunk, {"Link": ", ".join(f'<{_page_url(n)}>; rel="{rel}"' for rel, n in links)}
