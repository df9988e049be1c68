"""The proxy's web fault actions on mitmproxy flows in-process: page_size rewrites a list read's
per_page, session_expired answers a form post itself (303 to the sign-in page, cookies expired),
and each says in its fault row what it did or why it did nothing."""

from __future__ import annotations

from mitmproxy.test import tflow

from sandbox.faults.engine import Firing
from sandbox.faults.validate import parse_profile
from sandbox.proxy.faults import FAULTS, _page_size, _session_expired
from sandbox.world import world

HOST = world(7).org.helpdesk_host  # type: ignore[union-attr]


def firing(action: dict, method: str) -> Firing:
    rule = parse_profile({"name": "p", "seed": 1, "rules": [
        {"name": "r", "match": {"method": method}, "action": action}]}, "p.yaml").rules[0]
    return Firing(rule, 1, (1, 7))


def flow(method: str, path: str, headers: dict[str, str] | None = None):
    made = tflow.tflow()
    made.request.method, made.request.host, made.request.path = method, HOST, path
    made.request.headers.update(headers or {})
    return made


def test_page_size_sets_per_page_on_reads_only():
    read = flow("GET", "/agent/tickets?q=refund&per_page=25")
    _page_size(read, firing({"kind": "page_size", "per_page": 2}, "GET"))
    assert read.request.path == "/agent/tickets?q=refund&per_page=2"
    assert read.metadata[FAULTS][0]["detail"]["asked"] == "25"
    post = flow("POST", "/agent/tickets?per_page=25")
    _page_size(post, firing({"kind": "page_size", "per_page": 2}, "GET"))
    assert post.request.path == "/agent/tickets?per_page=25"
    assert post.metadata[FAULTS][0]["detail"]["did"].startswith("nothing")


def test_session_expired_sends_the_form_to_sign_in_and_ends_the_session_cookie():
    post = flow("POST", "/agent/tickets/7", {"referer": f"https://{HOST}/agent/tickets/7?notice=updated",
                                            "cookie": "_zendesk_session=abc; sandbox_consent=accept.e"})
    answer = _session_expired(post, firing({"kind": "session_expired"}, "POST"), "helpdesk", 7)
    location = f"https://{HOST}/agent/login?next=/agent/tickets/7%3Fnotice%3Dupdated"
    assert answer.status_code == 303 and answer.headers["location"] == location
    assert answer.headers.get_all("set-cookie") == [
        "_zendesk_session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly"]
    detail = post.metadata[FAULTS][0]["detail"]
    assert detail["cookies_expired"] == ["_zendesk_session"] and "nothing was written" in detail["did"]


def test_session_expired_without_a_sign_in_page_is_the_vendors_401():
    post = flow("POST", "/v1/refunds")
    answer = _session_expired(post, firing({"kind": "session_expired"}, "POST"), None, 7)
    assert answer.status_code == 401 and "no sign-in page" in post.metadata[FAULTS][0]["detail"]["did"]
