"""Issues: list (GitHub's filters and sorts), create, get, edit, and their assignees.

Assignees must be members of the organisation; anyone else named is dropped without a word, as
GitHub does on create and edit. The repository has no pull requests, so the issue list (which on
GitHub mixes both) holds only issues.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, request

from services.code import labels, objects, store
from services.code.bodies import MISSING, Body, string_list
from services.code.errors import GitHubError, invalid_request, show, too_long, validation_failed
from services.code.pagination import paginate
from services.code.store import dump, load, now
from services.code.wire import docs, json_response
from services.common.db import write_transaction

bp = Blueprint("issues", __name__)

MAX_TITLE = 256
MAX_BODY = 65536
MAX_ASSIGNEES = 10
STATE_REASONS = ("completed", "not_planned", "reopened", "duplicate")


# -- reading ----------------------------------------------------------------------------------


def render(repo_row: sqlite3.Row, row: sqlite3.Row, *, single: bool = True) -> dict[str, Any]:
    count = g.db.execute("SELECT count(*) FROM comments WHERE issue_id = ?", (row["id"],)).fetchone()[0]
    return objects.issue(repo_row, row, count, single=single)


def parse_since(raw: str | None) -> int | None:
    """`since=2026-01-14T00:00:00Z` (ISO 8601, a date alone or with an offset) -> unix seconds."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        raise invalid_request(f"For 'since', {show(raw)} is not a timestamp in ISO 8601 format.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _arg(name: str, choices: tuple[str, ...], default: str) -> str:
    value = request.args.get(name) or default
    if value not in choices:
        allowed = ", ".join(show(c) for c in choices)
        raise invalid_request(f"For '{name}', {show(value)} is not one of [{allowed}].")
    return value


def mentions(row: sqlite3.Row, login: str) -> bool:
    """Whether the issue's body or one of its comments @-mentions `login`."""
    needle = f"@{login.lower()}"
    texts = [row["body"] or ""]
    texts += [c[0] for c in g.db.execute("SELECT body FROM comments WHERE issue_id = ?", (row["id"],))]
    return any(needle in text.lower() for text in texts)


@bp.get("/repos/<owner>/<repo>/issues")
@docs("issues/issues#list-repository-issues")
def list_issues(owner: str, repo: str) -> Response:
    """List repository issues (filters: state, labels, assignee, creator, mentioned, milestone, since;
    sort: created, updated, comments; direction)."""
    repo_row = store.repo(owner, repo)
    state = _arg("state", ("open", "closed", "all"), "open")
    sort = _arg("sort", ("created", "updated", "comments"), "created")
    direction = _arg("direction", ("asc", "desc"), "desc")
    since = parse_since(request.args.get("since"))
    counts = store.comment_counts(repo_row["id"])
    rows = g.db.execute("SELECT * FROM issues WHERE repo_id = ?", (repo_row["id"],)).fetchall()
    if state != "all":
        rows = [r for r in rows if r["state"] == state]
    wanted = {name.strip().lower() for name in request.args.get("labels", "").split(",") if name.strip()}
    if wanted:
        rows = [r for r in rows if wanted <= {n.lower() for n in load(r["labels"])}]
    assignee = request.args.get("assignee")
    if assignee == "none":
        rows = [r for r in rows if not load(r["assignees"])]
    elif assignee == "*":
        rows = [r for r in rows if load(r["assignees"])]
    elif assignee:
        rows = [r for r in rows if assignee.lower() in {a.lower() for a in load(r["assignees"])}]
    creator = request.args.get("creator")
    if creator:
        rows = [r for r in rows if r["author"].lower() == creator.lower()]
    mentioned = request.args.get("mentioned")
    if mentioned:
        rows = [r for r in rows if mentions(r, mentioned)]
    milestone = request.args.get("milestone")
    if milestone and milestone != "none":
        rows = []  # no issue has a milestone: "*" or a milestone number matches nothing
    if since is not None:
        rows = [r for r in rows if r["updated_at"] >= since]
    key = {"created": lambda r: r["created_at"], "updated": lambda r: r["updated_at"],
           "comments": lambda r: counts.get(r["id"], 0)}[sort]
    rows.sort(key=lambda r: (key(r), r["number"]), reverse=direction == "desc")
    page, headers = paginate(rows)
    body = [objects.issue(repo_row, r, counts.get(r["id"], 0)) for r in page]
    return json_response(body, headers=headers)


