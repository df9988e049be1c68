"""Rows -> GitHub's GraphQL objects: users, the organisation, repositories, labels, issues, comments.

graphql-core's default resolver reads a field as an attribute of the object (calling it with the
field's arguments when it is a method), so each class below names its attributes and methods as
GitHub's schema names its fields (`createdAt`, `hasIssuesEnabled`): the camelCase is the schema's.
Ids are the same node ids the REST API gives (`node_id`), so a client may mix both doors.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
from typing import Any

from flask import g

from services.code import issues, objects, store
from services.code.graphql_connections import Connection, not_found
from services.code.store import iso, load
from services.code.wire import WEB

REACTIONS = ("THUMBS_UP", "THUMBS_DOWN", "LAUGH", "HOORAY", "CONFUSED", "HEART", "ROCKET", "EYES")


def _avatar(number: int) -> Any:
    return lambda info=None, size=None: f"https://avatars.githubusercontent.com/u/{number}?" + (
        f"s={size}&v=4" if size else "v=4")


def reaction_groups(info: Any = None) -> list[dict[str, Any]]:
    """Nobody reacts in the sandbox: GitHub's eight groups, each with no one."""
    return [{"content": c, "viewerHasReacted": False,
             "users": lambda info=None, **a: Connection([], "users", bounded=False, **a)} for c in REACTIONS]


class UserNode:
    __typename = "User"

    def __init__(self, row: sqlite3.Row) -> None:
        self.row = row
        self.id = objects.legacy_node_id("User", row["id"])
        self.databaseId = row["id"]
        self.login = row["login"]
        self.name = row["name"]
        self.company = row["company"]
        self.location = row["location"]
        self.bio = row["bio"]
        self.email = ""  # staff keep their addresses private: GitHub answers an empty string
        self.isSiteAdmin = False
        self.createdAt = iso(row["created_at"])
        self.resourcePath = f"/{row['login']}"
        self.url = f"{WEB}/{row['login']}"
        self.avatarUrl = _avatar(row["id"])

    def organizations(self, info: Any = None, **args: Any) -> Connection:
        return Connection([OrgNode(store.org())] if self.row["member"] else [], "organizations", **args)

    def repository(self, info: Any = None, name: str = "", **_: Any) -> None:
        return None  # the people own no repositories; the organisation does


class OrgNode:
    __typename = "Organization"

    def __init__(self, row: sqlite3.Row) -> None:
        self.row = row
        self.id = objects.legacy_node_id("Organization", row["id"])
        self.databaseId = row["id"]
        self.login = row["login"]
        self.name = row["name"]
        self.description = row["description"]
        self.createdAt = iso(row["created_at"])
        self.resourcePath = f"/{row['login']}"
        self.url = f"{WEB}/{row['login']}"
        self.viewerIsAMember = True
        self.avatarUrl = _avatar(row["id"])

    def repository(self, info: Any = None, name: str = "", **_: Any) -> RepoNode | None:
        row = g.db.execute("SELECT * FROM repos WHERE owner = ? COLLATE NOCASE AND name = ?",
                           (self.login, name)).fetchone()
        return RepoNode(row) if row is not None else None


def user_node(login: str | None) -> UserNode | None:
    row = store.user(login) if login else None
    return UserNode(row) if row is not None else None


class LabelNode:
    __typename = "Label"

    def __init__(self, repo_row: sqlite3.Row, row: sqlite3.Row) -> None:
        self.row = row
        self.id = objects.node_id("LA", row["id"])
        self.name = row["name"]
        self.color = row["color"]
        self.description = row["description"]
        self.isDefault = bool(row["is_default"])
        self.createdAt = self.updatedAt = None  # the fake keeps no label times
        self.url = f"{WEB}/{repo_row['owner']}/{repo_row['name']}/labels/{row['name']}"


