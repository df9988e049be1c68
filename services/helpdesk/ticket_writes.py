"""Creating and changing tickets: the one code path the API and the agent UI both write through.

Zendesk's rules that matter to an agent:
- a comment is a public reply unless `public` is false, which makes it an internal note;
- an agent's update to a `new` ticket makes it `open` unless the update sets a status;
- a ticket solved without an assignee is assigned to the agent who solved it;
- a `closed` ticket can no longer be changed;
- every write makes an audit whose events say what changed (answered, not stored: the ledger's
  row changes already are the audit trail).
"""

from __future__ import annotations

import html
import sqlite3
from html.parser import HTMLParser
from typing import Any

from flask import g

from services.common.db import write_transaction
from services.helpdesk import objects
from services.helpdesk.body import MISSING, Fields
from services.helpdesk.errors import invalid, not_found
from services.helpdesk.store import (
    dump,
    fetch,
    insert,
    load,
    new_audit_id,
    new_comment_id,
    new_ticket_id,
    new_user_id,
    now,
    update,
)

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
TYPES = ("problem", "incident", "question", "task")
SUBJECT_MAX = 150


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("br", "p", "div") and self.parts:
            self.parts.append("\n")


def text_of(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    return html.unescape("".join(parser.parts)).strip()


def live_ticket(ticket_id: int) -> sqlite3.Row:
    row = fetch("tickets", ticket_id)
    if row is None or row["deleted"]:
        raise not_found()
    return row


def _agent(user_id: int, field: str) -> None:
    row = fetch("users", user_id)
    if row is None or row["role"] == "end-user" or not row["active"]:
        raise invalid(field, f"{field.replace('_', ' ').capitalize()}: {user_id} is not an agent of this account")


def _comment(fields: Fields) -> dict[str, Any] | None:
    """The `comment` of a create or update: {"body": ..., "html_body": ..., "public": bool}."""
    raw = fields.data.get("comment", MISSING)
    if raw is MISSING or raw is None:
        return None
    if isinstance(raw, str):
        raw = {"body": raw}
    if not isinstance(raw, dict):
        fields.errors.add("comment", "Comment: is invalid (expected an object with a body)")
        return None
    inner = Fields(raw)
    body = inner.string("body")
    markup = inner.string("html_body")
    public = inner.boolean("public", True)
    author_id = inner.integer("author_id")
    fields.errors.details.update(inner.errors.details or {})  # type: ignore[union-attr]
    text = body if isinstance(body, str) else text_of(markup) if isinstance(markup, str) else ""
    if not text.strip():
        fields.errors.add("comment", "Comment: body cannot be blank", "BlankValue")
        return None
    return {
        "body": text,
        "html_body": markup if isinstance(markup, str) else None,
        "public": public,
        "author_id": author_id if isinstance(author_id, int) else None,
    }


def _requester(fields: Fields) -> int | None:
    """`requester_id`, or `requester` {name, email}: the user found by email or a new end-user."""
    requester_id = fields.integer("requester_id")
    if isinstance(requester_id, int):
        if fetch("users", requester_id) is None:
            fields.errors.add("requester", f"Requester: {requester_id} does not exist")
        return requester_id
    raw = fields.data.get("requester", MISSING)
    if raw is MISSING or raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("email"), str) or "@" not in raw["email"]:
        fields.errors.add("requester", "Requester: needs an email address ({\"name\": ..., \"email\": ...})")
        return None
    email = raw["email"].strip()
    found = g.db.execute("SELECT id FROM users WHERE lower(email)=lower(?)", (email,)).fetchone()
    if found:
        return int(found["id"])
    name = raw.get("name") if isinstance(raw.get("name"), str) and raw["name"].strip() else email.split("@")[0]
    user_id = new_user_id()
    insert("users", id=user_id, name=name.strip(), email=email, role="end-user", verified=0,
           created_at=now(), updated_at=now())
    return user_id


def _add_comment(ticket_id: int, comment: dict[str, Any], actor: sqlite3.Row, channel: str, audit_id: int,
                 at: int) -> dict[str, Any]:
    author = comment["author_id"] or actor["id"]
    if comment["author_id"] and fetch("users", author) is None:
        raise invalid("comment", f"Comment: author {author} does not exist")
    comment_id = new_comment_id()
    insert("comments", id=comment_id, ticket_id=ticket_id, author_id=author, body=comment["body"],
           html_body=comment["html_body"], public=int(comment["public"]), channel=channel, audit_id=audit_id,
           created_at=at)
    return {"type": "Comment", **objects.comment(fetch("comments", comment_id))}


