"""Zendesk's protocol around the resources: auth, the account's subdomain, response headers,
error bodies for every kind of bad input, pagination parameters, OpenAPI, health."""

from __future__ import annotations

import json

import pytest
import requests
from zenpy import Zenpy
from zenpy.lib.exception import APIException

from sandbox.clock import stable_number
from sandbox.home import proxy_secret
from services.common.binding import EPISODE_HEADER, SECRET_HEADER
from services.common.openapi import vendor_rules
from services.helpdesk import SERVICE, create_app
from services.helpdesk.openapi import API
from tests.services import helpdesk_fixtures as fx
from tests.services.conftest import serve_app
from tests.services.helpdesk_fixtures import AGENT_EMAIL, FACTS, SUBDOMAIN, WORLD

# The module's fixtures (pytest finds them by name here).
desk, desk_episode, desk_http, zd = fx.desk, fx.desk_episode, fx.desk_http, fx.zd

AUTH_FAILED = {"error": "Couldn't authenticate you"}
NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}
TICKET = FACTS["double_charge_ticket"]["ticket"]


# -- auth ---------------------------------------------------------------------------------------


def test_missing_wrong_and_password_credentials_are_401(desk, desk_episode, desk_http):
    key = desk.key(desk_episode)
    cases = [
        {},
        {"auth": (f"{AGENT_EMAIL}/token", "zdt_wrong")},
        {"auth": (AGENT_EMAIL, key)},  # a password login: Zendesk no longer takes passwords
        {"auth": (f"{FACTS['bug_report']['customer_email']}/token", key)},  # an end-user, not an agent
        {"auth": ("nobody@nowhere.example/token", key)},
        {"headers": {"Authorization": "Token abc"}},
    ]
    for case in cases:
        response = requests.get(f"{desk.url}/api/v2/tickets.json", timeout=30, **case)
        assert response.status_code == 401, case
        assert response.json() == AUTH_FAILED
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Web Password"'


