"""Signing in to the payments dashboard: the episode's key, the session cookie, `next`, CSRF, and the
wall between the dashboard host and the API host."""

from __future__ import annotations

import pytest

from tests.services import payments_web_fixtures as fx
from tests.services.payments_web_fixtures import API, DASHBOARD, hidden

dashboard, dash_episode = fx.dashboard, fx.dash_episode


def test_pages_need_a_session_and_remember_where_the_agent_was_going(dashboard):
    answer = dashboard.browser().get("/test/payments?q=refunded&page=2", base_url=DASHBOARD)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/login?next=%2Ftest%2Fpayments%3Fq%3Drefunded%26page%3D2"
    form = dashboard.browser().get("/login?next=/test/customers", base_url=DASHBOARD)
    assert form.status_code == 200 and form.mimetype == "text/html"
    for element in ('id="login-form"', 'id="api-token"', 'id="sign-in"', '<link rel="icon" href="data:,">',
                    'name="next" value="/test/customers"'):
        assert element in form.text
    assert "<script" not in form.text


def test_sign_in_with_the_episode_key_goes_to_next(dashboard, dash_episode):
    browser = dashboard.browser()
    answer = browser.post("/login", base_url=DASHBOARD,
                          data={"api_token": dash_episode.api_keys["payments"], "next": "/test/customers?q=moore"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/test/customers?q=moore"
    page = browser.get("/test/customers", base_url=DASHBOARD).text
    key = dash_episode.api_keys["payments"]
    assert f'id="actor">{fx.FACTS["company"]["name"]} · Test mode<' in page and 'aria-label="Main"' in page
    assert key not in page
    with dashboard.ledger(dash_episode) as ledger:
        sign_in = ledger.exchanges()[0]
    assert (sign_in["method"], sign_in["path"], sign_in["host"]) == ("POST", "/login", "dashboard.stripe.com")
    assert key.encode() not in bytes(sign_in["request_body"])  # the ledger redacts the typed key


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x",
                                    "/test/payments\r\nSet-Cookie: x=1"])
def test_next_never_leaves_the_dashboard(dashboard, dash_episode, target):
    answer = dashboard.browser().post("/login", base_url=DASHBOARD,
                                      data={"api_token": dash_episode.api_keys["payments"], "next": target})
    assert answer.status_code == 303 and answer.headers["Location"] == "/test/payments"


def test_wrong_or_missing_key_is_a_401_page(dashboard):
    wrong = dashboard.browser().post("/login", data={"api_token": "sk_test_wrongwrongwrong"}, base_url=DASHBOARD)
    assert wrong.status_code == 401 and 'id="login-error"' in wrong.text
    assert "sk_test_****rong" in wrong.text and "wrongwrongwrong" not in wrong.text
    empty = dashboard.browser().post("/login", data={"api_token": ""}, base_url=DASHBOARD)
    assert empty.status_code == 401 and "Enter your secret API key" in empty.text
    forged = dashboard.browser()
    forged.set_cookie("__stripe_dashboard_session", "not-signed", domain="dashboard.stripe.com")
    assert forged.get("/test/payments", base_url=DASHBOARD).status_code == 303


def test_a_form_posted_without_a_session_comes_back_to_its_page_after_sign_in(dashboard, dash_episode):
    charge = fx.DOUBLE["duplicate_charge"]
    lost = dashboard.browser().post(f"/test/payments/{charge}/refund", data={"reason": "duplicate"},
                                    base_url=DASHBOARD)
    assert lost.status_code == 303 and lost.headers["Location"] == f"/login?next=%2Ftest%2Fpayments%2F{charge}%2Frefund"
    browser = dashboard.browser()
    back = browser.post("/login", base_url=DASHBOARD, data={"api_token": dash_episode.api_keys["payments"],
                                                            "next": f"/test/payments/{charge}/refund"})
    landing = browser.get(back.headers["Location"], base_url=DASHBOARD)
    assert landing.status_code == 303 and landing.headers["Location"] == f"/test/payments/{charge}"


def test_a_finished_episode_signs_the_browser_out(dashboard):
    episode = dashboard.episode()
    browser = dashboard.signed_in(episode)
    dashboard.store.finish(episode.id)
    answer = browser.get("/test/payments", base_url=DASHBOARD)
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/login?next=")
    again = browser.post("/login", data={"api_token": episode.api_keys["payments"]}, base_url=DASHBOARD)
    assert again.status_code == 401 and "This sandbox episode is finished" in again.text


def test_posts_without_the_session_csrf_token_are_refused(dashboard, dash_episode):
    browser = dashboard.signed_in(dash_episode)
    charge = fx.DOUBLE["duplicate_charge"]
    cross_site = browser.post(f"/test/payments/{charge}/refund", data={"reason": "duplicate"}, base_url=DASHBOARD)
    assert cross_site.status_code == 403 and "CSRF" in cross_site.text
    forged = browser.post(f"/test/payments/{charge}/refund", base_url=DASHBOARD,
                          data={"reason": "duplicate", "csrf_token": "0" * 40})
    assert forged.status_code == 403
    with dashboard.ledger(dash_episode) as ledger:
        assert [c for c in ledger.state_changes() if c["tbl"] == "refunds"] == []
    # Sign-out is a form too: with the page's token it ends the session.
    token = hidden(browser.get("/test/payments", base_url=DASHBOARD).text, "csrf_token")
    assert browser.post("/logout", data={"csrf_token": token}, base_url=DASHBOARD).status_code == 303
    assert browser.get("/test/payments", base_url=DASHBOARD).status_code == 303


def test_pages_and_api_each_answer_only_on_their_own_host(dashboard, dash_episode):
    key = dash_episode.api_keys["payments"]
    bearer = {"Authorization": f"Bearer {key}"}
    api = dashboard.browser()
    assert api.get("/v1/charges?limit=1", headers=bearer, base_url=API).status_code == 200
    page_on_api = api.get("/test/payments", headers=bearer, base_url=API)
    assert page_on_api.status_code == 404
    assert page_on_api.json["error"]["message"].startswith("Unrecognized request URL")
    assert api.get("/login", base_url=API).status_code == 401  # the API's answer to a keyless call
    browser = dashboard.signed_in(dash_episode)
    api_on_dashboard = browser.get("/v1/charges", base_url=DASHBOARD)
    assert api_on_dashboard.status_code == 404 and api_on_dashboard.mimetype == "text/html"
    assert browser.get("/", base_url=DASHBOARD).headers["Location"] == "/test/payments"