def _ordered_labels(rows: list[sqlite3.Row], order: dict[str, str] | None) -> list[sqlite3.Row]:
    order = order or {"field": "CREATED_AT", "direction": "ASC"}
    # Labels keep no creation time; their ids grow with creation, as GitHub's do.
    key = (lambda r: r["name"].lower()) if order["field"] == "NAME" else (lambda r: r["id"])
    return sorted(rows, key=key, reverse=order["direction"] == "DESC")


class RepoNode:
    __typename = "Repository"

    def __init__(self, row: sqlite3.Row) -> None:
        self.row = row
        full_name = f"{row['owner']}/{row['name']}"
        self.id = objects.node_id("R", row["id"])
        self.databaseId = row["id"]
        self.name = row["name"]
        self.nameWithOwner = full_name
        self.description = row["description"]
        self.url = f"{WEB}/{full_name}"
        self.resourcePath = f"/{full_name}"
        self.homepageUrl = None
        self.isPrivate = bool(row["private"])
        self.visibility = "PRIVATE" if row["private"] else "PUBLIC"
        self.hasIssuesEnabled = bool(row["has_issues"])
        self.hasWikiEnabled = False
        self.isArchived = self.isFork = self.isTemplate = self.viewerHasStarred = False
        self.forkCount = self.stargazerCount = 0
        self.mergeCommitAllowed = self.rebaseMergeAllowed = self.squashMergeAllowed = True
        self.parent = None
        # The bot is a member with write access (REST: push and triage, not admin).
        self.viewerPermission = "WRITE"
        self.createdAt = iso(row["created_at"])
        self.updatedAt = iso(row["updated_at"])
        self.pushedAt = iso(row["pushed_at"])
        self.defaultBranchRef = {"id": objects.node_id("REF", row["id"]), "name": row["default_branch"],
                                 "prefix": "refs/heads/"}

    def owner(self, info: Any = None) -> OrgNode:
        return OrgNode(store.org())

    def issue(self, info: Any = None, number: int = 0) -> IssueNode:
        row = self._issue_row(number)
        if row is None:
            raise not_found(f"Could not resolve to an Issue with the number of {number}.")
        return IssueNode(self.row, row)

    def issueOrPullRequest(self, info: Any = None, number: int = 0) -> IssueNode:
        row = self._issue_row(number)
        if row is None:
            raise not_found(f"Could not resolve to an issue or pull request with the number of {number}.")
        return IssueNode(self.row, row)

    def _issue_row(self, number: int) -> sqlite3.Row | None:
        return g.db.execute("SELECT * FROM issues WHERE repo_id = ? AND number = ?",
                            (self.row["id"], number)).fetchone()

    def issues(self, info: Any = None, *, states: list[str] | None = None, labels: list[str] | None = None,
               filterBy: dict[str, Any] | None = None, orderBy: dict[str, str] | None = None,
               **page: Any) -> Connection:
        rows = g.db.execute("SELECT * FROM issues WHERE repo_id = ?", (self.row["id"],)).fetchall()
        rows = filter_issues(rows, states, labels, filterBy or {})
        order = orderBy or {"field": "CREATED_AT", "direction": "ASC"}
        if order["field"] == "COMMENTS":
            counts = store.comment_counts(self.row["id"])
            rows.sort(key=lambda r: (counts.get(r["id"], 0), r["id"]), reverse=order["direction"] == "DESC")
        else:
            column = "created_at" if order["field"] == "CREATED_AT" else "updated_at"
            rows.sort(key=lambda r: (r[column], r["id"]), reverse=order["direction"] == "DESC")
        return Connection([IssueNode(self.row, r) for r in rows], "issues", **page)

    def label(self, info: Any = None, name: str = "") -> LabelNode | None:
        row = store.labels_of(self.row["id"]).get(name.lower())
        return LabelNode(self.row, row) if row is not None else None

    def labels(self, info: Any = None, *, orderBy: dict[str, str] | None = None,
               query: str | None = None, **page: Any) -> Connection:
        rows = list(store.labels_of(self.row["id"]).values())
        if query:
            rows = [r for r in rows if query.lower() in r["name"].lower()]
        return Connection([LabelNode(self.row, r) for r in _ordered_labels(rows, orderBy)], "labels", **page)

    def assignableUsers(self, info: Any = None, *, query: str | None = None, **page: Any) -> Connection:
        people = store.members()
        if query:
            needle = query.lower()
            people = [p for p in people if needle in p["login"].lower() or needle in (p["name"] or "").lower()]
        return Connection([UserNode(p) for p in people], "assignableUsers", **page)


