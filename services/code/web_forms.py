"""github.com's forms: open an issue, and on an issue's page comment, set labels, set assignees,
close or reopen. Each form posts to its page's own URL; a hidden `action` names the form.

    POST /<org>/<repo>/issues/new     title, body, labels (checked) + new_labels (comma-separated)
    POST /<org>/<repo>/issues/<n>     action=comment     body
                                      action=labels      labels (checked) + new_labels
                                      action=assignees   assignees (checked logins)
                                      action=state       state=closed (reason) | state=open

Every write runs the functions the REST routes run (issues.insert_issue, comments.insert_comment,
labels.resolve / set_issue_labels, issues.assignable / state_change / apply_changes), checked by the
same validators, inside the same write transaction: the rows, their ids and the ledger entries are
those of the equivalent API call. A refused form comes back with #form-error and its input kept.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from flask import Response, g, redirect, request
from werkzeug.exceptions import BadRequest

from services.code import comments, issues, labels, store
from services.code.bodies import Body
from services.code.errors import GitHubError
from services.code.store import dump, load
from services.code.web_pages import issue_context, repo_of
from services.code.web_session import bp, page
from services.common.db import write_transaction

CLOSE_REASONS = ("completed", "not_planned")


def problem(error: GitHubError) -> str:
    """A validation error in words a person filling the form reads: "Title can't be blank"."""
    for entry in error.errors or []:
        if entry.get("message"):
            return str(entry["message"]).capitalize()
        field = str(entry.get("field", "")).capitalize()
        return {"missing_field": f"{field} can't be blank", "already_exists": f"{field} already exists"}.get(
            entry.get("code", ""), f"{field} is invalid")
    return error.message


def chosen_labels() -> list[str]:
    """The checked labels, then any typed in `new_labels` (created on the repository if new, as the API does)."""
    typed = [name.strip() for name in request.form.get("new_labels", "").split(",") if name.strip()]
    return request.form.getlist("labels") + typed


def _done(repo_row: sqlite3.Row, number: int, notice: str) -> Response:
    """Back to the issue, with `notice` one of web_pages.NOTICES' keys."""
    return redirect(f"/{repo_row['owner']}/{repo_row['name']}/issues/{number}?notice={notice}", code=303)


@bp.post("/<org>/<repo>/issues/new")
def create_issue(org: str, repo: str) -> Response:
    repo_row = repo_of(org, repo)
    if not repo_row["has_issues"]:
        raise GitHubError("Issues are disabled for this repo", 410)
    form = {"title": request.form.get("title", ""), "body": request.form.get("body", ""),
            "labels": request.form.getlist("labels"), "new_labels": request.form.get("new_labels", "")}
    try:
        body = Body({"title": form["title"], "body": form["body"]})
        title, text = issues.check_title(body, required=True), issues.check_text(body)
        with write_transaction(g.db):
            issue_id = issues.insert_issue(repo_row, title, text, labels.resolve(repo_row, chosen_labels()), [])
    except GitHubError as error:
        if error.status != 422:
            raise
        return page("new_issue.html", 422, repo=repo_row, repo_labels=list(store.labels_of(repo_row["id"]).values()),
                    form=form, form_error=problem(error))
    return _done(repo_row, store.issue_by_id(issue_id)["number"], "created")


def _comment(repo_row: sqlite3.Row, row: sqlite3.Row) -> str:
    text = comments.check_text(Body({"body": request.form.get("body", "")}))
    comments.insert_comment(repo_row, row, text)
    return "commented"


def _labels(repo_row: sqlite3.Row, row: sqlite3.Row) -> str:
    labels.set_issue_labels(row, labels.resolve(repo_row, chosen_labels()))
    return "labels"


def _assignees(repo_row: sqlite3.Row, row: sqlite3.Row) -> str:
    """Those kept stay in the order they were assigned and the newly checked follow, as when the API adds them."""
    wanted = issues.assignable(request.form.getlist("assignees"))
    current = load(row["assignees"])
    after = [a for a in current if a in wanted] + [a for a in wanted if a not in current]
    issues.apply_changes(row, {"assignees": dump(after[:issues.MAX_ASSIGNEES])})
    return "assignees"


def _state(repo_row: sqlite3.Row, row: sqlite3.Row) -> str:
    state = request.form.get("state", "")
    reason = request.form.get("reason") or "completed"
    if state not in ("open", "closed"):
        raise BadRequest(f"The form field state={state!r} is not valid: send state=closed or state=open.")
    if reason not in CLOSE_REASONS:
        raise BadRequest(f"The form field reason={reason!r} is not valid: send one of {', '.join(CLOSE_REASONS)}.")
    issues.apply_changes(row, issues.state_change(row, state, reason if state == "closed" else None))
    return "closed" if state == "closed" else "reopened"


ACTIONS: dict[str, Callable[[sqlite3.Row, sqlite3.Row], str]] = {
    "comment": _comment, "labels": _labels, "assignees": _assignees, "state": _state,
}


@bp.post("/<org>/<repo>/issues/<int:number>")
def change_issue(org: str, repo: str, number: int) -> Response:
    repo_row = repo_of(org, repo)
    store.issue(repo_row, number)
    action = ACTIONS.get(request.form.get("action", ""))
    if action is None:
        raise BadRequest(f"The form field action={request.form.get('action', '')!r} is not valid:"
                         f" send one of {', '.join(ACTIONS)}.")
    try:
        with write_transaction(g.db):
            notice = action(repo_row, store.issue(repo_row, number))
    except GitHubError as error:
        if error.status != 422:
            raise
        context = issue_context(repo_row, store.issue(repo_row, number), form=dict(request.form),
                                form_error=problem(error))
        return page("issue.html", 422, **context)
    return _done(repo_row, number, notice)
