"""Repositories: the organisation's, the caller's, one by name, and who can be assigned in it."""

from __future__ import annotations

import sqlite3

from flask import Blueprint, Response, g, request

from services.code import objects, store
from services.code.accounts import require_org
from services.code.errors import invalid_request, not_found, show
from services.code.pagination import paginate
from services.code.wire import docs, json_response, no_content

bp = Blueprint("repos", __name__)

SORTS = {
    "created": lambda r: r["created_at"],
    "updated": lambda r: r["updated_at"],
    "pushed": lambda r: r["pushed_at"],
    "full_name": lambda r: f"{r['owner']}/{r['name']}".lower(),
}


def _arg(name: str, choices: tuple[str, ...], default: str) -> str:
    value = request.args.get(name, default) or default
    if value not in choices:
        allowed = ", ".join(show(c) for c in choices)
        raise invalid_request(f"For '{name}', {show(value)} is not one of [{allowed}].")
    return value


def open_issue_counts() -> dict[int, int]:
    rows = g.db.execute("SELECT repo_id, count(*) FROM issues WHERE state = 'open' GROUP BY repo_id")
    return {repo_id: n for repo_id, n in rows}


def _listed(rows: list[sqlite3.Row], default_sort: str) -> Response:
    sort = _arg("sort", tuple(SORTS), default_sort)
    direction = _arg("direction", ("asc", "desc"), "asc" if sort == "full_name" else "desc")
    rows = sorted(rows, key=lambda r: (SORTS[sort](r), r["id"]), reverse=direction == "desc")
    page, headers = paginate(rows)
    counts = open_issue_counts()
    return json_response([objects.repository(r, counts.get(r["id"], 0)) for r in page], headers=headers)


@bp.get("/orgs/<org>/repos")
@docs("repos/repos#list-organization-repositories")
def list_for_org(org: str) -> Response:
    """List organization repositories (filters: type, sort, direction)."""
    require_org(org)
    kind = _arg("type", ("all", "public", "private", "forks", "sources", "member"), "all")
    rows = g.db.execute("SELECT * FROM repos").fetchall()
    if kind == "public":
        rows = [r for r in rows if not r["private"]]
    elif kind == "private":
        rows = [r for r in rows if r["private"]]
    elif kind == "forks":
        rows = []  # the organisation has no forks
    return _listed(rows, "created")


@bp.get("/user/repos")
@docs("repos/repos#list-repositories-for-the-authenticated-user")
def list_for_me() -> Response:
    """List repositories for the authenticated user: the organisation's, through membership."""
    visibility = _arg("visibility", ("all", "public", "private"), "all")
    affiliation = {a.strip() for a in request.args.get("affiliation", "owner,collaborator,organization_member")
                   .split(",") if a.strip()}
    unknown = affiliation - {"owner", "collaborator", "organization_member"}
    if unknown:
        raise invalid_request(f"For 'affiliation', {show(sorted(unknown)[0])} is not a known affiliation.")
    kind = _arg("type", ("all", "owner", "public", "private", "member"), "all")
    rows = g.db.execute("SELECT * FROM repos").fetchall()
    if "organization_member" not in affiliation or kind == "owner":
        rows = []  # the bot owns no repositories and collaborates on none outside the organisation
    if visibility == "public" or kind == "public":
        rows = [r for r in rows if not r["private"]]
    elif visibility == "private" or kind == "private":
        rows = [r for r in rows if r["private"]]
    return _listed(rows, "full_name")


@bp.get("/repos/<owner>/<repo>")
@docs("repos/repos#get-a-repository")
def get_repo(owner: str, repo: str) -> Response:
    """Get a repository."""
    row = store.repo(owner, repo)
    return json_response(objects.repository(row, open_issue_counts().get(row["id"], 0), full=True))


@bp.get("/repos/<owner>/<repo>/topics")
@docs("repos/repos#get-all-repository-topics")
def get_topics(owner: str, repo: str) -> Response:
    """Get all repository topics."""
    return json_response({"names": store.load(store.repo(owner, repo)["topics"])})


@bp.get("/repos/<owner>/<repo>/assignees")
@docs("issues/assignees#list-assignees")
def list_assignees(owner: str, repo: str) -> Response:
    """List assignees: the organisation's members."""
    store.repo(owner, repo)
    page, headers = paginate(store.members())
    return json_response([objects.simple_user(m["login"]) for m in page], headers=headers)


@bp.get("/repos/<owner>/<repo>/assignees/<login>")
@docs("issues/assignees#check-if-a-user-can-be-assigned")
def check_assignee(owner: str, repo: str, login: str) -> Response:
    """Check if a user can be assigned (204, or 404 when not)."""
    store.repo(owner, repo)
    row = store.user(login)
    if row is None or not row["member"]:
        raise not_found()
    return no_content()