def test_bearer_token_and_other_agents_emails_are_accepted(desk, desk_episode):
    key = desk.key(desk_episode)
    bearer = requests.get(f"{desk.url}/api/v2/users/me.json", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert bearer.json()["user"]["email"] == AGENT_EMAIL
    colleague = WORLD.staff[1]
    as_colleague = requests.get(f"{desk.url}/api/v2/users/me.json", auth=(f"{colleague.email}/token", key), timeout=30)
    assert as_colleague.json()["user"]["id"] == colleague.helpdesk_id


def test_finished_episode_is_refused(desk, monkeypatch):
    episode = desk.episode()
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", desk.netloc)
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    client = Zenpy(subdomain=SUBDOMAIN, email=AGENT_EMAIL, token=desk.key(episode), disable_cache=True)
    assert client.users.me().email == AGENT_EMAIL
    desk.store.finish(episode.id)
    with pytest.raises(APIException) as err:
        client.users.me()
    assert err.value.response.status_code == 401 and err.value.response.json() == AUTH_FAILED


def test_forged_proxy_headers_do_not_switch_episodes(desk, desk_episode, desk_http):
    other = desk.episode()
    headers = {EPISODE_HEADER: desk_episode.id, SECRET_HEADER: proxy_secret(desk.home)}
    response = requests.get(f"{desk.url}/api/v2/tickets.json", headers=headers,
                            auth=(f"{AGENT_EMAIL}/token", desk.key(other)), timeout=30)
    assert response.status_code == 401


def test_only_the_worlds_subdomain_is_an_account(desk_http):
    ours = desk_http("GET", "/api/v2/users/me.json", headers={"Host": f"{SUBDOMAIN}.zendesk.com"})
    assert ours.status_code == 200
    assert ours.json()["user"]["url"] == f"https://{SUBDOMAIN}.zendesk.com/api/v2/users/{ours.json()['user']['id']}.json"
    other = desk_http("GET", "/api/v2/users/me.json", headers={"Host": "someone-else.zendesk.com"})
    assert other.status_code == 404 and other.json()["error"] == "RecordNotFound"


# -- headers ------------------------------------------------------------------------------------


def test_request_id_and_rate_limit_headers_on_every_answer(desk, desk_episode, desk_http):
    ok = desk_http("GET", "/api/v2/tickets.json")
    missing = desk_http("GET", "/api/v2/tickets/1.json")
    unauth = desk_http("GET", "/api/v2/tickets.json", auth=False)
    for response in (ok, missing, unauth):
        assert len(response.headers["X-Zendesk-Request-Id"]) == 16
        assert response.headers["X-Rate-Limit"] == "700" and response.headers["ratelimit-limit"] == "700"
        assert int(response.headers["X-Rate-Limit-Remaining"]) < 700
        assert 0 < int(response.headers["ratelimit-reset"]) <= 60
    assert ok.headers["X-Zendesk-Request-Id"] != missing.headers["X-Zendesk-Request-Id"]
    # Derived from the episode and the exchange (the first of this episode), never random.
    expected = stable_number("zendesk-request", desk_episode.id, 1, low=16**15, high=16**16)
    assert ok.headers["X-Zendesk-Request-Id"] == format(expected, "x")


def test_vendor_error_and_rate_limit_hooks():
    headers, body = SERVICE.vendor_error(429, "")
    assert headers["Retry-After"] == "60" and json.loads(body)["error"] == "APIRateLimitExceeded"
    assert json.loads(SERVICE.vendor_error(404, "")[1]) == NOT_FOUND
    assert json.loads(SERVICE.vendor_error(401, "")[1]) == AUTH_FAILED
    assert json.loads(SERVICE.vendor_error(503, "down")[1]) == {"error": "ServiceUnavailable", "description": "down"}
    assert SERVICE.rate_limit_headers(7)["Retry-After"] == "7"
    assert SERVICE.rate_limit_headers(7)["X-Rate-Limit-Remaining"] == "0"


# -- bad input, per kind ------------------------------------------------------------------------


def test_routing_errors(desk_http):
    assert desk_http("GET", "/api/v2/nope.json").json() == {"error": "InvalidEndpoint", "description": "Not found"}
    wrong_method = desk_http("PATCH", "/api/v2/tickets.json")
    assert wrong_method.status_code == 404 and wrong_method.json()["error"] == "InvalidEndpoint"
    assert desk_http("GET", "/api/v2/tickets/999999.json").json() == NOT_FOUND
    assert desk_http("GET", "/api/v2/users/999999/tickets/requested.json").json() == NOT_FOUND


def test_malformed_bodies_are_400(desk_http):
    for body in ("{not json", "[1, 2]", "", '"ticket"'):
        response = desk_http("POST", "/api/v2/tickets.json", data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, body
        assert response.json() == {"error": "Unprocessable Entity", "description": "Server could not parse JSON"}
    no_root = desk_http("PUT", f"/api/v2/tickets/{TICKET}.json", json={"status": "open"})
    assert no_root.status_code == 400 and "'ticket'" in no_root.json()["description"]


def test_wrong_types_and_values_are_422_per_field(desk_http):
    response = desk_http("PUT", f"/api/v2/tickets/{TICKET}.json", json={"ticket": {
        "status": "exploded", "priority": 3, "assignee_id": "someone", "tags": {"a": 1}, "subject": ["x"]}})
    assert response.status_code == 422
    body = response.json()
    assert (body["error"], body["description"]) == ("RecordInvalid", "Record validation errors")
    assert set(body["details"]) == {"status", "priority", "assignee_id", "tags", "subject"}
    assert body["details"]["status"][0] == {
        "description": "Status: 'exploded' is not valid (one of new, open, pending, hold, solved, closed)",
        "error": "InvalidValue",
    }
    blank = desk_http("POST", "/api/v2/tickets.json", json={"ticket": {"subject": "no description"}})
    assert blank.status_code == 422 and blank.json()["details"]["description"][0]["error"] == "BlankValue"
    empty_comment = desk_http("PUT", f"/api/v2/tickets/{TICKET}.json", json={"ticket": {"comment": {"body": " "}}})
    assert empty_comment.status_code == 422 and "comment" in empty_comment.json()["details"]
    end_user = FACTS["bug_report"]["requester"]
    not_agent = desk_http("PUT", f"/api/v2/tickets/{TICKET}.json", json={"ticket": {"assignee_id": end_user}})
    assert not_agent.status_code == 422
    assert "is not an agent" in not_agent.json()["details"]["assignee_id"][0]["description"]
    back_to_new = desk_http("PUT", f"/api/v2/tickets/{FACTS['refund_inquiry']['ticket']}.json",
                            json={"ticket": {"status": "new"}})
    assert back_to_new.status_code == 422
    bad_tags = desk_http("PUT", f"/api/v2/tickets/{TICKET}/tags.json", json={"tags": 5})
    assert bad_tags.status_code == 422 and "tags" in bad_tags.json()["details"]


def test_a_refused_write_changes_nothing(desk, desk_episode, desk_http):
    before = desk_http("GET", f"/api/v2/tickets/{TICKET}.json").json()["ticket"]
    response = desk_http("PUT", f"/api/v2/tickets/{TICKET}.json",
                         json={"ticket": {"status": "open", "assignee_id": 1, "comment": {"body": "hi"}}})
    assert response.status_code == 422
    assert desk_http("GET", f"/api/v2/tickets/{TICKET}.json").json()["ticket"] == before
    with desk.ledger(desk_episode) as ledger:
        assert ledger.state_changes() == []


def test_bad_pagination_and_list_parameters_are_400(desk_http):
    cases = ["/api/v2/tickets.json?page[size]=101", "/api/v2/tickets.json?page=abc", "/api/v2/tickets.json?per_page=0",
             "/api/v2/tickets.json?page[size]=5&page[after]=garbage", "/api/v2/tickets.json?sort_by=mood",
             "/api/v2/tickets.json?page[size]=5&sort=mood", "/api/v2/tickets/show_many.json?ids=1,x",
             "/api/v2/users/search.json"]
    for path in cases:
        response = desk_http("GET", path)
        assert response.status_code == 400, path
        assert set(response.json()) == {"error", "description"}, path
    capped = desk_http("GET", "/api/v2/tickets.json?per_page=1000").json()
    assert len(capped["tickets"]) == capped["count"]  # per_page above 100 is capped, not refused


def test_body_over_the_limit_is_413(desk_http):
    response = desk_http("POST", "/api/v2/tickets.json", data=b"x" * (1024 * 1024 + 1),
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "RequestTooLarge"


def test_a_bug_is_a_zendesk_shaped_500(desk, desk_episode):
    app = create_app({"home": desk.home})

    @app.get("/api/v2/boom.json")
    def boom() -> None:
        raise RuntimeError("boom")

    url, stop = serve_app(app)
    try:
        response = desk.session(desk_episode).get(f"{url}/api/v2/boom.json", timeout=30)
    finally:
        stop()
    assert response.status_code == 500
    assert response.json() == {"error": "InternalServerError",
                               "description": "An unknown error occurred in the helpdesk sandbox (RuntimeError)."}


# -- sandbox routes -----------------------------------------------------------------------------


def test_openapi_lists_exactly_the_served_routes(desk):
    document = requests.get(f"{desk.url}/_sandbox/openapi.json", timeout=30).json()
    served = {(path, method.lower()) for path, method, _ in vendor_rules(create_app({"home": desk.home}), API)}
    listed = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert listed == served
    assert ("/api/v2/tickets/{ticket_id}.json", "put") in listed and ("/api/v2/search.json", "get") in listed
    assert requests.get(f"{desk.url}/_sandbox/health", timeout=30).json() == {"ok": True, "service": "helpdesk"}


def test_agent_env_and_auth_headers_describe_the_account(desk, desk_episode):
    env = SERVICE.agent_env(WORLD)
    assert env == {"ZENDESK_SUBDOMAIN": SUBDOMAIN, "ZENDESK_EMAIL": AGENT_EMAIL,
                   "ZENDESK_URL": f"https://{SUBDOMAIN}.zendesk.com"}
    headers = SERVICE.auth_headers(desk.key(desk_episode), WORLD)
    assert requests.get(desk.url + SERVICE.probe, headers=headers, timeout=30).status_code == 200
    assert desk.key(desk_episode).startswith(SERVICE.key_prefix)
