"""Zendesk search through zenpy and raw HTTP: type, status, requester, assignee, tags, subject,
plain text, negation, users by email; pages and counts."""

from __future__ import annotations

from tests.services import helpdesk_fixtures as fx
from tests.services.helpdesk_fixtures import FACTS, WORLD

# The module's fixtures (pytest finds them by name here).
desk, desk_episode, desk_http, zd = fx.desk, fx.desk_episode, fx.desk_http, fx.zd

TICKETS = WORLD.helpdesk.tickets  # type: ignore[union-attr]
DOUBLE = FACTS["double_charge_ticket"]
BUG = FACTS["bug_report"]


def ids(results) -> set[int]:
    return {r.id for r in results}


def test_status_and_type_filters(zd):
    assert ids(zd.search(type="ticket", status="new")) == {t.id for t in TICKETS if t.status == "new"}
    below_solved = ids(zd.search("status<solved", type="ticket"))
    assert below_solved == {t.id for t in TICKETS if t.status in ("new", "open", "pending")}


def test_requester_assignee_and_tags(zd):
    assert DOUBLE["ticket"] in ids(zd.search(type="ticket", requester=DOUBLE["requester"]))
    bug_email = BUG["customer_email"]
    assert BUG["ticket"] in ids(zd.search(type="ticket", requester=bug_email))
    unassigned = ids(zd.search(type="ticket", assignee="none"))
    assert unassigned == {t.id for t in TICKETS if t.assignee_id is None}
    tagged = ids(zd.search(type="ticket", tags="double_charge"))
    assert tagged == {DOUBLE["ticket"]}
    assert DOUBLE["ticket"] not in ids(zd.search("-tags:double_charge", type="ticket"))


def test_subject_words_and_plain_text(zd):
    assert ids(zd.search(type="ticket", subject="Charged twice")) == {DOUBLE["ticket"]}
    assert BUG["ticket"] in ids(zd.search(BUG["error_code"], type="ticket"))  # a word of the first comment


def test_user_search_by_email(zd):
    results = list(zd.search(type="user", email=BUG["customer_email"]))
    assert [(r.id, r.email) for r in results] == [(BUG["requester"], BUG["customer_email"])]


def test_results_carry_result_type_and_page(desk_http):
    first = desk_http("GET", "/api/v2/search.json", params={"query": "type:ticket", "per_page": 10}).json()
    assert first["count"] == len(TICKETS) and len(first["results"]) == 10
    assert {r["result_type"] for r in first["results"]} == {"ticket"}
    assert first["next_page"] and first["facets"] is None
    stamps = [r["updated_at"] for r in first["results"]]
    assert stamps == sorted(stamps, reverse=True)  # newest first by default
    second = desk_http("GET", first["next_page"]).json()
    assert not ids_of(first) & ids_of(second)
    count = desk_http("GET", "/api/v2/search/count.json", params={"query": "type:ticket status:new"}).json()
    assert count == {"count": sum(t.status == "new" for t in TICKETS)}


def ids_of(page: dict) -> set[int]:
    return {r["id"] for r in page["results"]}


def test_zenpy_iterates_all_search_pages(zd, desk_http):
    # zenpy cannot choose a search page size: make more users than one page (100) holds.
    for n in range(50):
        user = {"user": {"name": f"Load Tester {n}", "email": f"load{n}@example.org"}}
        assert desk_http("POST", "/api/v2/users.json", json=user).status_code == 201
    first = desk_http("GET", "/api/v2/search.json", params={"query": "type:user"}).json()
    assert first["count"] > 100 and first["next_page"]
    found = [r.id for r in zd.search(type="user")]
    assert len(found) == len(set(found)) == first["count"]


def test_bad_queries_are_400s(desk_http):
    for params in ({"query": ""}, {"query": "type:spaceship"}, {"query": "created>yesterdayish"},
                   {"query": "type:ticket", "sort_by": "mood"}):
        response = desk_http("GET", "/api/v2/search.json", params=params)
        assert response.status_code == 400, params
        assert set(response.json()) == {"error", "description"}
