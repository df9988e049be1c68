"""The agent UI with plain requests, as a browser would use it: sign in, read the queue, reply
with an internal note, change a status; the API and the ledger see the same writes."""

from __future__ import annotations

import html
import re

import requests

from tests.services import helpdesk_fixtures as fx
from tests.services.helpdesk_fixtures import AGENT_EMAIL, AGENT_ID, FACTS

# The module's fixtures (pytest finds them by name here).
desk, desk_episode, desk_http, zd = fx.desk, fx.desk_episode, fx.desk_http, fx.zd

DOUBLE = FACTS["double_charge_ticket"]
INQUIRY = FACTS["refund_inquiry"]


def signed_in(desk, episode) -> requests.Session:
    browser = requests.Session()
    response = browser.post(f"{desk.url}/agent/login", data={"email": AGENT_EMAIL, "api_token": desk.key(episode)},
                            allow_redirects=False, timeout=30)
    assert response.status_code == 303 and response.headers["Location"] == "/agent/tickets"
    assert "_zendesk_session" in browser.cookies
    return browser


def csrf_of(browser: requests.Session, url: str) -> str:
    """The hidden csrf_token of the form on the page at `url`."""
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', browser.get(url, timeout=30).text).group(1)


def test_unauthenticated_pages_redirect_to_the_login_form(desk):
    response = requests.get(f"{desk.url}/agent/tickets?q=refund&page=2", allow_redirects=False, timeout=30)
    assert response.status_code == 303
    assert response.headers["Location"] == "/agent/login?next=%2Fagent%2Ftickets%3Fq%3Drefund%26page%3D2"
    form = requests.get(f"{desk.url}/agent/login", timeout=30)
    assert form.status_code == 200 and form.headers["Content-Type"].startswith("text/html")
    for element in ('id="email"', 'id="api-token"', 'id="sign-in"'):
        assert element in form.text


def test_wrong_token_or_non_agent_email_is_refused(desk, desk_episode):
    wrong = requests.post(f"{desk.url}/agent/login", data={"email": AGENT_EMAIL, "api_token": "zdt_nope"}, timeout=30)
    assert wrong.status_code == 401 and "Invalid email or API token." in wrong.text
    requester = FACTS["bug_report"]["customer_email"]
    customer = requests.post(f"{desk.url}/agent/login", timeout=30,
                             data={"email": requester, "api_token": desk.key(desk_episode)})
    assert customer.status_code == 401 and 'id="login-error"' in customer.text
    forged = requests.Session()
    forged.cookies.set("_zendesk_session", "not-signed")
    assert forged.get(f"{desk.url}/agent/tickets", allow_redirects=False, timeout=30).status_code == 303


def test_ticket_table_lists_and_filters_by_status(desk, desk_episode):
    browser = signed_in(desk, desk_episode)
    page = browser.get(f"{desk.url}/agent/tickets", timeout=30)
    assert page.status_code == 200 and f'id="ticket-row-{DOUBLE["ticket"]}"' in page.text
    assert 'id="actor"' in page.text and AGENT_EMAIL in page.text and 'nav aria-label="Main"' in page.text
    assert '<link rel="icon" href="data:,">' in page.text and "<script" not in page.text
    new_only = browser.get(f"{desk.url}/agent/tickets?status=new", timeout=30).text
    statuses = set(re.findall(r'data-status="(\w+)"', new_only))
    assert statuses == {"new"}
    assert f'id="ticket-row-{INQUIRY["ticket"]}"' not in new_only  # an open ticket
    bad = browser.get(f"{desk.url}/agent/tickets?status=bogus", timeout=30)
    assert bad.status_code == 400 and "Unknown status 'bogus'" in html.unescape(bad.text)


def test_ticket_page_marks_internal_notes(desk, desk_episode):
    page = signed_in(desk, desk_episode).get(f"{desk.url}/agent/tickets/{DOUBLE['ticket']}", timeout=30).text
    for element in ('id="reply-body"', 'id="internal-note"', 'id="status-select"', 'id="submit-reply"',
                    ">Internal note</label>", ">Submit as Open</button>", ">Submit as Solved</button>"):
        assert element in page
    notes = re.findall(r'<li class="comment internal"[^>]*data-public="false"', page)
    assert len(notes) == 1 and 'class="internal-badge">Internal note</span>' in page
    assert DOUBLE["fingerprint"] in page  # agents see the note; it is marked, not hidden


def test_internal_note_and_status_change_through_the_form(desk, desk_episode, desk_http):
    browser = signed_in(desk, desk_episode)
    url = f"{desk.url}/agent/tickets/{INQUIRY['ticket']}"
    token = csrf_of(browser, url)
    response = browser.post(url, data={"body": "Checked: refund already issued.", "internal": "on",
                                       "status": "pending", "csrf_token": token}, allow_redirects=False, timeout=30)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/agent/tickets/{INQUIRY['ticket']}")
    ticket = desk_http("GET", f"/api/v2/tickets/{INQUIRY['ticket']}.json").json()["ticket"]
    assert ticket["status"] == "pending"
    last = desk_http("GET", f"/api/v2/tickets/{INQUIRY['ticket']}/comments.json").json()["comments"][-1]
    assert (last["public"], last["author_id"], last["body"]) == (False, AGENT_ID, "Checked: refund already issued.")
    assert last["via"]["channel"] == "web"
    solved = browser.post(url, data={"body": "Your refund went out on the 3rd.", "status": "pending",
                                     "submit_as": "solved", "csrf_token": token}, timeout=30)
    assert solved.status_code == 200 and 'id="ticket-status" data-field="status">solved<' in solved.text
    with desk.ledger(desk_episode) as ledger:
        changes = [c for c in ledger.state_changes() if c["tbl"] in ("tickets", "comments")]
        exchanges = {e["id"]: e for e in ledger.exchanges()}
    assert [c["after"]["public"] for c in changes if c["tbl"] == "comments"] == [0, 1]
    assert {exchanges[c["exchange_id"]]["path"] for c in changes} == {f"/agent/tickets/{INQUIRY['ticket']}"}