def filter_issues(rows: list[sqlite3.Row], states: list[str] | None, labels: list[str] | None,
                  filters: dict[str, Any]) -> list[sqlite3.Row]:
    """`Repository.issues`' filters. `labels` (either argument) keeps issues with any of the names,
    as GitHub does; `assignee: "*"` any assignee; `since` an ISO time."""
    wanted_states = {s.lower() for s in (filters.get("states") or states or [])}
    if wanted_states:
        rows = [r for r in rows if r["state"] in wanted_states]
    for names in (labels, filters.get("labels")):
        if names:
            wanted = {n.lower() for n in names}
            rows = [r for r in rows if wanted & {n.lower() for n in load(r["labels"])}]
    assignee = filters.get("assignee")
    if assignee == "*":
        rows = [r for r in rows if load(r["assignees"])]
    elif assignee:
        rows = [r for r in rows if assignee.lower() in {a.lower() for a in load(r["assignees"])}]
    if filters.get("createdBy"):
        rows = [r for r in rows if r["author"].lower() == filters["createdBy"].lower()]
    if filters.get("mentioned"):
        rows = [r for r in rows if issues.mentions(r, filters["mentioned"])]
    if filters.get("milestone") not in (None, "none", "") or filters.get("milestoneNumber") not in (None, "none", ""):
        rows = []  # no issue has a milestone
    if filters.get("since"):
        since = issues.parse_since(str(filters["since"]))
        rows = [r for r in rows if since is None or r["updated_at"] >= since]
    return rows


class IssueNode:
    __typename = "Issue"

    def __init__(self, repo_row: sqlite3.Row, row: sqlite3.Row) -> None:
        self.repo_row, self.row = repo_row, row
        path = f"/{repo_row['owner']}/{repo_row['name']}/issues/{row['number']}"
        self.id = objects.node_id("I", row["id"])
        self.databaseId = row["id"]
        self.number = row["number"]
        self.title = row["title"]
        self.body = self.bodyText = row["body"] or ""
        self.state = row["state"].upper()
        self.closed = row["state"] == "closed"
        self.closedAt = iso(row["closed_at"])
        self.createdAt = iso(row["created_at"])
        self.updatedAt = iso(row["updated_at"])
        self.lastEditedAt = None
        self.includesCreatedEdit = False
        self.locked = bool(row["locked"])
        self.milestone = None
        self.resourcePath = path
        self.url = WEB + path
        self.authorAssociation = objects.author_association(row["author"])
        self.viewerDidAuthor = row["author"].lower() == store.me().lower()
        self.reactionGroups = reaction_groups

    def stateReason(self, info: Any = None, enableDuplicate: bool = False) -> str | None:
        reason = self.row["state_reason"]
        if reason == "duplicate" and not enableDuplicate:
            return "NOT_PLANNED"  # what GitHub shows clients that did not opt in to DUPLICATE
        return reason.upper() if reason else None

    def author(self, info: Any = None) -> UserNode | None:
        return user_node(self.row["author"])

    def repository(self, info: Any = None) -> RepoNode:
        return RepoNode(self.repo_row)

    def assignees(self, info: Any = None, **page: Any) -> Connection:
        people = [u for u in (user_node(login) for login in load(self.row["assignees"])) if u]
        return Connection(people, "assignees", **page)

    def labels(self, info: Any = None, *, orderBy: dict[str, str] | None = None, **page: Any) -> Connection:
        known = store.labels_of(self.repo_row["id"])
        rows = [known[n.lower()] for n in load(self.row["labels"]) if n.lower() in known]
        return Connection([LabelNode(self.repo_row, r) for r in _ordered_labels(rows, orderBy)], "labels", **page)

    def comments(self, info: Any = None, *, orderBy: dict[str, str] | None = None, **page: Any) -> Connection:
        rows = g.db.execute("SELECT * FROM comments WHERE issue_id = ? ORDER BY created_at, id",
                            (self.row["id"],)).fetchall()
        if orderBy:
            rows.sort(key=lambda r: (r["updated_at"], r["id"]), reverse=orderBy["direction"] == "DESC")
        return Connection([CommentNode(self.repo_row, self, r) for r in rows], "comments", **page)

    def projectCards(self, info: Any = None, archivedStates: Any = None, **page: Any) -> Connection:
        return Connection([], "projectCards", **page)


