"""Issue comments: an issue's thread, a repository's comments, one comment (get, edit, delete).

A new comment bumps its issue's `updated_at`, as on GitHub, so `since` and `sort=updated` see it.
"""

from __future__ import annotations

import sqlite3

from flask import Blueprint, Response, g, request

from services.code import objects, store
from services.code.bodies import MISSING, Body
from services.code.errors import invalid_request, not_found, show, too_long, validation_failed
from services.code.issues import MAX_BODY, parse_since
from services.code.pagination import paginate
from services.code.store import now
from services.code.wire import docs, json_response, no_content
from services.common.db import write_transaction

bp = Blueprint("comments", __name__)


def check_text(body: Body) -> str:
    """The comment text of `body`, or GitHub's error for a missing, blank or too long one."""
    text = body.string("body", nullable=False)
    if text is MISSING:
        raise invalid_request('"body" wasn\'t supplied.')
    if not text.strip():
        raise validation_failed("IssueComment", "body", "missing_field")
    if len(text) > MAX_BODY:
        raise too_long("IssueComment", "body", MAX_BODY)
    return text


def _render(repo_row: sqlite3.Row, rows: list[sqlite3.Row]) -> list[dict]:
    numbers = dict(g.db.execute("SELECT id, number FROM issues WHERE repo_id = ?", (repo_row["id"],)).fetchall())
    return [objects.comment(repo_row, numbers[r["issue_id"]], r) for r in rows]


def _comment(repo_row: sqlite3.Row, comment_id: int) -> sqlite3.Row:
    row = g.db.execute("SELECT * FROM comments WHERE id = ? AND repo_id = ?", (comment_id, repo_row["id"])).fetchone()
    if row is None:
        raise not_found()
    return row


def insert_comment(repo_row: sqlite3.Row, issue_row: sqlite3.Row, text: str) -> int:
    """Write a comment by the token's owner on the issue and bump the issue's `updated_at`; returns the
    comment's id. Call inside a write transaction (REST and GraphQL both come here)."""
    comment_id = store.new_id("comment")
    store.insert("comments", id=comment_id, issue_id=issue_row["id"], repo_id=repo_row["id"], author=store.me(),
                 body=text, created_at=now(), updated_at=now(), repo_private=repo_row["private"])
    store.update("issues", issue_row["id"], updated_at=now())
    return comment_id


@bp.get("/repos/<owner>/<repo>/issues/<int:number>/comments")
@docs("issues/comments#list-issue-comments")
def list_for_issue(owner: str, repo: str, number: int) -> Response:
    """List issue comments, oldest first (filter: since)."""
    repo_row = store.repo(owner, repo)
    issue_row = store.issue(repo_row, number)
    since = parse_since(request.args.get("since"))
    rows = g.db.execute("SELECT * FROM comments WHERE issue_id = ? ORDER BY created_at, id", (issue_row["id"],))
    rows = [r for r in rows if since is None or r["updated_at"] >= since]
    page, headers = paginate(rows)
    return json_response([objects.comment(repo_row, number, r) for r in page], headers=headers)


@bp.post("/repos/<owner>/<repo>/issues/<int:number>/comments")
@docs("issues/comments#create-an-issue-comment")
def create(owner: str, repo: str, number: int) -> Response:
    """Create an issue comment."""
    repo_row = store.repo(owner, repo)
    store.issue(repo_row, number)
    text = check_text(Body.parse())
    with write_transaction(g.db):
        comment_id = insert_comment(repo_row, store.issue(repo_row, number), text)
    rendered = objects.comment(repo_row, number, _comment(repo_row, comment_id))
    return json_response(rendered, 201, {"Location": rendered["url"]})


@bp.get("/repos/<owner>/<repo>/issues/comments")
@docs("issues/comments#list-issue-comments-for-a-repository")
def list_for_repo(owner: str, repo: str) -> Response:
    """List issue comments for a repository (sort: created, updated; direction; since)."""
    repo_row = store.repo(owner, repo)
    sort = request.args.get("sort") or "created"
    if sort not in ("created", "updated"):
        raise invalid_request(f"For 'sort', {show(sort)} is not one of [\"created\", \"updated\"].")
    direction = request.args.get("direction") or "asc"
    if direction not in ("asc", "desc"):
        raise invalid_request(f"For 'direction', {show(direction)} is not one of [\"asc\", \"desc\"].")
    since = parse_since(request.args.get("since"))
    rows = g.db.execute(f"SELECT * FROM comments WHERE repo_id = ? ORDER BY {sort}_at, id", (repo_row["id"],))
    rows = [r for r in rows if since is None or r["updated_at"] >= since]
    if direction == "desc":
        rows.reverse()
    page, headers = paginate(rows)
    return json_response(_render(repo_row, page), headers=headers)


@bp.get("/repos/<owner>/<repo>/issues/comments/<int:comment_id>")
@docs("issues/comments#get-an-issue-comment")
def get(owner: str, repo: str, comment_id: int) -> Response:
    """Get an issue comment."""
    repo_row = store.repo(owner, repo)
    return json_response(_render(repo_row, [_comment(repo_row, comment_id)])[0])


@bp.patch("/repos/<owner>/<repo>/issues/comments/<int:comment_id>")
@docs("issues/comments#update-an-issue-comment")
def update(owner: str, repo: str, comment_id: int) -> Response:
    """Update an issue comment."""
    repo_row = store.repo(owner, repo)
    _comment(repo_row, comment_id)
    text = check_text(Body.parse())
    with write_transaction(g.db):
        row = _comment(repo_row, comment_id)
        if row["body"] != text:
            store.update("comments", comment_id, body=text, updated_at=now())
    return json_response(_render(repo_row, [_comment(repo_row, comment_id)])[0])


@bp.delete("/repos/<owner>/<repo>/issues/comments/<int:comment_id>")
@docs("issues/comments#delete-an-issue-comment")
def delete(owner: str, repo: str, comment_id: int) -> Response:
    """Delete an issue comment."""
    repo_row = store.repo(owner, repo)
    with write_transaction(g.db):
        _comment(repo_row, comment_id)
        g.db.execute("DELETE FROM comments WHERE id = ?", (comment_id,))
    return no_content()
