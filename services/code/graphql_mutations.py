"""GraphQL mutations: createIssue, addComment, closeIssue, reopenIssue, updateIssue,
addLabelsToLabelable, removeLabelsFromLabelable (what `gh issue create|comment|close|reopen|edit` send).

Each validates with the REST routes' own checks and writes through the same functions
(`issues.insert_issue`, `issues.apply_changes`, `comments.insert_comment`) inside one write
transaction, so a mutation leaves exactly the row changes of the equivalent REST call in the
ledger, linked to the exchange that carried it.
"""

from __future__ import annotations

from typing import Any

from flask import g

from services.code import issues, labels, store
from services.code.bodies import MISSING, Body
from services.code.comments import check_text, insert_comment
from services.code.errors import GitHubError
from services.code.graphql_connections import GitHubGraphQLError, cursor, not_found
from services.code.graphql_types import CommentNode, IssueNode, LabelNode, RepoNode, UserNode, find_node
from services.code.store import dump, load
from services.common.db import write_transaction

CLOSE_REASONS = {"COMPLETED": "completed", "NOT_PLANNED": "not_planned", "DUPLICATE": "duplicate"}


def as_graphql_error(error: GitHubError) -> GitHubGraphQLError:
    """A REST check's failure in GraphQL's words: `Title can't be blank`, `body is too long ...`."""
    if error.status == 404:
        return GitHubGraphQLError("NOT_FOUND", error.message)
    messages = []
    for item in error.errors or []:
        if item.get("message"):
            messages.append(item["message"])
        elif item.get("code") == "missing_field":
            messages.append(f"{str(item.get('field', '')).capitalize()} can't be blank")
        else:
            messages.append(f"{str(item.get('field', '')).capitalize()} is invalid")
    return GitHubGraphQLError("UNPROCESSABLE", ", ".join(messages) or error.message.replace("\n\n", " "))


def _node(node_id: str, kind: type) -> Any:
    found = find_node(node_id)
    if not isinstance(found, kind):
        raise not_found(f"Could not resolve to a node with the global id of '{node_id}'")
    return found


def _issue(node_id: str) -> IssueNode:
    return _node(node_id, IssueNode)


def _label_names(issue: IssueNode, label_ids: list[str]) -> list[str]:
    names = []
    for label_id in label_ids:
        label = _node(label_id, LabelNode)
        if label.row["repo_id"] != issue.repo_row["id"]:
            raise not_found(f"Could not resolve to a node with the global id of '{label_id}'")
        names.append(label.name)
    return names


def _relabel(info: Any, input: dict[str, Any], change: Any) -> dict[str, Any]:
    issue = _issue(input["labelableId"])
    names = _label_names(issue, input["labelIds"])
    with write_transaction(g.db):
        row = store.issue_by_id(issue.row["id"])
        labels.set_issue_labels(row, change(load(row["labels"]), names))
    return {"clientMutationId": input.get("clientMutationId"), "labelable": _reread(issue)}


def _reread(issue: IssueNode) -> IssueNode:
    return IssueNode(issue.repo_row, store.issue_by_id(issue.row["id"]))


