"""Search: `GET /search/issues` and `GET /search/repositories`, what the official GitHub MCP
server's `search_issues` / `search_repositories` tools and `gh search issues|repos` call.

A query's words (and "quoted phrases") must all appear, case-insensitively, in the fields `in:`
names. Issues: title, body and comments by default; qualifiers `repo:OWNER/NAME`, `org:` / `user:`,
`is:issue|pr|open|closed`, `type:issue|pr`, `state:open|closed`, `label:`, `assignee:`, `author:`,
`mentions:`, `no:label|assignee`; there are no pull requests, so `is:pr` matches nothing.
Repositories: name, description and topics by default; `repo:`, `org:` / `user:`,
`is:public|private`, `topic:`. A leading `-` negates a qualifier. One this fake does not know is
searched for as a word, so it matches nothing rather than everything. `sort` and `order` (desc by
default); GitHub's default "best match" is not modelled: newest first.
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
Predicate = Callable[[sqlite3.Row, sqlite3.Row], bool]  # (repository, issue or repository) -> matches


def _people(row: sqlite3.Row, column: str) -> set[str]:
    return {login.lower() for login in load(row[column])}


def _issue_qualifier(name: str, value: str) -> Predicate | None:
    """The test of one known qualifier, or None for a name this fake does not know."""
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
    return tests.get(name)


def _repo_qualifier(name: str, value: str) -> Predicate | None:
    tests: dict[str, Predicate] = {
        "repo": lambda repo, _: f"{repo['owner']}/{repo['name']}".lower() == value,
        "org": lambda repo, _: repo["owner"].lower() == value,
        "user": lambda repo, _: repo["owner"].lower() == value,
        "is": lambda repo, _: value == ("private" if repo["private"] else "public"),
        "topic": lambda repo, _: value in {t.lower() for t in load(repo["topics"])},
    }
    return tests.get(name)


def _texts(issue: sqlite3.Row, fields: tuple[str, ...]) -> str:
    parts = [issue[f] or "" for f in ("title", "body") if f in fields]
    if "comments" in fields:
        parts += [c[0] or "" for c in g.db.execute("SELECT body FROM comments WHERE issue_id = ?", (issue["id"],))]
    return "\n".join(parts).lower()


def parse(query: str, qualifier: Callable[[str, str], Predicate | None], fields_known: tuple[str, ...]
          ) -> tuple[list[Predicate], list[str], tuple[str, ...]]:
    """(qualifier tests, words that must appear, the fields they must appear in: `in:`, else all
    of `fields_known`)."""
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
            fields += [f for f in value.lower().split(",") if f in fields_known]
            continue
        test = qualifier(name.lower(), value.lower())
        if test is None:
            words.append(match.group(0).lstrip("-").lower())
        elif negated:
            tests.append(lambda repo, issue, test=test: not test(repo, issue))
        else:
            tests.append(test)
    return tests, [w for w in words if w], tuple(fields) or fields_known


def _query() -> str:
    query = request.args.get("q", "").strip()
    if not query:
        raise validation_failed("Search", "q", "missing")
    if len(query) > MAX_QUERY:
        raise validation_failed("Search", "q", "invalid",
                                message=f"The search is longer than {MAX_QUERY} characters.")
    return query


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = request.args.get(name) or default
    if value not in (default, *choices):
        raise invalid_request(f"For '{name}', {show(value)} is not one of [{', '.join(show(c) for c in choices)}].")
    return value


@bp.get("/search/issues")
@docs("search/search#search-issues-and-pull-requests")
def search_issues() -> Response:
    """Search issues and pull requests (q; sort: created, updated, comments; order; per_page, page)."""
    query = _query()
    sort = _choice("sort", ("comments", "created", "updated"), "best-match")
    order = _choice("order", ("asc", "desc"), "desc")
    tests, words, fields = parse(query, _issue_qualifier, ("title", "body", "comments"))
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


@bp.get("/search/repositories")
@docs("search/search#search-repositories")
def search_repositories() -> Response:
    """Search repositories (q; sort: stars, forks, help-wanted-issues, updated; order; per_page, page)."""
    query = _query()
    sort = _choice("sort", ("forks", "help-wanted-issues", "stars", "updated"), "best-match")
    order = _choice("order", ("asc", "desc"), "desc")
    tests, words, fields = parse(query, _repo_qualifier, ("name", "description", "topics"))
    found = []
    for repo in g.db.execute("SELECT * FROM repos").fetchall():
        texts = {"name": [repo["name"]], "description": [repo["description"] or ""], "topics": load(repo["topics"])}
        text = "\n".join(t for field in fields for t in texts[field]).lower()
        if all(test(repo, repo) for test in tests) and all(word in text for word in words):
            found.append(repo)
    # No repository has stars, forks or help-wanted issues: those sorts tie, and fall back to newest first.
    column = "updated_at" if sort == "updated" else "created_at"
    found.sort(key=lambda r: (r[column], r["id"]), reverse=order == "desc")
    page, headers = paginate(found)
    counts = dict(g.db.execute("SELECT repo_id, count(*) FROM issues WHERE state = 'open' GROUP BY repo_id"))
    items = [{**objects.repository(r, counts.get(r["id"], 0)), "score": 1.0} for r in page]
    return json_response({"total_count": len(found), "incomplete_results": False, "items": items}, headers=headers)
