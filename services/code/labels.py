"""Labels: a repository's labels, and the labels of an issue (add, replace, remove).

As on GitHub, naming a label that does not exist yet when labelling an issue creates it (grey,
`ededed`), and label names match without regard to case.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from flask import Blueprint, Response, g

from services.code import objects, store
from services.code.bodies import MISSING, Body, label_names, raw_json
from services.code.errors import GitHubError, invalid_request, not_found, show, too_long, validation_failed
from services.code.pagination import paginate
from services.code.store import dump, load, now
from services.code.wire import docs, json_response, no_content
from services.common.db import write_transaction

bp = Blueprint("labels", __name__)

DEFAULT_COLOR = "ededed"
MAX_NAME = 50
MAX_DESCRIPTION = 100
_COLOR = re.compile(r"^[0-9a-fA-F]{6}$")


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise validation_failed("Label", "name", "missing_field")
    if len(name) > MAX_NAME:
        raise too_long("Label", "name", MAX_NAME)
    return name


def _insert(repo_row: sqlite3.Row, name: str, color: str, description: str | None) -> sqlite3.Row:
    label_id = store.new_id("label")
    store.insert("labels", id=label_id, repo_id=repo_row["id"], name=name, color=color, description=description)
    store.forget_labels(repo_row["id"])
    return store.labels_of(repo_row["id"])[name.lower()]


def resolve(repo_row: sqlite3.Row, names: list[str]) -> list[str]:
    """The repository's own spelling of each label in `names` (without repeats), creating those it
    lacks. Call inside a write transaction."""
    found: list[str] = []
    for raw in names:
        name = _check_name(raw)
        row = store.labels_of(repo_row["id"]).get(name.lower()) or _insert(repo_row, name, DEFAULT_COLOR, None)
        if row["name"].lower() not in {f.lower() for f in found}:
            found.append(row["name"])
    return found


def ordered(names: list[str]) -> list[str]:
    """An issue's labels in GitHub's order: by name."""
    return sorted(names, key=str.lower)


def set_issue_labels(issue_row: sqlite3.Row, names: list[str]) -> bool:
    """Store `names` as the issue's labels; bumps `updated_at` only when they changed."""
    names = ordered(names)
    if names == load(issue_row["labels"]):
        return False
    store.update("issues", issue_row["id"], labels=dump(names), updated_at=now())
    return True


def _label_list(repo_row: sqlite3.Row, issue_row: sqlite3.Row) -> Response:
    known = store.labels_of(repo_row["id"])
    rows = [known[n.lower()] for n in load(issue_row["labels"]) if n.lower() in known]
    page, headers = paginate(rows)
    return json_response([objects.label(repo_row, r) for r in page], headers=headers)


def _issue_label_body() -> list[str]:
    """`["bug"]`, `{"labels": ["bug"]}`, `{"labels": [{"name": "bug"}]}`, `[{"name": "bug"}]` or `"bug"`."""
    data = raw_json()
    if data is MISSING:
        return []
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        value = data.get("labels", [])
        if isinstance(value, str):
            return [value]
        return label_names(value, "properties/labels")
    if isinstance(data, list):
        return label_names(data, "links/0/schema")
    raise invalid_request(f"For 'links/0/schema', {show(data)} is not an array or an object.")


# -- a repository's labels --------------------------------------------------------------------


@bp.get("/repos/<owner>/<repo>/labels")
@docs("issues/labels#list-labels-for-a-repository")
def list_labels(owner: str, repo: str) -> Response:
    """List labels for a repository."""
    repo_row = store.repo(owner, repo)
    page, headers = paginate(list(store.labels_of(repo_row["id"]).values()))
    return json_response([objects.label(repo_row, r) for r in page], headers=headers)


