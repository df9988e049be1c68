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


def test_unauthenticated_pages_redirect_to_the_login_form(desk):
    response = requests.get(f"{desk.url}/agent/tickets", allow_redirects=False, timeout=30)
    assert response.status_code == 302 and response.headers["Location"] == "/agent/login"
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
    assert forged.get(f"{desk.url}/agent/tickets", allow_redirects=False, timeout=30).status_code == 302


def test_ticket_table_lists_and_filters_by_status(desk, desk_episode):
    browser = signed_in(desk, desk_episode)
    page = browser.get(f"{desk.url}/agent/tickets", timeout=30)
    assert page.status_code == 200 and f'id="ticket-row-{DOUBLE["ticket"]}"' in page.text
    assert 'id="signed-in-as"' in page.text and AGENT_EMAIL in page.text
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
    response = browser.post(url, data={"body": "Checked: refund already issued.", "internal": "on",
                                       "status": "pending"}, allow_redirects=False, timeout=30)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/agent/tickets/{INQUIRY['ticket']}")
    ticket = desk_http("GET", f"/api/v2/tickets/{INQUIRY['ticket']}.json").json()["ticket"]
    assert ticket["status"] == "pending"
    last = desk_http("GET", f"/api/v2/tickets/{INQUIRY['ticket']}/comments.json").json()["comments"][-1]
    assert (last["public"], last["author_id"], last["body"]) == (False, AGENT_ID, "Checked: refund already issued.")
    assert last["via"]["channel"] == "web"
    solved = browser.post(url, data={"body": "Your refund went out on the 3rd.", "status": "pending",
                                     "submit_as": "solved"}, timeout=30)
    assert solved.status_code == 200 and 'id="ticket-status">solved<' in solved.text
    with desk.ledger(desk_episode) as ledger:
        changes = [c for c in ledger.state_changes() if c["tbl"] in ("tickets", "comments")]
        exchanges = {e["id"]: e for e in ledger.exchanges()}
    assert [c["after"]["public"] for c in changes if c["tbl"] == "comments"] == [0, 1]
    assert {exchanges[c["exchange_id"]]["path"] for c in changes} == {f"/agent/tickets/{INQUIRY['ticket']}"}


def test_bad_form_input_is_a_400_page_never_a_500(desk, desk_episode):
    browser = signed_in(desk, desk_episode)
    url = f"{desk.url}/agent/tickets/{DOUBLE['ticket']}"
    bad_status = browser.post(url, data={"body": "x", "status": "deleted"}, timeout=30)
    assert bad_status.status_code == 400 and 'id="error-message"' in bad_status.text
    empty_note = browser.post(url, data={"body": "  ", "internal": "on"}, timeout=30)
    assert empty_note.status_code == 400 and "needs some text" in empty_note.text
    missing = browser.get(f"{desk.url}/agent/tickets/999999", timeout=30)
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("text/html")


def test_sign_out_ends_the_session(desk, desk_episode):
    browser = signed_in(desk, desk_episode)
    assert browser.post(f"{desk.url}/agent/logout", allow_redirects=False, timeout=30).status_code == 303
    assert browser.get(f"{desk.url}/agent/tickets", allow_redirects=False, timeout=30).status_code == 302
