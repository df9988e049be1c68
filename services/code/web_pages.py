"""github.com's pages that read: the organisation's repositories and people, a repository's issues
(searched in GitHub's syntax, paged) and an issue with its comments, labels and assignees.

    GET /<org>                          table#repositories-table
    GET /orgs/<org>/people              table#members-table (login and name: who can be assigned)
    GET /<org>/<repo>                   -> the repository's issues
    GET /<org>/<repo>/issues?q=&page=   table#issues-table, q defaults to "is:issue is:open"
    GET /<org>/<repo>/issues/<n>        dl#issue-details, the comments, and the forms of web_forms
    GET /<org>/<repo>/issues/new        the new-issue form

The rows are the API's rows, read with the API's lookups (store.repo, store.issue raise the same
404s); search is services/code/issue_search.py, what GraphQL's issue search runs.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Response, g, redirect, request

from services.code import issue_search, store
from services.code.accounts import require_org
from services.code.repos import open_issue_counts
from services.code.store import iso, load
from services.code.web_lists import paged
from services.code.web_session import bp, page

DEFAULT_QUERY = "is:issue is:open"
# What `?notice=` may say after a write: a key, never free text (a crafted link must not put words
# on the page that seem to come from GitHub).
NOTICES = {"created": "Issue created", "commented": "Comment added", "labels": "Labels updated",
           "assignees": "Assignees updated", "closed": "Issue closed", "reopened": "Issue reopened"}


def repo_of(org: str, repo: str) -> sqlite3.Row:
    require_org(org)
    return store.repo(org, repo)


def found(rows: list[sqlite3.Row], q: str, *columns: str) -> list[sqlite3.Row]:
    """The rows in which every word of `q` appears in one of `columns`, ignoring case ("Find a repository...")."""
    words = q.lower().split()
    return [r for r in rows if all(w in " ".join(str(r[c] or "") for c in columns).lower() for w in words)]


@bp.get("/<org>")
def organisation(org: str) -> Response:
    org_row = require_org(org)
    q = request.args.get("q", "")
    repos = found(g.db.execute("SELECT * FROM repos ORDER BY name COLLATE NOCASE").fetchall(), q, "name", "description")
    shown, pager = paged(repos, request.args, request.path, {"q": q})
    return page("org.html", org=org_row, q=q, repos=shown, pager=pager, open_counts=open_issue_counts())


@bp.get("/orgs/<org>/people")
def people(org: str) -> Response:
    org_row = require_org(org)
    q = request.args.get("q", "")
    members = found(sorted(store.members(), key=lambda m: m["login"].lower()), q, "login", "name")
    shown, pager = paged(members, request.args, request.path, {"q": q})
    return page("people.html", org=org_row, q=q, members=shown, pager=pager)


@bp.get("/<org>/<repo>")
def repository(org: str, repo: str) -> Response:
    row = repo_of(org, repo)
    return redirect(f"/{row['owner']}/{row['name']}/issues", code=303)


def search_issues(repo_row: sqlite3.Row, q: str) -> list[sqlite3.Row]:
    """The repository's issues matching `q`, newest first unless `sort:` says otherwise; a `repo:`,
    `org:` or `user:` in `q` cannot reach outside this repository."""
    query = issue_search.parse(q)
    query.repos = [(repo_row["owner"].lower(), repo_row["name"].lower())]
    query.owners = []
    return [row for _, row in issue_search.search(query)]


@bp.get("/<org>/<repo>/issues")
def issue_list(org: str, repo: str) -> Response:
    repo_row = repo_of(org, repo)
    q = request.args.get("q", DEFAULT_QUERY)
    shown, pager = paged(search_issues(repo_row, q), request.args, request.path, {"q": q})
    counts = store.comment_counts(repo_row["id"])
    return page("issues.html", repo=repo_row, q=q, issues=shown, pager=pager, comment_counts=counts,
                load=load, iso=iso)


def issue_context(repo_row: sqlite3.Row, issue_row: sqlite3.Row, **extra: Any) -> dict[str, Any]:
    """What the issue page shows: the issue, its comments, and the pickers' choices (the repository's
    labels; its assignable users, the organisation's members, with their names)."""
    comments = g.db.execute("SELECT * FROM comments WHERE issue_id = ? ORDER BY created_at, id",
                            (issue_row["id"],)).fetchall()
    context: dict[str, Any] = {
        "repo": repo_row, "issue": issue_row, "comments": comments, "iso": iso,
        "labels": load(issue_row["labels"]), "assignees": load(issue_row["assignees"]),
        "repo_labels": list(store.labels_of(repo_row["id"]).values()),
        "assignable": sorted(store.members(), key=lambda m: m["login"].lower()),
        "notice": NOTICES.get(request.args.get("notice", "")), "form_error": None, "form": {},
    }
    context.update(extra)
    return context


@bp.get("/<org>/<repo>/issues/<int:number>")
def issue_page(org: str, repo: str, number: int) -> Response:
    repo_row = repo_of(org, repo)
    return page("issue.html", **issue_context(repo_row, store.issue(repo_row, number)))


@bp.get("/<org>/<repo>/issues/new")
def new_issue_form(org: str, repo: str) -> Response:
    repo_row = repo_of(org, repo)
    return page("new_issue.html", repo=repo_row, repo_labels=list(store.labels_of(repo_row["id"]).values()),
                form={}, form_error=None)
