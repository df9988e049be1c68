"""Row access shared by the resources: the episode clock, new ids, lookups that answer GitHub's 404s,
JSON columns, and per-request caches of the small tables (people, a repository's labels)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from flask import g

from sandbox.clock import episode_time, stable_number
from sandbox.world import world
from services.code.errors import not_found
from services.code.seed import bot_login
from services.common.db import next_counter
from services.common.inputs import fits_sqlite
from services.common.rows import insert as insert  # re-exported: handlers write with store.insert
from services.common.rows import update as update

# Where the ids of objects made during an episode start: above the world's own ranges, so they
# never collide, and increasing like GitHub's.
ID_BASES = {"issue": (3_000_000_000, 3_500_000_000), "comment": (1_700_000_000, 1_750_000_000),
            "label": (7_000_000_000, 7_500_000_000)}


def now() -> int:
    """The episode clock at this exchange: `created_at` / `updated_at` of what this request writes."""
    return episode_time(g.exchange_id or 0, g.episode.clock_start)


def iso(ts: int | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id(kind: str) -> int:
    """A numeric id from the seed and a per-database counter: the same creates give the same ids."""
    low, high = ID_BASES[kind]
    return stable_number(f"github-{kind}", g.episode.seed, "api", low=low, high=high) + next_counter(g.db, kind)


def me() -> str:
    """The login the token belongs to: the organisation's bot member."""
    return bot_login(world(g.episode.seed))


def dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def users() -> dict[str, sqlite3.Row]:
    """Every user by lower-cased login (a few dozen rows), read once per request."""
    cached = getattr(g, "_users", None)
    if cached is None:
        cached = g._users = {r["login"].lower(): r for r in g.db.execute("SELECT * FROM users ORDER BY id")}
    return cached


def user(login: str) -> sqlite3.Row | None:
    return users().get(login.lower())


def members() -> list[sqlite3.Row]:
    return [r for r in users().values() if r["member"]]


def org() -> sqlite3.Row:
    return g.db.execute("SELECT * FROM orgs").fetchone()


def repo(owner: str, name: str) -> sqlite3.Row:
    """The repository, or GitHub's 404 (also for a wrong owner)."""
    row = g.db.execute("SELECT * FROM repos WHERE owner = ? COLLATE NOCASE AND name = ?", (owner, name)).fetchone()
    if row is None:
        raise not_found()
    return row


def issue(repo_row: sqlite3.Row, number: str | int) -> sqlite3.Row:
    try:
        n = int(number)
    except ValueError:
        raise not_found() from None
    if not fits_sqlite(n):  # no such issue, and SQLite could not bind the number
        raise not_found()
    row = g.db.execute("SELECT * FROM issues WHERE repo_id = ? AND number = ?", (repo_row["id"], n)).fetchone()
    if row is None:
        raise not_found()
    return row


def issue_by_id(issue_id: int) -> sqlite3.Row:
    return g.db.execute("SELECT * FROM issues WHERE id = ?", (issue_id,)).fetchone()


def labels_of(repo_id: int) -> dict[str, sqlite3.Row]:
    """The repository's labels by lower-cased name, read once per request (and again after a write)."""
    cache = g.setdefault("_labels", {})
    if repo_id not in cache:
        rows = g.db.execute("SELECT * FROM labels WHERE repo_id = ? ORDER BY name", (repo_id,))
        cache[repo_id] = {r["name"].lower(): r for r in rows}
    return cache[repo_id]


def forget_labels(repo_id: int) -> None:
    g.setdefault("_labels", {}).pop(repo_id, None)


def comment_counts(repo_id: int) -> dict[int, int]:
    rows = g.db.execute("SELECT issue_id, count(*) FROM comments WHERE repo_id = ? GROUP BY issue_id", (repo_id,))
    return {issue_id: n for issue_id, n in rows}



