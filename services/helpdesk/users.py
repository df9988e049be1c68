"""Users: list, show, show_many, me, search, create (end-users), and the tickets a user requested
or is assigned."""

from __future__ import annotations

import re

from flask import Blueprint, Response, g, request

from services.common.db import write_transaction
from services.helpdesk import objects
from services.helpdesk.body import Fields, json_body, root
from services.helpdesk.errors import ZendeskError, forbidden, invalid, not_found
from services.helpdesk.pagination import offset_page, page_of
from services.helpdesk.routing import api_route, id_list
from services.helpdesk.search import matching_users
from services.helpdesk.store import dump, fetch, insert, new_user_id, now
from services.helpdesk.tickets import ticket_list
from services.helpdesk.wire import api_url, json_response

bp = Blueprint("users", __name__)

ROLES = ("end-user", "agent", "admin")
USER_SORTS = ("id", "created_at", "updated_at", "name")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def live_user(user_id: int):
    row = fetch("users", user_id)
    if row is None:
        raise not_found()
    return row


def _roles() -> list[str]:
    roles = request.args.getlist("role") + request.args.getlist("role[]")
    for role in roles:
        if role not in ROLES:
            raise ZendeskError(400, "InvalidValue", f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return roles


@api_route(bp, "/api/v2/users")
def list_users() -> Response:
    """List users (filter role / role[]; offset or cursor pagination)."""
    roles = _roles()
    sql, args = "SELECT * FROM users", ()
    if roles:
        sql += f" WHERE role IN ({','.join('?' for _ in roles)})"
        args = tuple(roles)
    rows = g.db.execute(sql, args).fetchall()
    return json_response(page_of("users", "/api/v2/users.json", rows, objects.user, sortable=USER_SORTS))


@api_route(bp, "/api/v2/users/me")
def me() -> Response:
    """Show the user the credentials act as."""
    return json_response({"user": objects.user(g.actor)})


@api_route(bp, "/api/v2/users/show_many")
def show_many() -> Response:
    """Show many users by id (`ids=1,2,3`)."""
    ids = id_list()
    rows = g.db.execute(f"SELECT * FROM users WHERE id IN ({','.join('?' for _ in ids)}) ORDER BY id", ids).fetchall()
    return json_response(offset_page("users", "/api/v2/users/show_many.json", rows, objects.user))


@api_route(bp, "/api/v2/users/search")
def search() -> Response:
    """Search users by `query` (name or email, or `email:...`-style terms) or `external_id`."""
    query = request.args.get("query")
    external_id = request.args.get("external_id")
    if external_id is not None:
        rows = g.db.execute("SELECT * FROM users WHERE external_id=? ORDER BY id", (external_id,)).fetchall()
    elif query is not None and query.strip():
        rows = matching_users(query)
    else:
        raise ZendeskError(400, "InvalidValue", "Search needs a query or an external_id parameter")
    return json_response(page_of("users", "/api/v2/users/search.json", rows, objects.user, sortable=USER_SORTS))


@api_route(bp, "/api/v2/users/<int:user_id>")
def show(user_id: int) -> Response:
    """Show a user."""
    return json_response({"user": objects.user(live_user(user_id))})


@api_route(bp, "/api/v2/users", methods=("POST",))
def create() -> Response:
    """Create an end-user (agents and admins can only be created by an admin)."""
    data = root(json_body(), "user")
    fields = Fields(data)
    name = fields.string("name", max_length=255, nullable=False)
    email = fields.string("email", max_length=255)
    role = fields.choice("role", ROLES, nullable=False)
    phone = fields.string("phone", max_length=64)
    organization_id = fields.integer("organization_id")
    external_id = fields.string("external_id", max_length=255)
    tags = fields.tags()
    if not isinstance(name, str) or not name.strip():
        fields.errors.add("name", "Name: is too short (minimum one character)", "BlankValue")
    if isinstance(email, str) and not _EMAIL.match(email.strip()):
        fields.errors.add("email", f"Email: {email} is not properly formatted", "InvalidFormat")
    fields.done()
    if isinstance(role, str) and role != "end-user" and g.actor["role"] != "admin":
        raise forbidden()
    with write_transaction(g.db):
        if isinstance(email, str):
            email = email.strip()
            if g.db.execute("SELECT 1 FROM users WHERE lower(email)=lower(?)", (email,)).fetchone():
                raise invalid("email", f"Email: {email} is already being used by another user", "DuplicateValue")
        if isinstance(organization_id, int) and fetch("organizations", organization_id) is None:
            raise invalid("organization_id", f"Organization: {organization_id} does not exist")
        user_id = new_user_id()
        at = now()
        insert("users", id=user_id, name=name.strip(), email=email if isinstance(email, str) else None,
               role=role if isinstance(role, str) else "end-user",
               organization_id=organization_id if isinstance(organization_id, int) else None,
               phone=phone if isinstance(phone, str) else None,
               external_id=external_id if isinstance(external_id, str) else None,
               tags=dump(tags if isinstance(tags, list) else []), verified=0, created_at=at, updated_at=at)
        row = fetch("users", user_id)
    response = json_response({"user": objects.user(row)}, 201)
    response.headers["Location"] = api_url(f"/users/{user_id}.json")
    return response


@api_route(bp, "/api/v2/users/<int:user_id>/tickets/requested")
def requested(user_id: int) -> Response:
    """List the tickets a user requested."""
    live_user(user_id)
    return ticket_list(f"/api/v2/users/{user_id}/tickets/requested.json", "requester_id=?", (user_id,))


@api_route(bp, "/api/v2/users/<int:user_id>/tickets/assigned")
def assigned(user_id: int) -> Response:
    """List the tickets assigned to a user."""
    live_user(user_id)
    return ticket_list(f"/api/v2/users/{user_id}/tickets/assigned.json", "assignee_id=?", (user_id,))
