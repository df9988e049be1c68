"""Tickets through zenpy, the way an agent's code drives Zendesk: list (both pagination styles,
all pages), show, show_many, create, update (reply, internal note, fields), tags, delete,
comments; every write reaches the episode ledger."""

from __future__ import annotations

import pytest
from zenpy.lib.api_objects import Comment, Ticket
from zenpy.lib.exception import APIException, RecordNotFoundException

from tests.services import helpdesk_fixtures as fx
from tests.services.helpdesk_fixtures import AGENT_ID, FACTS, WORLD

# The module's fixtures (pytest finds them by name here).
desk, desk_episode, desk_http, zd = fx.desk, fx.desk_episode, fx.desk_http, fx.zd

DOUBLE = FACTS["double_charge_ticket"]
ALL_TICKETS = sorted(t.id for t in WORLD.helpdesk.tickets)  # type: ignore[union-attr]


def test_zenpy_iterates_every_ticket_over_cursor_pages(zd, desk_http):
    # zenpy asks for cursor pages (page[size]); a small page size makes it follow links.next.
    generator = zd.tickets(cursor_pagination=7)
    assert [t.id for t in generator] == ALL_TICKETS
    first = desk_http("GET", "/api/v2/tickets.json?page[size]=7").json()
    assert first["meta"]["has_more"] is True and len(first["tickets"]) == 7
    assert first["links"]["next"].startswith("http://127.0.0.1:")


def test_zenpy_iterates_every_ticket_over_offset_pages(zd, desk_http):
    assert [t.id for t in zd.tickets(cursor_pagination=False)] == ALL_TICKETS
    page = desk_http("GET", "/api/v2/tickets.json?per_page=10&page=2").json()
    assert [t["id"] for t in page["tickets"]] == ALL_TICKETS[10:20]
    assert page["count"] == len(ALL_TICKETS)
    assert page["next_page"].endswith("/api/v2/tickets.json?page=3&per_page=10")
    assert page["previous_page"].endswith("page=1&per_page=10")
    last = desk_http("GET", "/api/v2/tickets.json?per_page=10&page=3").json()
    assert last["next_page"] is None and len(last["tickets"]) == len(ALL_TICKETS) - 20


def test_cursor_pages_walk_back_with_page_before(desk_http):
    second = desk_http("GET", "/api/v2/tickets.json?page[size]=5&sort=-updated_at").json()
    after = desk_http("GET", second["links"]["next"]).json()
    back = desk_http("GET", "/api/v2/tickets.json", params={"page[size]": 5, "sort": "-updated_at",
                                                          "page[before]": after["meta"]["before_cursor"]}).json()
    assert [t["id"] for t in back["tickets"]] == [t["id"] for t in second["tickets"]]
    stamps = [t["updated_at"] for t in second["tickets"] + after["tickets"]]
    assert stamps == sorted(stamps, reverse=True)


def test_show_and_show_many(zd):
    ticket = zd.tickets(id=DOUBLE["ticket"])
    assert ticket.id == DOUBLE["ticket"] and ticket.status == "new" and ticket.priority == "high"
    assert ticket.requester_id == DOUBLE["requester"]
    assert "double_charge" in ticket.tags and ticket.via.channel == "email"
    assert ticket.created_at.endswith("Z") and ticket.url.endswith(f"/api/v2/tickets/{DOUBLE['ticket']}.json")
    many = zd.tickets(ids=ALL_TICKETS[:3])
    assert sorted(t.id for t in many) == ALL_TICKETS[:3]
    with pytest.raises(RecordNotFoundException):
        zd.tickets(id=999_999)


def test_comments_hold_public_replies_and_internal_notes(zd):
    comments = list(zd.tickets.comments(ticket=DOUBLE["ticket"]))
    assert [c.public for c in comments] == [True, False]
    note = comments[1]
    assert DOUBLE["fingerprint"] in note.body and note.type == "Comment" and note.attachments == []
    assert comments[0].html_body.startswith('<div class="zd-comment"')


