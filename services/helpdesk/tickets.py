"""Tickets: list, show, show_many, count, create, update, delete; their comments and tags."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from services.helpdesk import objects
from services.helpdesk.body import json_body, normalize_tags, root
from services.helpdesk.errors import invalid
from services.helpdesk.pagination import offset_page, page_of
from services.helpdesk.routing import api_route, id_list
from services.helpdesk.store import iso, load, now
from services.helpdesk.ticket_writes import change_tags, create_ticket, delete_ticket, live_ticket, update_ticket
from services.helpdesk.wire import api_url, json_response

bp = Blueprint("tickets", __name__)

TICKET_SORTS = ("id", "created_at", "updated_at", "status", "priority", "subject")


def ticket_rows(where: str = "", args: tuple = ()) -> list:
    sql = "SELECT * FROM tickets WHERE deleted=0" + (f" AND {where}" if where else "")
    return g.db.execute(sql, args).fetchall()


def ticket_list(path: str, where: str = "", args: tuple = ()) -> Response:
    rows = ticket_rows(where, args)
    return json_response(page_of("tickets", path, rows, objects.ticket, sortable=TICKET_SORTS))


@api_route(bp, "/api/v2/tickets")
def list_tickets() -> Response:
    """List tickets (offset or cursor pagination; filter external_id)."""
    external_id = request.args.get("external_id")
    if external_id is not None:
        return ticket_list("/api/v2/tickets.json", "external_id=?", (external_id,))
    return ticket_list("/api/v2/tickets.json")


@api_route(bp, "/api/v2/tickets/count")
def count_tickets() -> Response:
    """Count tickets."""
    count = g.db.execute("SELECT COUNT(*) FROM tickets WHERE deleted=0").fetchone()[0]
    return json_response({"count": {"value": count, "refreshed_at": iso(now())}})


@api_route(bp, "/api/v2/tickets/show_many")
def show_many() -> Response:
    """Show many tickets by id (`ids=1,2,3`)."""
    ids = id_list()
    marks = ",".join("?" for _ in ids)
    rows = ticket_rows(f"id IN ({marks})", tuple(ids))
    return json_response(offset_page("tickets", "/api/v2/tickets/show_many.json", sorted(rows, key=lambda r: r["id"]),
                                     objects.ticket))


@api_route(bp, "/api/v2/tickets/<int:ticket_id>")
def show(ticket_id: int) -> Response:
    """Show a ticket."""
    return json_response({"ticket": objects.ticket(live_ticket(ticket_id))})


@api_route(bp, "/api/v2/tickets", methods=("POST",))
def create() -> Response:
    """Create a ticket (its `comment` is the description)."""
    data = root(json_body(), "ticket")
    row, audit = create_ticket(data, g.actor, channel="api")
    response = json_response({"ticket": objects.ticket(row), "audit": audit}, 201)
    response.headers["Location"] = api_url(f"/tickets/{row['id']}.json")
    return response


@api_route(bp, "/api/v2/tickets/<int:ticket_id>", methods=("PUT",))
def update(ticket_id: int) -> Response:
    """Update a ticket: fields, and a `comment` (a public reply, or an internal note with public=false)."""
    live_ticket(ticket_id)
    data = root(json_body(), "ticket")
    row, audit = update_ticket(ticket_id, data, g.actor, channel="api")
    return json_response({"ticket": objects.ticket(row), "audit": audit})


@api_route(bp, "/api/v2/tickets/<int:ticket_id>", methods=("DELETE",))
def delete(ticket_id: int) -> Response:
    """Delete a ticket."""
    delete_ticket(ticket_id)
    return Response(status=204)


@api_route(bp, "/api/v2/tickets/<int:ticket_id>/comments")
def comments(ticket_id: int) -> Response:
    """List a ticket's comments, public replies and internal notes (`public: false`), oldest first."""
    live_ticket(ticket_id)
    rows = g.db.execute("SELECT * FROM comments WHERE ticket_id=?", (ticket_id,)).fetchall()
    path = f"/api/v2/tickets/{ticket_id}/comments.json"
    return json_response(page_of("comments", path, rows, objects.comment, sortable=("created_at", "id"),
                                 default_sort="created_at"))


@api_route(bp, "/api/v2/tickets/<int:ticket_id>/tags")
def tags(ticket_id: int) -> Response:
    """List a ticket's tags."""
    return json_response({"tags": load(live_ticket(ticket_id)["tags"])})


def _tags_in_body() -> list[str]:
    value = json_body().get("tags")
    tags = normalize_tags(value) if value is not None else None
    if tags is None:
        raise invalid("tags", "Tags: is invalid (expected {\"tags\": [\"a\", \"b\"]})")
    return tags


@api_route(bp, "/api/v2/tickets/<int:ticket_id>/tags", methods=("PUT",))
def add_tags(ticket_id: int) -> Response:
    """Add tags to a ticket."""
    live_ticket(ticket_id)
    return json_response({"tags": change_tags(ticket_id, _tags_in_body(), "add")})


@api_route(bp, "/api/v2/tickets/<int:ticket_id>/tags", methods=("POST",))
def set_tags(ticket_id: int) -> Response:
    """Replace a ticket's tags."""
    live_ticket(ticket_id)
    return json_response({"tags": change_tags(ticket_id, _tags_in_body(), "set")})


@api_route(bp, "/api/v2/tickets/<int:ticket_id>/tags", methods=("DELETE",))
def remove_tags(ticket_id: int) -> Response:
    """Remove tags from a ticket."""
    live_ticket(ticket_id)
    return json_response({"tags": change_tags(ticket_id, _tags_in_body(), "remove")})