@bp.post("/repos/<owner>/<repo>/labels")
@docs("issues/labels#create-a-label")
def create_label(owner: str, repo: str) -> Response:
    """Create a label."""
    repo_row = store.repo(owner, repo)
    body = Body.parse()
    name = body.string("name", nullable=False)
    if name is MISSING:
        raise invalid_request('"name" wasn\'t supplied.')
    name = _check_name(name)
    color = body.string("color")
    color = (color or DEFAULT_COLOR).removeprefix("#")
    if not _COLOR.match(color):
        raise validation_failed("Label", "color", "invalid", value=color)
    description = body.string("description") or None
    if description and len(description) > MAX_DESCRIPTION:
        raise too_long("Label", "description", MAX_DESCRIPTION)
    with write_transaction(g.db):
        if name.lower() in store.labels_of(repo_row["id"]):
            raise validation_failed("Label", "name", "already_exists")
        row = _insert(repo_row, name, color.lower(), description)
    body_out = objects.label(repo_row, row)
    return json_response(body_out, 201, {"Location": body_out["url"]})


@bp.get("/repos/<owner>/<repo>/labels/<path:name>")
@docs("issues/labels#get-a-label")
def get_label(owner: str, repo: str, name: str) -> Response:
    """Get a label (by name, any case)."""
    repo_row = store.repo(owner, repo)
    row = store.labels_of(repo_row["id"]).get(name.lower())
    if row is None:
        raise not_found()
    return json_response(objects.label(repo_row, row))


# -- an issue's labels ------------------------------------------------------------------------


@bp.get("/repos/<owner>/<repo>/issues/<int:number>/labels")
@docs("issues/labels#list-labels-for-an-issue")
def list_issue_labels(owner: str, repo: str, number: int) -> Response:
    """List labels for an issue."""
    repo_row = store.repo(owner, repo)
    return _label_list(repo_row, store.issue(repo_row, number))


def _change_labels(owner: str, repo: str, number: int, change: Any) -> Response:
    repo_row = store.repo(owner, repo)
    store.issue(repo_row, number)
    names = _issue_label_body()
    with write_transaction(g.db):
        issue_row = store.issue(repo_row, number)
        current = load(issue_row["labels"])
        set_issue_labels(issue_row, change(current, resolve(repo_row, names)))
    return _label_list(repo_row, store.issue(repo_row, number))


@bp.post("/repos/<owner>/<repo>/issues/<int:number>/labels")
@docs("issues/labels#add-labels-to-an-issue")
def add_issue_labels(owner: str, repo: str, number: int) -> Response:
    """Add labels to an issue (creating labels the repository lacks)."""
    return _change_labels(
        owner, repo, number, lambda current, new: current + [n for n in new if n.lower() not in map(str.lower, current)]
    )


@bp.put("/repos/<owner>/<repo>/issues/<int:number>/labels")
@docs("issues/labels#set-labels-for-an-issue")
def set_labels(owner: str, repo: str, number: int) -> Response:
    """Set labels for an issue (replacing them all)."""
    return _change_labels(owner, repo, number, lambda current, new: new)


@bp.delete("/repos/<owner>/<repo>/issues/<int:number>/labels")
@docs("issues/labels#remove-all-labels-from-an-issue")
def clear_labels(owner: str, repo: str, number: int) -> Response:
    """Remove all labels from an issue."""
    repo_row = store.repo(owner, repo)
    with write_transaction(g.db):
        set_issue_labels(store.issue(repo_row, number), [])
    return no_content()


@bp.delete("/repos/<owner>/<repo>/issues/<int:number>/labels/<path:name>")
@docs("issues/labels#remove-a-label-from-an-issue")
def remove_label(owner: str, repo: str, number: int, name: str) -> Response:
    """Remove a label from an issue; answers the labels left."""
    repo_row = store.repo(owner, repo)
    with write_transaction(g.db):
        issue_row = store.issue(repo_row, number)
        current = load(issue_row["labels"])
        if name.lower() not in {n.lower() for n in current}:
            raise GitHubError("Label does not exist", 404)
        set_issue_labels(issue_row, [n for n in current if n.lower() != name.lower()])
    return _label_list(repo_row, store.issue(repo_row, number))