def test_create_ticket_answers_ticket_and_audit_and_reaches_the_ledger(zd, desk, desk_episode):
    audit = zd.tickets.create(Ticket(subject="Printer on fire", comment=Comment(body="The smoke is very colorful."),
                                     priority="urgent", tags=["Hardware", "fire"]))
    created = audit.ticket
    assert created.id == max(ALL_TICKETS) + 1
    assert (created.status, created.priority, created.tags) == ("new", "urgent", ["hardware", "fire"])
    assert created.requester_id == AGENT_ID and created.via.channel == "api"
    assert created.description == "The smoke is very colorful."
    assert created.created_at == "2026-01-15T09:00:01Z"  # the episode clock, exchange 1
    assert [e["type"] for e in audit.audit.events][:2] == ["Comment", "Create"]
    with desk.ledger(desk_episode) as ledger:
        changes = ledger.state_changes()
    inserted = {(c["tbl"], c["op"]) for c in changes}
    assert ("tickets", "insert") in inserted and ("comments", "insert") in inserted
    assert all(c["exchange_id"] == 1 for c in changes)


def test_update_with_a_public_reply_opens_a_new_ticket(zd):
    ticket = zd.tickets(id=DOUBLE["ticket"])
    ticket.comment = Comment(body="Sorry about that, we are refunding the duplicate.", public=True)
    zd.tickets.update(ticket)
    after = zd.tickets(id=DOUBLE["ticket"])
    assert after.status == "open"  # an agent's update opens a new ticket
    last = list(zd.tickets.comments(ticket=DOUBLE["ticket"]))[-1]
    assert (last.public, last.author_id) == (True, AGENT_ID)
    assert last.body == "Sorry about that, we are refunding the duplicate."


def test_internal_note_and_field_changes_in_one_update(zd, desk, desk_episode):
    ticket = zd.tickets(id=DOUBLE["ticket"])
    ticket.comment = Comment(body="Refund issued in payments.", public=False)
    ticket.status = "solved"
    ticket.type = "incident"
    audit = zd.tickets.update(ticket)
    assert audit.ticket.status == "solved"
    assert audit.ticket.assignee_id == AGENT_ID  # solving assigns the solver
    changed = {e["field_name"]: e["value"] for e in audit.audit.events if e["type"] == "Change"}
    assert changed["status"] == "solved" and changed["type"] == "incident"
    note = list(zd.tickets.comments(ticket=DOUBLE["ticket"]))[-1]
    assert (note.public, note.body) == (False, "Refund issued in payments.")
    with desk.ledger(desk_episode) as ledger:
        updates = [c for c in ledger.state_changes() if c["tbl"] == "tickets" and c["op"] == "update"]
    assert updates[-1]["before"]["status"] == "new" and updates[-1]["after"]["status"] == "solved"


def test_closed_tickets_refuse_updates(zd, desk_http):
    closed = next(t.id for t in WORLD.helpdesk.tickets if t.status == "closed")  # type: ignore[union-attr]
    response = desk_http("PUT", f"/api/v2/tickets/{closed}.json", json={"ticket": {"status": "open"}})
    assert response.status_code == 422
    assert response.json()["details"]["status"][0]["error"] == "ClosedPreventsUpdate"
    with pytest.raises(APIException):
        zd.tickets.add_tags(closed, ["late"])


def test_tags_add_set_and_remove(zd, desk_http):
    ticket_id = DOUBLE["ticket"]
    assert list(zd.tickets.add_tags(ticket_id, ["vip", "Billing"])) == ["billing", "double_charge", "vip"]
    assert list(zd.tickets.delete_tags(ticket_id, ["double_charge"])) == ["billing", "vip"]
    assert list(zd.tickets.set_tags(ticket_id, ["refund"])) == ["refund"]
    assert desk_http("GET", f"/api/v2/tickets/{ticket_id}/tags.json").json() == {"tags": ["refund"]}


def test_delete_ticket_then_it_is_gone(zd, desk_http):
    ticket = zd.tickets(id=ALL_TICKETS[0])
    zd.tickets.delete(ticket)
    assert desk_http("GET", f"/api/v2/tickets/{ALL_TICKETS[0]}.json").status_code == 404
    assert ALL_TICKETS[0] not in [t.id for t in zd.tickets()]
    created = zd.tickets.create(Ticket(comment=Comment(body="first line\nsecond"))).ticket
    assert created.id == max(ALL_TICKETS) + 1 and created.subject == "first line"  # ids are never reused


def test_tickets_count(desk_http):
    assert desk_http("GET", "/api/v2/tickets/count.json").json()["count"]["value"] == len(ALL_TICKETS)