class Mutation:
    """The mutation root. Method names are the schema's field names."""

    def createIssue(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        repo = _node(input["repositoryId"], RepoNode)
        if not repo.hasIssuesEnabled:
            raise GitHubGraphQLError("UNPROCESSABLE", "Issues are disabled for this repo")
        for name in ("milestoneId", "parentIssueId"):
            if input.get(name):
                raise not_found(f"Could not resolve to a node with the global id of '{input[name]}'")
        for project in input.get("projectIds") or []:
            raise not_found(f"Could not resolve to a node with the global id of '{project}'")
        names = []
        for label_id in input.get("labelIds") or []:
            label = _node(label_id, LabelNode)
            if label.row["repo_id"] != repo.row["id"]:
                raise not_found(f"Could not resolve to a node with the global id of '{label_id}'")
            names.append(label.name)
        logins = [_node(user_id, UserNode).login for user_id in input.get("assigneeIds") or []]
        body = Body({"title": input["title"], "body": input.get("body", MISSING)})
        try:
            title, text = issues.check_title(body, required=True), issues.check_text(body)
            with write_transaction(g.db):
                issue_id = issues.insert_issue(repo.row, title, text or None, labels.resolve(repo.row, names),
                                               issues.assignable(logins)[: issues.MAX_ASSIGNEES])
        except GitHubError as error:
            raise as_graphql_error(error) from None
        return {"clientMutationId": input.get("clientMutationId"),
                "issue": IssueNode(repo.row, store.issue_by_id(issue_id))}

    def addComment(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        issue = _issue(input["subjectId"])
        try:
            text = check_text(Body({"body": input["body"]}))
            with write_transaction(g.db):
                comment_id = insert_comment(issue.repo_row, store.issue_by_id(issue.row["id"]), text)
        except GitHubError as error:
            raise as_graphql_error(error) from None
        issue = _reread(issue)
        row = g.db.execute("SELECT * FROM comments WHERE id = ?", (comment_id,)).fetchone()
        position = g.db.execute("SELECT count(*) FROM comments WHERE issue_id = ?", (issue.row["id"],)).fetchone()[0]
        return {"clientMutationId": input.get("clientMutationId"), "subject": issue,
                "commentEdge": {"cursor": cursor(position), "node": CommentNode(issue.repo_row, issue, row)}}

    def closeIssue(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        issue = _issue(input["issueId"])
        reason = CLOSE_REASONS.get(input.get("stateReason") or "", MISSING)
        with write_transaction(g.db):
            row = store.issue_by_id(issue.row["id"])
            issues.apply_changes(row, issues.state_change(row, "closed", reason))
        return {"clientMutationId": input.get("clientMutationId"), "issue": _reread(issue)}

    def reopenIssue(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        issue = _issue(input["issueId"])
        with write_transaction(g.db):
            row = store.issue_by_id(issue.row["id"])
            issues.apply_changes(row, issues.state_change(row, "open", MISSING))
        return {"clientMutationId": input.get("clientMutationId"), "issue": _reread(issue)}


    def updateIssue(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        issue = _issue(input["id"])
        for name in ("milestoneId",):
            if input.get(name):
                raise not_found(f"Could not resolve to a node with the global id of '{input[name]}'")
        for project in input.get("projectIds") or []:
            raise not_found(f"Could not resolve to a node with the global id of '{project}'")
        names = _label_names(issue, input["labelIds"]) if input.get("labelIds") is not None else None
        logins = ([_node(user_id, UserNode).login for user_id in input["assigneeIds"]]
                  if input.get("assigneeIds") is not None else None)
        body = Body({k: input[k] for k in ("title", "body") if k in input})
        try:
            title, text = issues.check_title(body, required=False), issues.check_text(body)
            with write_transaction(g.db):
                row = store.issue_by_id(issue.row["id"])
                values: dict[str, Any] = {}
                if title is not MISSING and title is not None:
                    values["title"] = title
                if text is not MISSING:
                    values["body"] = text or None
                if logins is not None:
                    values["assignees"] = dump(issues.assignable(logins)[: issues.MAX_ASSIGNEES])
                if names is not None:
                    values["labels"] = dump(labels.ordered(labels.resolve(issue.repo_row, names)))
                state = (input.get("state") or "").lower() or MISSING
                values.update(issues.state_change(row, state, MISSING))
                issues.apply_changes(row, values)
        except GitHubError as error:
            raise as_graphql_error(error) from None
        return {"clientMutationId": input.get("clientMutationId"), "issue": _reread(issue)}

    def addLabelsToLabelable(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        return _relabel(info, input, lambda current, new: current + [
            n for n in new if n.lower() not in {c.lower() for c in current}])

    def removeLabelsFromLabelable(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        return _relabel(info, input, lambda current, gone: [
            c for c in current if c.lower() not in {n.lower() for n in gone}])
