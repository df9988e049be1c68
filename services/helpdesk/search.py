"""Zendesk's search: `GET /api/v2/search.json?query=...` and `/api/v2/search/count.json`.

The query language subset served: `type:ticket|user|organization`, `field:value`, `field<value`,
`field>value` (also `<=`, `>=`), `-field:value` to negate, `"quoted phrases"`, `word*` prefixes and
plain words. Ticket fields: status, priority (ordered, so `status<solved` works), ticket_type,
requester, assignee, submitter (an email, an id, a name, `me` or `none`), organization, tags/tag,
subject, description, comment, via, created, updated (`2026-01-14` or an ISO time). User fields:
email, name, role, organization, phone. Organization fields: name. Plain words match a ticket's
subject, description and comments, a user's name and email, an organization's name and domains.
Results are offset-paginated like Zendesk's (`page`, `per_page`, `next_page`, `count`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, Response, g, request

from services.common.inputs import digits
from services.helpdesk import objects
from services.helpdesk.errors import ZendeskError
from services.helpdesk.pagination import offset_page
from services.helpdesk.routing import api_route
from services.helpdesk.store import load
from services.helpdesk.wire import json_response

bp = Blueprint("search", __name__)

ORDER = {
    "status": ("new", "open", "pending", "hold", "solved", "closed"),
    "priority": ("low", "normal", "high", "urgent"),
}
TYPES = ("ticket", "user", "organization", "group")
SORTS = ("updated_at", "created_at", "priority", "status", "ticket_type")
_TERM = re.compile(r'(-?)(?:([A-Za-z_]+)(:|<=|>=|<|>))?("[^"]*"|\S+)')


@dataclass(frozen=True)
class Term:
    negated: bool
    field: str | None  # None: plain text
    op: str
    value: str


def parse(query: str) -> list[Term]:
    terms = []
    for negated, field, op, value in _TERM.findall(query):
        terms.append(Term(bool(negated), field.lower() or None, op or ":", value.strip('"')))
    return terms


def _text_match(needle: str, *haystacks: str | None) -> bool:
    needle = needle.lower().rstrip("*")
    return any(needle in (h or "").lower() for h in haystacks)


def _compare(op: str, left: object, right: object) -> bool:
    if left is None or right is None:
        return op == ":" and left == right
    return {":": left == right, "<": left < right, ">": left > right,  # type: ignore[operator]
            "<=": left <= right, ">=": left >= right}[op]  # type: ignore[operator]


def _when(value: str) -> tuple[int, int]:
    """A date or time -> [start, end) in Unix seconds."""
    try:
        if len(value) == 10:
            start = int(datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
            return start, start + 86_400
        moment = int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        return moment, moment + 1
    except ValueError:
        raise ZendeskError(400, "InvalidValue", f"Search: cannot read the date {value!r} (use 2026-01-14)") from None


def _date_match(op: str, ts: int, value: str) -> bool:
    start, end = _when(value)
    return {":": start <= ts < end, "<": ts < start, "<=": ts < end, ">": ts >= end, ">=": ts >= start}[op]


def _user_ids(value: str) -> set[int | None]:
    """`requester:` and friends: an email, an id, a name, `me` or `none`."""
    lowered = value.lower()
    if lowered == "none":
        return {None}
    if lowered == "me":
        return {g.actor["id"]}
    if digits(value):
        return {int(value)}
    column = "email" if "@" in value else "name"
    rows = g.db.execute(f"SELECT id FROM users WHERE lower({column}) LIKE ?", (f"%{lowered.rstrip('*')}%",))
    return {r["id"] for r in rows}


def _ticket_term(term: Term, t: sqlite3.Row, comments: list[str]) -> bool:
    field, op, value = term.field, term.op, term.value
    if field is None:
        return _text_match(value, t["subject"], t["description"], *comments)
    if field in ORDER:
        order = ORDER[field]
        if value.lower() not in order:
            return False
        current = order.index(t[field]) if t[field] in order else None
        return _compare(op, current, order.index(value.lower()))
    if field in ("ticket_type", "tickettype"):
        return (t["type"] or "").lower() == value.lower() if value.lower() != "none" else t["type"] is None
    if field in ("requester", "assignee", "submitter"):
        return t[f"{field}_id"] in _user_ids(value)
    if field == "organization":
        if digits(value):
            return t["organization_id"] == int(value)
        rows = g.db.execute("SELECT id FROM organizations WHERE lower(name) LIKE ?", (f"%{value.lower()}%",))
        return t["organization_id"] in {r["id"] for r in rows}
    if field in ("tags", "tag"):
        return value.lower() in load(t["tags"])
    if field == "subject":
        return _text_match(value, t["subject"])
    if field == "description":
        return _text_match(value, t["description"])
    if field == "comment":
        return _text_match(value, *comments)
    if field == "via":
        return t["channel"] == value.lower()
    if field in ("created", "updated"):
        return _date_match(op, t[f"{field}_at"], value)
    if field in ("ticket_id", "id"):
        return digits(value) and t["id"] == int(value)
    return False  # a field Zendesk knows but this fake does not: nothing matches


def _user_term(term: Term, u: sqlite3.Row) -> bool:
    field, value = term.field, term.value
    if field is None:
        return _text_match(value, u["name"], u["email"])
    if field == "email":
        return (u["email"] or "").lower() == value.lower() or (value.endswith("*") and _text_match(value, u["email"]))
    if field == "name":
        return _text_match(value, u["name"])
    if field == "role":
        return u["role"] == value.lower()
    if field == "organization":
        return digits(value) and u["organization_id"] == int(value)
    if field == "phone":
        return _text_match(value, u["phone"])
    if field in ("created", "updated"):
        return _date_match(term.op, u[f"{field}_at"], value)
    return False


def _organization_term(term: Term, o: sqlite3.Row) -> bool:
    if term.field is None:
        return _text_match(term.value, o["name"], *load(o["domain_names"]))
    if term.field == "name":
        return _text_match(term.value, o["name"])
    return False


def _keep(rows: list[sqlite3.Row], terms: list[Term], test: Callable[[Term, sqlite3.Row], bool]) -> list[sqlite3.Row]:
    return [r for r in rows if all(test(t, r) != t.negated for t in terms)]


def matching_users(query: str) -> list[sqlite3.Row]:
    terms = [t for t in parse(query) if t.field != "type"]
    return _keep(g.db.execute("SELECT * FROM users ORDER BY id").fetchall(), terms, _user_term)


def run(query: str) -> list[tuple[str, sqlite3.Row]]:
    """(result_type, row) for every object `query` matches."""
    terms = parse(query)
    kinds = {t.value.lower() for t in terms if t.field == "type" and not t.negated}
    unknown = kinds - set(TYPES)
    if unknown:
        raise ZendeskError(400, "InvalidValue",
                           f"Search: unknown type {sorted(unknown)[0]!r} (one of {', '.join(TYPES)})")
    terms = [t for t in terms if t.field != "type"]
    kinds = kinds or {"ticket", "user", "organization"}
    found: list[tuple[str, sqlite3.Row]] = []
    if "ticket" in kinds:
        comments: dict[int, list[str]] = {}
        for c in g.db.execute("SELECT ticket_id, body FROM comments"):
            comments.setdefault(c["ticket_id"], []).append(c["body"])
        tickets = g.db.execute("SELECT * FROM tickets WHERE deleted=0").fetchall()
        found += [("ticket", t) for t in tickets
                  if all(_ticket_term(term, t, comments.get(t["id"], [])) != term.negated for term in terms)]
    if "user" in kinds:
        found += [("user", u) for u in _keep(g.db.execute("SELECT * FROM users").fetchall(), terms, _user_term)]
    if "organization" in kinds:
        rows = g.db.execute("SELECT * FROM organizations").fetchall()
        found += [("organization", o) for o in _keep(rows, terms, _organization_term)]
    return _sorted(found)


def _sorted(found: list[tuple[str, sqlite3.Row]]) -> list[tuple[str, sqlite3.Row]]:
    sort_by = request.args.get("sort_by") or "updated_at"
    if sort_by not in SORTS:
        raise ZendeskError(400, "InvalidValue", f"sort_by must be one of {', '.join(SORTS)}, got {sort_by!r}")
    descending = (request.args.get("sort_order") or "desc") != "asc"

    def key(item: tuple[str, sqlite3.Row]) -> tuple:
        kind, row = item
        column = "type" if sort_by == "ticket_type" else sort_by
        value = row[column] if column in row.keys() else None
        if column in ORDER and value in ORDER[column]:
            value = ORDER[column].index(value)
        return (value is not None, value if value is not None else 0, row["id"])

    return sorted(found, key=key, reverse=descending)


def _render(item: tuple[str, sqlite3.Row]) -> dict:
    kind, row = item
    render = {"ticket": objects.ticket, "user": objects.user, "organization": objects.organization}[kind]
    return {**render(row), "result_type": kind}


def _query() -> str:
    query = request.args.get("query", "")
    if not query.strip():
        raise ZendeskError(400, "InvalidValue", "Search needs a non-empty query parameter")
    return query


@api_route(bp, "/api/v2/search")
def search() -> Response:
    """Search tickets, users and organizations."""
    page = offset_page("results", "/api/v2/search.json", run(_query()), _render)
    page["facets"] = None
    return json_response(page)


@api_route(bp, "/api/v2/search/count")
def count() -> Response:
    """Count search results."""
    return json_response({"count": len(run(_query()))})
