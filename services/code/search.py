"""Issue search: `GET /search/issues?q=...`, what the official GitHub MCP server's `search_issues`
tool and `gh search issues` call.

The query's words (and "quoted phrases") must all appear, case-insensitively, in an issue's title,
body or comments (`in:title`, `in:body`, `in:comments` narrow that). Qualifiers: `repo:OWNER/NAME`,
`org:` / `user:`, `is:issue|pr|open|closed`, `type:issue|pr`, `state:open|closed`, `label:`,
`assignee:`, `author:`, `mentions:`, `no:label|assignee`; a leading `-` negates one. A qualifier
this fake does not know is searched for as a word, so it matches nothing rather than everything.
There are no pull requests, so `is:pr` matches nothing. `sort=created|updated|comments` with
`order` (desc by default); GitHub's default "best match" is not modelled: newest first.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

from flask import Blueprint, Response, g, request

from services.code import objects
from services.code.errors import invalid_request, show, validation_failed
from services.code.pagination import paginate
from services.code.store import load
from services.code.wire import docs, json_response

bp = Blueprint("search", __name__)

MAX_QUERY = 256  # GitHub refuses longer queries
_TERM = re.compile(r'(-?)([a-z]+):("[^"]*"|\S+)|"([^"]*)"|(\S+)', re.IGNORECASE)
Predicate = Callable[[sqlite3.Row, sqlite3.Row], bool]  # (repository, issue) -> matches


def _people(row: sqlite3.Row, column: str) -> set[str]:
    return {login.lower() for login in load(row[column])}


def _qualifier(name: str, value: str) -> Predicate | None:
    """The test of one known qualifier, or None for a name this fake does not know."""
    value = value.lower()
    tests: dict[str, Predicate] = {
        "repo": lambda repo, _: f"{repo['owner']}/{repo['name']}".lower() == value,
        "org": lambda repo, _: repo["owner"].lower() == value,
        "user": lambda repo, _: repo["owner"].lower() == value,
        "is": lambda _, issue: value == "issue" or value == issue["state"],
        "type": lambda _, issue: value == "issue",
        "state": lambda _, issue: value == issue["state"],
        "label": lambda _, issue: value in {n.lower() for n in load(issue["labels"])},
        "assignee": lambda _, issue: value in _people(issue, "assignees"),
        "author": lambda _, issue: issue["author"].lower() == value,
        "mentions": lambda _, issue: f"@{value}" in _texts(issue, ("body", "comments")),
        "no": lambda _, issue: value in ("label", "assignee") and not load(issue[f"{value}s"]),
    }
    return tests.get(name.lower())


def _texts(issue: sqlite3.Row, fields: tuple[str, ...]) -> str:
    parts = [issue[f] or "" for f in ("title", "body") if f in fields]
    if "comments" in fields:
        parts += [c[0] or "" for c in g.db.execute("SELECT body FROM comments WHERE issue_id = ?", (issue["id"],))]
    return "\n".join(parts).lower()


def parse(query: str) -> tuple[list[Predicate], list[str], tuple[str, ...]]:
    """(qualifier tests, words that must appear, the fields they must appear in)."""
    tests: list[Predicate] = []
    words: list[str] = []
    fields: list[str] = []
    for match in _TERM.finditer(query):
        negated, name, value, phrase, word = match.groups()
        if name is None:
            words.append((phrase if phrase is not None else word).lower())
            continue
        value = value.strip('"')
        if name.lower() == "in":
            fields += [f for f in value.lower().split(",") if f in ("title", "body", "comments")]
            continue
        test = _qualifier(name, value)
        if test is None:
            words.append(match.group(0).lstrip("-").lower())
        elif negated:
            tests.append(lambda repo, issue, test=test: not test(repo, issue))
        else:
            tests.append(test)
    return tests, [w for w in words if w], tuple(fields) or ("title", "body", "comments")


@bp.get("/search/issues")
@docs("search/search#search-issues-and-pull-requests")
def search_issues() -> Response:
    """Search issues and pull requests (q; sort: created, updated, comments; order; per_page, page)."""
    query = request.args.get("q", "").strip()
    if not query:
        raise validation_failed("Search", "q", "missing")
    if len(query) > MAX_QUERY:
        raise validation_failed("Search", "q", "invalid",
                                message=f"The search is longer than {MAX_QUERY} characters.")
    sort = request.args.get("sort") or "best-match"
    if sort not in ("best-match", "created", "updated", "comments"):
        raise invalid_request(f"For 'sort', {show(sort)} is not one of [\"comments\", \"created\", \"updated\"].")
    order = request.args.get("order") or "desc"
    if order not in ("asc", "desc"):
        raise invalid_request(f"For 'order', {show(order)} is not one of [\"asc\", \"desc\"].")
    tests, words, fields = parse(query)
    repos = {r["id"]: r for r in g.db.execute("SELECT * FROM repos")}
    found = []
    for issue in g.db.execute("SELECT * FROM issues").fetchall():
        repo = repos[issue["repo_id"]]
        if all(test(repo, issue) for test in tests):
            text = _texts(issue, fields) if words else ""
            if all(word in text for word in words):
                found.append(issue)
    counts = dict(g.db.execute("SELECT issue_id, count(*) FROM comments GROUP BY issue_id").fetchall())
    key = {"comments": lambda r: counts.get(r["id"], 0), "updated": lambda r: r["updated_at"]}.get(
        sort, lambda r: r["created_at"])
    found.sort(key=lambda r: (key(r), r["id"]), reverse=order == "desc")
    page, headers = paginate(found)
    items = [{**objects.issue(repos[r["repo_id"]], r, counts.get(r["id"], 0)), "score": 1.0} for r in page]
    return json_response({"total_count": len(found), "incomplete_results": False, "items": items}, headers=headers)
