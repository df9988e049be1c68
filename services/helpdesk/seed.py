"""The helpdesk world of a seed: the template rows every episode of that seed starts from.

Users are the company's staff (agents; the lead is an admin), the sandbox's own agent (the user an
episode's API token acts as), and the requesters (end-users). Tickets and their comments come
straight from `world.helpdesk`; a ticket's description is its first comment.
"""

from __future__ import annotations

import sqlite3
from importlib import resources

from sandbox.clock import stable_number
from sandbox.world import World
from services.helpdesk.store import dump

AGENT_NAME = "Sandbox Agent"


def schema_statements() -> list[str]:
    # One statement at a time: `executescript` would commit the builder's open transaction.
    text = resources.files(__package__).joinpath("schema.sql").read_text()
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def agent_email(world: World) -> str:
    assert world.org is not None
    return f"agent@{world.org.domain}"


def agent_id(world: World) -> int:
    return stable_number("zendesk-user", world.seed, "sandbox-agent", low=360_000_000_000, high=360_999_999_999)


def _insert(conn: sqlite3.Connection, table: str, **values: object) -> None:
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(values.values()))


def build_template(conn: sqlite3.Connection, world: World) -> None:
    """Create the tables and insert the helpdesk of `world.seed` (inside the caller's transaction)."""
    if world.helpdesk is None or world.org is None:
        raise ValueError(f"world {world.seed} has no helpdesk: the helpdesk fake needs world.helpdesk and world.org")
    for statement in schema_statements():
        conn.execute(statement)
    desk = world.helpdesk
    opened = min(o.created for o in desk.organizations)
    for o in desk.organizations:
        _insert(conn, "organizations", id=o.id, name=o.name, domain_names=dump([o.domain]), notes=o.notes,
                created_at=o.created, updated_at=o.created)
    for s in world.staff:
        _insert(conn, "users", id=s.helpdesk_id, name=s.name, email=s.email,
                role="admin" if s.role == "lead" else "agent", time_zone=s.timezone,
                created_at=opened, updated_at=opened)
    _insert(conn, "users", id=agent_id(world), name=AGENT_NAME, email=agent_email(world), role="agent",
            time_zone="Etc/UTC", created_at=opened, updated_at=opened)
    for r in desk.requesters:
        _insert(conn, "users", id=r.id, name=r.name, email=r.email, role="end-user", organization_id=r.organization_id,
                phone=r.phone, created_at=r.created, updated_at=r.created)
    for t in desk.tickets:
        _insert(conn, "tickets", id=t.id, channel=t.channel, type=t.type, subject=t.subject,
                description=t.comments[0].body, priority=t.priority, status=t.status, requester_id=t.requester_id,
                submitter_id=t.requester_id, assignee_id=t.assignee_id, organization_id=t.organization_id,
                tags=dump(sorted(t.tags)), created_at=t.created, updated_at=t.updated)
        for c in t.comments:
            by_requester = c.author_id == t.requester_id
            _insert(conn, "comments", id=c.id, ticket_id=t.id, author_id=c.author_id, body=c.body,
                    public=int(c.public), channel=t.channel if by_requester else "web", audit_id=c.id - 1,
                    created_at=c.created)
    last_comment = max(c.id for t in desk.tickets for c in t.comments)
    for key, value in (
        ("subdomain", world.org.slug),
        ("agent_id", agent_id(world)),
        ("agent_email", agent_email(world)),
        ("audit_base", last_comment + 1_000_000),
        ("seed", world.seed),
    ):
        _insert(conn, "_account", key=key, value=str(value))