@bp.get("/repos/<owner>/<repo>/issues/<int:number>")
@docs("issues/issues#get-an-issue")
def get_issue(owner: str, repo: str, number: int) -> Response:
    """Get an issue."""
    repo_row = store.repo(owner, repo)
    return json_response(render(repo_row, store.issue(repo_row, number)))


# -- writing ----------------------------------------------------------------------------------


def check_title(body: Body, *, required: bool) -> Any:
    title = body.string("title", nullable=False, integer_ok=True)
    if title is MISSING:
        if required:
            raise validation_failed("Issue", "title", "missing_field")
        return title
    if not title.strip():
        raise validation_failed("Issue", "title", "missing_field")
    if len(title) > MAX_TITLE:
        raise too_long("Issue", "title", MAX_TITLE)
    return title


def check_text(body: Body, name: str = "body") -> Any:
    text = body.string(name)
    if text and len(text) > MAX_BODY:
        raise too_long("Issue", name, MAX_BODY)
    return text


def _milestone(body: Body) -> None:
    value = body.data.get("milestone", MISSING)
    if value is MISSING or value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise invalid_request(f"For 'properties/milestone', {show(value)} is not a string or integer or null.")
    raise validation_failed("Issue", "milestone", "invalid", value=value)  # the repositories have no milestones


def assignable(logins: list[str]) -> list[str]:
    """The organisation members among `logins`, spelled as their logins are, without repeats; GitHub
    silently drops anyone who cannot be assigned."""
    found: list[str] = []
    for login in logins:
        row = store.user(login)
        if row is not None and row["member"] and row["login"] not in found:
            found.append(row["login"])
    return found


def _assignees(body: Body) -> Any:
    """The assignees a create or edit names (`assignees`, or the older single `assignee`)."""
    many = body.string_list("assignees")
    one = body.string("assignee")
    if many is MISSING and one is MISSING:
        return MISSING
    names = list(many or []) + ([one] if one else [])
    return assignable(names)[:MAX_ASSIGNEES]


def _labels(body: Body, repo_row: sqlite3.Row) -> Any:
    value = body.data.get("labels", MISSING)
    names = labels.label_names(value, "properties/labels")
    return names if names is MISSING else labels.resolve(repo_row, names)


def insert_issue(repo_row: sqlite3.Row, title: str, text: str | None, names: list[str], assignees: list[str]) -> int:
    """Write a new issue by the token's owner; returns its id. Call inside a write transaction with
    `names` already the repository's labels and `assignees` already `assignable` (REST and GraphQL
    both come here, so either door writes the same row)."""
    number = g.db.execute("SELECT coalesce(max(number), 0) + 1 FROM issues WHERE repo_id = ?",
                          (repo_row["id"],)).fetchone()[0]
    issue_id = store.new_id("issue")
    store.insert(
        "issues", id=issue_id, repo_id=repo_row["id"], number=number, title=title, body=text or None,
        author=store.me(), state="open", labels=dump(labels.ordered(names)),
        assignees=dump(assignees), created_at=now(), updated_at=now(), repo_private=repo_row["private"],
    )
    return issue_id


def apply_changes(row: sqlite3.Row, values: dict[str, Any]) -> bool:
    """Write the columns of `values` that differ from the issue's (and bump `updated_at`); nothing
    when none does. Call inside a write transaction. Returns whether anything changed."""
    changed = {k: v for k, v in values.items() if row[k] != v}
    if changed:
        store.update("issues", row["id"], **changed, updated_at=now())
    return bool(changed)