def create_ticket(data: dict[str, Any], actor: sqlite3.Row, channel: str = "api") -> tuple[sqlite3.Row, dict]:
    """Create a ticket from the `ticket` object of a request; -> (row, audit)."""
    with write_transaction(g.db):
        fields = Fields(data)
        subject = fields.string("subject", max_length=SUBJECT_MAX)
        status = fields.choice("status", STATUSES)
        priority = fields.choice("priority", PRIORITIES)
        ticket_type = fields.choice("type", TYPES)
        assignee_id = fields.integer("assignee_id")
        organization_id = fields.integer("organization_id")
        external_id = fields.string("external_id", max_length=255)
        tags = fields.tags()
        comment = _comment(fields) if "comment" in data else None
        if comment is None and "comment" not in (fields.errors.details or {}):
            fields.errors.add("description", "Description: cannot be blank", "BlankValue")
        requester_id = _requester(fields)
        fields.done()
        assert comment is not None
        if isinstance(assignee_id, int):
            _agent(assignee_id, "assignee_id")
        requester_id = requester_id or actor["id"]
        requester = fetch("users", requester_id)
        if isinstance(organization_id, int):
            if fetch("organizations", organization_id) is None:
                raise invalid("organization_id", f"Organization: {organization_id} does not exist")
        else:
            organization_id = requester["organization_id"]
        status = status if isinstance(status, str) else ("open" if isinstance(assignee_id, int) else "new")
        if status in ("solved", "closed") and not isinstance(assignee_id, int):
            assignee_id = actor["id"]
        at = now()
        ticket_id = new_ticket_id()
        if not isinstance(subject, str) or not subject.strip():
            subject = comment["body"].strip().splitlines()[0][:SUBJECT_MAX] if comment["body"].strip() else None
        values = {
            "id": ticket_id,
            "external_id": external_id if isinstance(external_id, str) else None,
            "channel": channel,
            "type": ticket_type if isinstance(ticket_type, str) else None,
            "subject": subject,
            "description": comment["body"],
            "priority": priority if isinstance(priority, str) else None,
            "status": status,
            "requester_id": requester_id,
            "submitter_id": actor["id"],
            "assignee_id": assignee_id if isinstance(assignee_id, int) else None,
            "organization_id": organization_id,
            "tags": dump(tags if isinstance(tags, list) else []),
            "created_at": at,
            "updated_at": at,
        }
        insert("tickets", **values)
        audit_id = new_audit_id()
        events = [_add_comment(ticket_id, comment, actor, channel, audit_id, at)]
        for name in ("subject", "status", "priority", "type", "requester_id", "assignee_id", "organization_id"):
            events.append({"type": "Create", "field_name": name, "value": values[name]})
        events.append({"type": "Create", "field_name": "tags", "value": load(values["tags"])})
        row = fetch("tickets", ticket_id)
    return row, objects.audit(audit_id, ticket_id, actor["id"], at, channel, events)


def update_ticket(ticket_id: int, data: dict[str, Any], actor: sqlite3.Row, channel: str = "api",
                  ) -> tuple[sqlite3.Row, dict]:
    """Apply the `ticket` object of an update (fields and/or a comment); -> (row, audit)."""
    with write_transaction(g.db):
        row = live_ticket(ticket_id)
        fields = Fields(data)
        changes: dict[str, Any] = {}
        for name, value in (
            ("subject", fields.string("subject", max_length=SUBJECT_MAX)),
            ("status", fields.choice("status", STATUSES, nullable=False)),
            ("priority", fields.choice("priority", PRIORITIES)),
            ("type", fields.choice("type", TYPES)),
            ("assignee_id", fields.integer("assignee_id")),
            ("organization_id", fields.integer("organization_id")),
            ("external_id", fields.string("external_id", max_length=255)),
        ):
            if value is not MISSING:
                changes[name] = value
        tags = fields.tags()
        if tags is not MISSING:
            changes["tags"] = dump(tags)
        comment = _comment(fields)
        requester_id = _requester(fields) if ("requester_id" in data or "requester" in data) else None
        if requester_id:
            changes["requester_id"] = requester_id
        fields.done()
        if row["status"] == "closed":
            raise invalid("status", "Status: closed prevents ticket update", "ClosedPreventsUpdate")
        if changes.get("status") == "new" and row["status"] != "new":
            raise invalid("status", f"Status: cannot be changed from {row['status']} to new")
        if changes.get("assignee_id") is not None:
            _agent(changes["assignee_id"], "assignee_id")
        if changes.get("organization_id") is not None and fetch("organizations", changes["organization_id"]) is None:
            raise invalid("organization_id", f"Organization: {changes['organization_id']} does not exist")
        changes = {k: v for k, v in changes.items() if row[k] != v}
        if row["status"] == "new" and "status" not in changes and (comment or changes.get("assignee_id")):
            changes["status"] = "open"
        if changes.get("status") in ("solved", "closed") and not changes.get("assignee_id", row["assignee_id"]):
            changes["assignee_id"] = actor["id"]
        at = now()
        audit_id = new_audit_id()
        events: list[dict[str, Any]] = []
        if comment:
            events.append(_add_comment(ticket_id, comment, actor, channel, audit_id, at))
        for name, value in changes.items():
            previous = row[name]
            if name == "tags":
                value, previous = load(value), load(previous)
            events.append({"type": "Change", "field_name": name, "value": value, "previous_value": previous})
        if changes or comment:
            update("tickets", ticket_id, **changes, updated_at=at)
        row = fetch("tickets", ticket_id)
    return row, objects.audit(audit_id, ticket_id, actor["id"], at, channel, events)


def change_tags(ticket_id: int, tags: list[str], how: str) -> list[str]:
    """Tags endpoint writes: how = add | set | remove. -> the ticket's tags after."""
    with write_transaction(g.db):
        row = live_ticket(ticket_id)
        if row["status"] == "closed":
            raise invalid("status", "Status: closed prevents ticket update", "ClosedPreventsUpdate")
        current = load(row["tags"])
        if how == "add":
            after = current + [t for t in tags if t not in current]
        elif how == "remove":
            after = [t for t in current if t not in tags]
        else:
            after = tags
        if after != current:
            update("tickets", ticket_id, tags=dump(after), updated_at=now())
    return after


def delete_ticket(ticket_id: int) -> None:
    with write_transaction(g.db):
        live_ticket(ticket_id)
        update("tickets", ticket_id, deleted=1, updated_at=now())
