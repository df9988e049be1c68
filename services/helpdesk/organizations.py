"""Organizations: list, show, show_many, and an organization's users and tickets."""

from __future__ import annotations

from flask import Blueprint, Response, g

from services.helpdesk import objects
from services.helpdesk.errors import not_found
from services.helpdesk.pagination import offset_page, page_of
from services.helpdesk.routing import api_route, id_list
from services.helpdesk.store import fetch
from services.helpdesk.tickets import ticket_list
from services.helpdesk.users import USER_SORTS
from services.helpdesk.wire import json_response

bp = Blueprint("organizations", __name__)


def live_organization(organization_id: int):
    row = fetch("organizations", organization_id)
    if row is None:
        raise not_found()
    return row


@api_route(bp, "/api/v2/organizations")
def list_organizations() -> Response:
    """List organizations."""
    rows = g.db.execute("SELECT * FROM organizations").fetchall()
    return json_response(page_of("organizations", "/api/v2/organizations.json", rows, objects.organization,
                                 sortable=("id", "created_at", "updated_at", "name")))


@api_route(bp, "/api/v2/organizations/show_many")
def show_many() -> Response:
    """Show many organizations by id (`ids=1,2,3`)."""
    ids = id_list()
    rows = g.db.execute(
        f"SELECT * FROM organizations WHERE id IN ({','.join('?' for _ in ids)}) ORDER BY id", ids
    ).fetchall()
    return json_response(offset_page("organizations", "/api/v2/organizations/show_many.json", rows,
                                     objects.organization))


@api_route(bp, "/api/v2/organizations/<int:organization_id>")
def show(organization_id: int) -> Response:
    """Show an organization."""
    return json_response({"organization": objects.organization(live_organization(organization_id))})


@api_route(bp, "/api/v2/organizations/<int:organization_id>/users")
def users(organization_id: int) -> Response:
    """List an organization's users."""
    live_organization(organization_id)
    rows = g.db.execute("SELECT * FROM users WHERE organization_id=?", (organization_id,)).fetchall()
    return json_response(page_of("users", f"/api/v2/organizations/{organization_id}/users.json", rows, objects.user,
                                 sortable=USER_SORTS))


@api_route(bp, "/api/v2/organizations/<int:organization_id>/tickets")
def tickets(organization_id: int) -> Response:
    """List an organization's tickets."""
    live_organization(organization_id)
    return ticket_list(f"/api/v2/organizations/{organization_id}/tickets.json", "organization_id=?",
                       (organization_id,))
