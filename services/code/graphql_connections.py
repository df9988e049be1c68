"""GitHub's GraphQL connections: `first`/`last`/`after`/`before` over a list, with `totalCount`,
`nodes`, `edges { cursor node }` and `pageInfo`, and GitHub's errors for a missing or too large
page size and for a cursor it never gave out.

A connection is lazy: GitHub answers `issues { totalCount }` without `first` or `last`, and asks for
a page size only when nodes or edges are read."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from graphql import GraphQLError

MAX_PAGE = 100


class GitHubGraphQLError(GraphQLError):
    """A resolver's error in GitHub's shape: `{"type": "NOT_FOUND", "path", "locations", "message"}`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def not_found(message: str) -> GitHubGraphQLError:
    return GitHubGraphQLError("NOT_FOUND", message)


def cursor(position: int) -> str:
    """An opaque cursor for the item at 1-based `position` (GitHub's start "cursor:v2:" too)."""
    return base64.b64encode(f"cursor:v2:{position}".encode()).decode()


def _position(value: str) -> int:
    try:
        text = base64.b64decode(value, validate=True).decode()
        if text.startswith("cursor:v2:"):
            return int(text.removeprefix("cursor:v2:"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise GitHubGraphQLError("INVALID_CURSOR_ARGUMENTS", f"`{value}` does not appear to be a valid cursor.")


class Connection:
    """`items` (already filtered and ordered) as a GitHub connection named `name` (for errors). Its
    methods are its GraphQL fields, named as the schema names them (`totalCount`, `pageInfo`)."""

    def __init__(self, items: Sequence[Any], name: str, *, first: int | None = None, last: int | None = None,
                 after: str | None = None, before: str | None = None, bounded: bool = True, **_: Any) -> None:
        self.items, self.name = items, name
        self.first, self.last, self.after, self.before = first, last, after, before
        self.bounded = bounded  # False: GitHub's few connections that need no page size (reactions)
        self._page: tuple[int, int] | None = None

    def totalCount(self, info: Any = None) -> int:
        return len(self.items)

    def _window(self) -> tuple[int, int]:
        """[start, end) of the page in `items`."""
        if self._page is not None:
            return self._page
        for argument in ("first", "last"):
            value = getattr(self, argument)
            if value is not None and value < 0:
                raise GitHubGraphQLError("INVALID_ARGUMENTS", f"`{argument}` on the `{self.name}` connection"
                                         " cannot be less than zero.")
            if value is not None and value > MAX_PAGE:
                raise GitHubGraphQLError("EXCESSIVE_PAGINATION", f"Requesting {value} records on the `{self.name}`"
                                         f" connection exceeds the `{argument}` limit of {MAX_PAGE} records.")
        if self.bounded and self.first is None and self.last is None:
            raise GitHubGraphQLError("MISSING_PAGINATION_BOUNDARIES", "You must provide a `first` or `last` value"
                                     f" to properly paginate the `{self.name}` connection.")
        start, end = 0, len(self.items)
        if self.after is not None:
            start = min(max(_position(self.after), 0), end)
        if self.before is not None:
            end = max(min(_position(self.before) - 1, end), start)
        if self.first is not None:
            end = min(end, start + self.first)
        if self.last is not None:
            start = max(start, end - self.last)
        self._page = (start, end)
        return self._page

    def nodes(self, info: Any = None) -> list[Any]:
        start, end = self._window()
        return list(self.items[start:end])

    def edges(self, info: Any = None) -> list[dict[str, Any]]:
        start, end = self._window()
        return [{"cursor": cursor(start + i + 1), "node": node} for i, node in enumerate(self.items[start:end])]

    def pageInfo(self, info: Any = None) -> dict[str, Any]:
        start, end = self._window()
        return {
            "startCursor": cursor(start + 1) if end > start else None,
            "endCursor": cursor(end) if end > start else None,
            "hasNextPage": end < len(self.items),
            "hasPreviousPage": start > 0,
        }