class CommentNode:
    __typename = "IssueComment"

    def __init__(self, repo_row: sqlite3.Row, issue: IssueNode, row: sqlite3.Row) -> None:
        self.row, self.issue = row, issue
        self.id = objects.node_id("IC", row["id"])
        self.databaseId = row["id"]
        self.body = self.bodyText = row["body"]
        self.createdAt = iso(row["created_at"])
        self.updatedAt = iso(row["updated_at"])
        self.includesCreatedEdit = row["updated_at"] != row["created_at"]
        self.isMinimized = False
        self.minimizedReason = None
        self.url = f"{issue.url}#issuecomment-{row['id']}"
        self.authorAssociation = objects.author_association(row["author"])
        self.viewerDidAuthor = row["author"].lower() == store.me().lower()
        self.reactionGroups = reaction_groups

    def author(self, info: Any = None) -> UserNode | None:
        return user_node(self.row["author"])


# -- global node ids -----------------------------------------------------------------------------


def _legacy(node_id: str) -> Any:
    """Users and the organisation: base64("04:User123") / base64("12:Organization5")."""
    try:
        kind_number = base64.b64decode(node_id, validate=True).decode().split(":", 1)[1]
    except (binascii.Error, UnicodeDecodeError, IndexError, ValueError):
        return None
    if kind_number.startswith("User"):
        row = g.db.execute("SELECT * FROM users WHERE id = ?", (kind_number[4:],)).fetchone()
        return UserNode(row) if row is not None else None
    org = store.org()
    if kind_number == f"Organization{org['id']}":
        return OrgNode(org)
    return None


def find_node(node_id: str) -> Any:
    """The object a node id names, or None. The newer ids (`I_kwDO...`) are digests of the object's
    id, so they are looked up among the episode's rows (a few hundred) rather than decoded."""
    prefix, sep, _ = node_id.partition("_")
    if not sep:
        return _legacy(node_id)
    if prefix == "R":
        return next((RepoNode(r) for r in g.db.execute("SELECT * FROM repos")
                     if objects.node_id("R", r["id"]) == node_id), None)
    if prefix == "I":
        for row in g.db.execute("SELECT * FROM issues"):
            if objects.node_id("I", row["id"]) == node_id:
                return IssueNode(g.db.execute("SELECT * FROM repos WHERE id = ?", (row["repo_id"],)).fetchone(), row)
    if prefix == "LA":
        for row in g.db.execute("SELECT * FROM labels"):
            if objects.node_id("LA", row["id"]) == node_id:
                return LabelNode(g.db.execute("SELECT * FROM repos WHERE id = ?", (row["repo_id"],)).fetchone(), row)
    if prefix == "IC":
        for row in g.db.execute("SELECT * FROM comments"):
            if objects.node_id("IC", row["id"]) == node_id:
                repo_row = g.db.execute("SELECT * FROM repos WHERE id = ?", (row["repo_id"],)).fetchone()
                issue_row = store.issue_by_id(row["issue_id"])
                return CommentNode(repo_row, IssueNode(repo_row, issue_row), row)
    return None
