"""Users and organizations through zenpy: list (all pages), show, show_many, me, search, create
end-users, a requester's tickets; organizations with their users and tickets."""

from __future__ import annotations

import pytest
from zenpy.lib.api_objects import User
from zenpy.lib.exception import APIException, RecordNotFoundException

from tests.services import helpdesk_fixtures as fx
from tests.services.helpdesk_fixtures import AGENT_EMAIL, AGENT_ID, FACTS, WORLD

# The module's fixtures (pytest finds them by name here).
desk, desk_episode, desk_http, zd = fx.desk, fx.desk_episode, fx.desk_http, fx.zd

DESK = WORLD.helpdesk
USER_IDS = sorted([s.helpdesk_id for s in WORLD.staff] + [AGENT_ID] + [r.id for r in DESK.requesters])  # type: ignore[union-attr]
BUG = FACTS["bug_report"]


def test_zenpy_iterates_every_user_over_cursor_and_offset_pages(zd):
    assert [u.id for u in zd.users(cursor_pagination=25)] == USER_IDS
    assert [u.id for u in zd.users(cursor_pagination=False)] == USER_IDS


def test_role_filter(desk_http):
    agents = desk_http("GET", "/api/v2/users.json?role[]=agent&role[]=admin").json()
    assert {u["id"] for u in agents["users"]} == {s.helpdesk_id for s in WORLD.staff} | {AGENT_ID}
    assert desk_http("GET", "/api/v2/users.json?role=wizard").status_code == 400


def test_me_show_and_show_many(zd):
    me = zd.users.me()
    assert (me.id, me.name, me.email, me.role) == (AGENT_ID, "Sandbox Agent", AGENT_EMAIL, "agent")
    requester = zd.users(id=BUG["requester"])
    assert (requester.email, requester.name) == (BUG["customer_email"], BUG["customer_name"])
    assert requester.role == "end-user"
    assert requester.url.endswith(f"/api/v2/users/{BUG['requester']}.json")
    assert sorted(u.id for u in zd.users(ids=USER_IDS[:4])) == USER_IDS[:4]
    with pytest.raises(RecordNotFoundException):
        zd.users(id=1)


def test_search_users_by_email_and_name(zd):
    found = list(zd.users.search(query=f"email:{BUG['customer_email']}"))
    assert [u.id for u in found] == [BUG["requester"]]
    by_name = list(zd.users.search(query=BUG["customer_name"].split()[-1]))
    assert BUG["requester"] in [u.id for u in by_name]


def test_create_end_user_and_refuse_duplicates_and_agents(zd, desk, desk_episode, desk_http):
    created = zd.users.create(User(name="Ada Lovelace", email="ada@example.org", phone="+15550100"))
    assert (created.role, created.verified, created.email) == ("end-user", False, "ada@example.org")
    assert created.id not in USER_IDS and created.created_at.endswith("Z")
    with pytest.raises(APIException) as err:
        zd.users.create(User(name="Ada Again", email="ADA@example.org"))
    assert err.value.response.status_code == 422
    assert err.value.response.json()["details"]["email"][0]["error"] == "DuplicateValue"
    agent = desk_http("POST", "/api/v2/users.json", json={"user": {"name": "New Agent", "role": "agent"}})
    assert agent.status_code == 403 and agent.json()["error"] == "Forbidden"
    with desk.ledger(desk_episode) as ledger:
        inserted = [c for c in ledger.state_changes() if c["tbl"] == "users"]
    assert [(c["op"], c["row_key"]) for c in inserted] == [("insert", str(created.id))]


def test_requested_tickets_of_a_requester(zd):
    mine = [t.id for t in zd.users.requested(BUG["requester"])]
    expected = sorted(t.id for t in DESK.tickets if t.requester_id == BUG["requester"])  # type: ignore[union-attr]
    assert mine == expected and BUG["ticket"] in mine


def test_organizations_list_show_users_and_tickets(zd, desk_http):
    orgs = list(zd.organizations())
    assert sorted(o.id for o in orgs) == sorted(o.id for o in DESK.organizations)  # type: ignore[union-attr]
    org = DESK.organizations[0]  # type: ignore[union-attr]
    shown = zd.organizations(id=org.id)
    assert (shown.name, shown.domain_names, shown.notes) == (org.name, [org.domain], org.notes)
    members = {u.id for u in zd.organizations.users(org.id)}
    assert members == {r.id for r in DESK.requesters if r.organization_id == org.id}  # type: ignore[union-attr]
    tickets = desk_http("GET", f"/api/v2/organizations/{org.id}/tickets.json").json()
    assert {t["id"] for t in tickets["tickets"]} == {t.id for t in DESK.tickets if t.organization_id == org.id}  # type: ignore[union-attr]
    missing = desk_http("GET", "/api/v2/organizations/1.json")
    assert missing.json() == {"error": "RecordNotFound", "description": "Not found"}
