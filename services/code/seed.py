"""The code world of a seed: the organisation, its members and outside contributors, one repository
per product plus the private runbooks, their labels, issues and comments.

The token an episode hands out belongs to a bot member of the organisation (`bot_login`): it is
the author of everything the agent creates. Anything made later gets ids from `store.new_id`.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from importlib import resources

from sandbox.clock import stable_number
from sandbox.world import World

# GitHub's default labels (the ones a new repository starts with) are `default: true`.
GITHUB_DEFAULT_LABELS = frozenset(
    {"bug", "documentation", "duplicate", "enhancement", "good first issue", "help wanted", "invalid",
     "question", "wontfix"}
)
ORG_CREATED = int(datetime(2025, 6, 2, 14, 30, tzinfo=UTC).timestamp())


def schema_statements() -> list[str]:
    # One statement at a time: `executescript` would commit the builder's open transaction.
    text = resources.files(__package__).joinpath("schema.sql").read_text()
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def bot_login(world: World) -> str:
    """The login the episode's token belongs to: a bot member of the organisation."""
    return f"{world.org.slug}-agent"


def bot_id(world: World) -> int:
    return stable_number("github-user", world.seed, "agent", low=100_000_000, high=199_000_000)


def label_id(world: World, repo: str, name: str) -> int:
    return stable_number("github-label", world.seed, repo, name, low=5_000_000_000, high=7_000_000_000)


def _dump(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def build_template(conn: sqlite3.Connection, world: World) -> None:
    """Create the tables and insert the code world of `world.seed` (inside the caller's transaction)."""
    for statement in schema_statements():
        conn.execute(statement)
    code, org = world.code, world.org
    conn.execute(
        "INSERT INTO orgs (id, login, name, description, blog, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (code.org_id, code.org, org.name, f"{org.name}: products and operations.", f"https://{org.domain}",
         ORG_CREATED),
    )
    for s in world.staff:
        conn.execute(
            "INSERT INTO users (id, login, name, company, location, member, role, created_at)"
            " VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
            (s.github_id, s.github_login, s.name, f"@{code.org}", s.timezone.split("/")[-1].replace("_", " "),
             "admin" if s.role == "lead" else "member", ORG_CREATED + s.index * 86_400),
        )
    conn.execute(
        "INSERT INTO users (id, login, name, company, bio, member, role, created_at) VALUES (?, ?, ?, ?, ?, 1,"
        " 'member', ?)",
        (bot_id(world), bot_login(world), f"{org.name} agent", f"@{code.org}", "Automation account.",
         ORG_CREATED + 30 * 86_400),
    )
    for o in code.outsiders:
        created = int(datetime(2019, 1, 1, tzinfo=UTC).timestamp()) + o.id % 150_000_000
        conn.execute(
            "INSERT INTO users (id, login, name, member, created_at) VALUES (?, ?, ?, 0, ?)",
            (o.id, o.login, o.name, created),
        )
    repo_ids = {}
    private = {r.name: int(r.private) for r in code.repos}
    for r in code.repos:
        repo_ids[r.name] = r.id
        touched = max([r.created, *(i.updated for i in code.issues if i.repo == r.name)])
        conn.execute(
            "INSERT INTO repos (id, owner, name, description, private, topics, created_at, updated_at, pushed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (r.id, code.org, r.name, r.description, int(r.private), _dump(list(r.topics)), r.created, touched,
             touched),
        )
        for label in code.labels:
            conn.execute(
                "INSERT INTO labels (id, repo_id, name, color, description, is_default) VALUES (?, ?, ?, ?, ?, ?)",
                (label_id(world, r.name, label.name), r.id, label.name, label.color, label.description,
                 int(label.name in GITHUB_DEFAULT_LABELS)),
            )
    for i in code.issues:
        closer = (i.assignees[0] if i.assignees else i.author_login) if i.state == "closed" else None
        conn.execute(
            "INSERT INTO issues (id, repo_id, number, title, body, author, state, state_reason, labels, assignees,"
            " created_at, updated_at, closed_at, closed_by, repo_private)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (i.id, repo_ids[i.repo], i.number, i.title, i.body, i.author_login, i.state,
             "completed" if i.state == "closed" else None, _dump(sorted(i.labels, key=str.lower)),
             _dump(list(i.assignees)), i.created, i.closed_at or i.updated, i.closed_at, closer, private[i.repo]),
        )
        for c in i.comments:
            conn.execute(
                "INSERT INTO comments (id, issue_id, repo_id, author, body, created_at, updated_at, repo_private)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (c.id, i.id, repo_ids[i.repo], c.author_login, c.body, c.created, c.created, private[i.repo]),
            )
