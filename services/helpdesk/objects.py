"""Rows -> Zendesk's JSON objects (ticket, comment, user, organization, audit)."""

from __future__ import annotations

import html
import sqlite3
from typing import Any

from services.helpdesk.store import iso, load
from services.helpdesk.wire import api_url


def via(channel: str) -> dict[str, Any]:
    source: dict[str, Any] = {"from": {}, "to": {}, "rel": None}
    return {"channel": channel, "source": source}


def ticket(row: sqlite3.Row) -> dict[str, Any]:
    t = row
    return {
        "url": api_url(f"/tickets/{t['id']}.json"),
        "id": t["id"],
        "external_id": t["external_id"],
        "via": via(t["channel"]),
        "created_at": iso(t["created_at"]),
        "updated_at": iso(t["updated_at"]),
        "generated_timestamp": t["updated_at"],
        "type": t["type"],
        "subject": t["subject"],
        "raw_subject": t["subject"],
        "description": t["description"],
        "priority": t["priority"],
        "status": t["status"],
        "recipient": None,
        "requester_id": t["requester_id"],
        "submitter_id": t["submitter_id"],
        "assignee_id": t["assignee_id"],
        "organization_id": t["organization_id"],
        "group_id": t["group_id"],
        "collaborator_ids": load(t["collaborator_ids"]),
        "follower_ids": [],
        "email_cc_ids": [],
        "forum_topic_id": None,
        "problem_id": None,
        "has_incidents": False,
        "is_public": True,
        "due_at": None,
        "tags": load(t["tags"]),
        "custom_fields": [],
        "satisfaction_rating": None,
        "sharing_agreement_ids": [],
        "custom_status_id": None,
        "fields": [],
        "followup_ids": [],
        "ticket_form_id": None,
        "brand_id": None,
        "allow_channelback": False,
        "allow_attachments": True,
        "from_messaging_channel": False,
    }


def html_of(body: str) -> str:
    """Zendesk's rendering of a plain-text comment: paragraphs, line breaks, escaped."""
    paragraphs = [p for p in body.split("\n\n") if p.strip()] or [""]
    inner = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f'<div class="zd-comment" dir="auto">{inner}</div>'


def comment(row: sqlite3.Row) -> dict[str, Any]:
    c = row
    return {
        "id": c["id"],
        "type": "Comment",
        "author_id": c["author_id"],
        "body": c["body"],
        "html_body": c["html_body"] or html_of(c["body"]),
        "plain_body": c["body"],
        "public": bool(c["public"]),
        "attachments": [],
        "audit_id": c["audit_id"],
        "via": via(c["channel"]),
        "created_at": iso(c["created_at"]),
        "metadata": {"system": {}, "custom": {}},
    }


def user(row: sqlite3.Row) -> dict[str, Any]:
    u = row
    staff = u["role"] != "end-user"
    return {
        "id": u["id"],
        "url": api_url(f"/users/{u['id']}.json"),
        "name": u["name"],
        "email": u["email"],
        "created_at": iso(u["created_at"]),
        "updated_at": iso(u["updated_at"]),
        "time_zone": u["time_zone"],
        "iana_time_zone": u["time_zone"],
        "phone": u["phone"],
        "shared_phone_number": None,
        "photo": None,
        "locale_id": 1,
        "locale": "en-US",
        "organization_id": u["organization_id"],
        "role": u["role"],
        "verified": bool(u["verified"]),
        "external_id": u["external_id"],
        "tags": load(u["tags"]),
        "alias": None,
        "active": bool(u["active"]),
        "shared": False,
        "shared_agent": False,
        "last_login_at": None,
        "two_factor_auth_enabled": None,
        "signature": None,
        "details": None,
        "notes": u["notes"],
        "role_type": None,
        "custom_role_id": None,
        "moderator": staff,
        "ticket_restriction": None if staff else "requested",
        "only_private_comments": False,
        "restricted_agent": False,
        "suspended": False,
        "default_group_id": None,
        "report_csv": False,
        "user_fields": {},
    }


def organization(row: sqlite3.Row) -> dict[str, Any]:
    o = row
    return {
        "url": api_url(f"/organizations/{o['id']}.json"),
        "id": o["id"],
        "name": o["name"],
        "shared_tickets": False,
        "shared_comments": False,
        "external_id": None,
        "created_at": iso(o["created_at"]),
        "updated_at": iso(o["updated_at"]),
        "domain_names": load(o["domain_names"]),
        "details": o["details"],
        "notes": o["notes"],
        "group_id": None,
        "tags": load(o["tags"]),
        "organization_fields": {},
    }


def audit(audit_id: int, ticket_id: int, author_id: int, created_at: int, channel: str,
          events: list[dict[str, Any]]) -> dict[str, Any]:
    """The audit a create or update answers with: what changed, as Zendesk's events."""
    numbered = [{"id": audit_id + n + 1, **event} for n, event in enumerate(events)]
    return {
        "id": audit_id,
        "ticket_id": ticket_id,
        "created_at": iso(created_at),
        "author_id": author_id,
        "metadata": {"system": {}, "custom": {}},
        "via": via(channel),
        "events": numbered,
    }