@bp.post("/repos/<owner>/<repo>/issues")
@docs("issues/issues#create-an-issue")
def create_issue(owner: str, repo: str) -> Response:
    """Create an issue."""
    repo_row = store.repo(owner, repo)
    if not repo_row["has_issues"]:
        raise GitHubError("Issues are disabled for this repo", 410)
    body = Body.parse()
    title = check_title(body, required=True)
    text = check_text(body)
    _milestone(body)
    assignees = _assignees(body)
    with write_transaction(g.db):
        issue_id = insert_issue(repo_row, title, text, _labels(body, repo_row) or [], assignees or [])
    rendered = render(repo_row, store.issue_by_id(issue_id))
    return json_response(rendered, 201, {"Location": rendered["url"]})


@bp.patch("/repos/<owner>/<repo>/issues/<int:number>")
@docs("issues/issues#update-an-issue")
def update_issue(owner: str, repo: str, number: int) -> Response:
    """Update an issue: title, body, state (and state_reason), labels, assignees."""
    repo_row = store.repo(owner, repo)
    store.issue(repo_row, number)
    body = Body.parse()
    title = check_title(body, required=False)
    text = check_text(body)
    state = body.choice("state", ("open", "closed"))
    reason = body.choice("state_reason", STATE_REASONS, nullable=True)
    _milestone(body)
    assignees = _assignees(body)
    with write_transaction(g.db):
        row = store.issue(repo_row, number)
        values: dict[str, Any] = {}
        if title is not MISSING:
            values["title"] = title
        if text is not MISSING:
            values["body"] = text or None
        if assignees is not MISSING:
            values["assignees"] = dump(assignees)
        names = _labels(body, repo_row)
        if names is not MISSING:
            values["labels"] = dump(labels.ordered(names))
        values.update(state_change(row, state, reason))
        apply_changes(row, values)
    return json_response(render(repo_row, store.issue(repo_row, number)))


def state_change(row: sqlite3.Row, state: Any, reason: Any) -> dict[str, Any]:
    """Columns for closing (closed_at, closed_by, state_reason), reopening, or a new reason."""
    target = state or row["state"]
    if target == "closed" and row["state"] == "open":
        return {"state": "closed", "closed_at": now(), "closed_by": store.me(),
                "state_reason": reason if reason and reason != "reopened" else "completed"}
    if target == "open" and row["state"] == "closed":
        return {"state": "open", "closed_at": None, "closed_by": None, "state_reason": "reopened"}
    if reason is not MISSING and target == "closed" and reason != "reopened":
        return {"state_reason": reason or "completed"}
    return {}


def _change_assignees(owner: str, repo: str, number: int, add: bool) -> Response:
    repo_row = store.repo(owner, repo)
    store.issue(repo_row, number)
    body = Body.parse()
    named = string_list(body.data.get("assignees", []), "properties/assignees")
    with write_transaction(g.db):
        row = store.issue(repo_row, number)
        current = load(row["assignees"])
        if add:
            after = (current + [a for a in assignable(named) if a not in current])[:MAX_ASSIGNEES]
        else:
            gone = {n.lower() for n in named}
            after = [a for a in current if a.lower() not in gone]
        if after != current:
            store.update("issues", row["id"], assignees=dump(after), updated_at=now())
    return json_response(render(repo_row, store.issue(repo_row, number)), 201 if add else 200)


@bp.post("/repos/<owner>/<repo>/issues/<int:number>/assignees")
@docs("issues/assignees#add-assignees-to-an-issue")
def add_assignees(owner: str, repo: str, number: int) -> Response:
    """Add assignees to an issue (members only; others are ignored)."""
    return _change_assignees(owner, repo, number, add=True)


@bp.delete("/repos/<owner>/<repo>/issues/<int:number>/assignees")
@docs("issues/assignees#remove-assignees-from-an-issue")
def remove_assignees(owner: str, repo: str, number: int) -> Response:
    """Remove assignees from an issue."""
    return _change_assignees(owner, repo, number, add=False)