def test_bad_form_input_is_the_form_again_with_the_error_never_a_500(desk, desk_episode):
    browser = signed_in(desk, desk_episode)
    url = f"{desk.url}/agent/tickets/{DOUBLE['ticket']}"
    token = csrf_of(browser, url)
    bad_status = browser.post(url, data={"body": "kept text", "status": "deleted", "csrf_token": token}, timeout=30)
    assert bad_status.status_code == 400 and 'id="form-error" role="alert"' in bad_status.text
    assert ">kept text</textarea>" in bad_status.text
    empty_note = browser.post(url, data={"body": "  ", "internal": "on", "csrf_token": token}, timeout=30)
    assert empty_note.status_code == 400 and "needs some text" in empty_note.text
    missing = browser.get(f"{desk.url}/agent/tickets/999999", timeout=30)
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("text/html")


def test_sign_out_ends_the_session(desk, desk_episode):
    browser = signed_in(desk, desk_episode)
    token = csrf_of(browser, f"{desk.url}/agent/tickets")
    assert browser.post(f"{desk.url}/agent/logout", data={"csrf_token": token}, allow_redirects=False,
                        timeout=30).status_code == 303
    assert browser.get(f"{desk.url}/agent/tickets", allow_redirects=False, timeout=30).status_code == 303


def test_a_post_without_the_sessions_csrf_token_is_refused_and_writes_nothing(desk, desk_episode, desk_http):
    browser = signed_in(desk, desk_episode)
    url = f"{desk.url}/agent/tickets/{DOUBLE['ticket']}"
    before = desk_http("GET", f"/api/v2/tickets/{DOUBLE['ticket']}/comments.json").json()["count"]
    for data in ({"body": "forged"}, {"body": "forged", "csrf_token": "0" * 64}):
        refused = browser.post(url, data=data, allow_redirects=False, timeout=30)
        assert refused.status_code == 403 and 'id="error-message"' in refused.text
    other = signed_in(desk, desk.episode())  # another session's token does not fit this one
    assert browser.post(url, data={"body": "x", "csrf_token": csrf_of(other, url)},
                        allow_redirects=False, timeout=30).status_code == 403
    assert desk_http("GET", f"/api/v2/tickets/{DOUBLE['ticket']}/comments.json").json()["count"] == before


def test_sign_in_goes_to_next_when_it_is_a_local_path_only(desk, desk_episode):
    form = requests.get(f"{desk.url}/agent/login?next=/agent/tickets/{DOUBLE['ticket']}", timeout=30).text
    assert f'name="next" id="next" value="/agent/tickets/{DOUBLE["ticket"]}"' in form
    for wanted, landed in ((f"/agent/tickets/{DOUBLE['ticket']}?x=1", f"/agent/tickets/{DOUBLE['ticket']}?x=1"),
                           ("https://evil.example/", "/agent/tickets"), ("//evil.example/x", "/agent/tickets"),
                           ("", "/agent/tickets")):
        response = requests.post(f"{desk.url}/agent/login", allow_redirects=False, timeout=30, data={
            "email": AGENT_EMAIL, "api_token": desk.key(desk_episode), "next": wanted})
        assert response.status_code == 303 and response.headers["Location"] == landed


def test_search_and_paging_follow_the_pager(desk, desk_episode, desk_http):
    browser = signed_in(desk, desk_episode)
    total = desk_http("GET", "/api/v2/tickets.json?per_page=100").json()["count"]
    seen, url, pages = [], f"{desk.url}/agent/tickets?per_page=3", 0
    while url:
        page = browser.get(url, timeout=30).text
        rows = re.findall(r'<tr data-id="(\d+)"', page)
        assert 0 < len(rows) <= 3 and f"Showing {len(seen) + 1}–{len(seen) + len(rows)} of {total}" in page
        seen += rows
        found = re.search(r'<a id="next-page" rel="next" href="([^"]+)"', page)
        url = desk.url + html.unescape(found.group(1)) if found else None
        pages += 1
    assert len(seen) == len(set(seen)) == total and pages == -(-total // 3)
    assert 'id="prev-page"' in page and 'id="next-page"' not in page
    word = desk_http("GET", f"/api/v2/tickets/{DOUBLE['ticket']}.json").json()["ticket"]["subject"].split()[0]
    found = browser.get(f"{desk.url}/agent/tickets", params={"q": word}, timeout=30).text
    assert f'<tr data-id="{DOUBLE["ticket"]}"' in found and "matching" in found
    by_id = browser.get(f"{desk.url}/agent/tickets", params={"q": f"#{DOUBLE['ticket']}"}, timeout=30).text
    assert re.findall(r'<tr data-id="(\d+)"', by_id) == [str(DOUBLE["ticket"])]
    assert "Showing 0–0" in browser.get(f"{desk.url}/agent/tickets", params={"q": "#²"}, timeout=30).text
    none = browser.get(f"{desk.url}/agent/tickets", params={"q": "zzqx-nothing"}, timeout=30).text
    assert 'id="empty-state"' in none and "Showing 0–0 of 0" in none
    for bad in ("per_page=0", "per_page=101", "page=x", "page=²", "page=99999999999999999999"):
        refused = browser.get(f"{desk.url}/agent/tickets?{bad}", timeout=30)
        assert refused.status_code == 400 and bad.split("=")[0] in refused.text
