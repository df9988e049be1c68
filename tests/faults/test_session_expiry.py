"""session_expired's pieces: where the form was, the sign-in URL with ?next=, which cookies end."""

from __future__ import annotations

from sandbox.faults.session_expiry import cookie_names, expired_cookies, form_page, login_location


def test_the_form_page_is_the_referer_on_the_same_host_else_the_post_path():
    host = "acme.zendesk.com"
    assert form_page("/agent/tickets/7", "https://acme.zendesk.com/agent/tickets/7?notice=x", host) == \
        "/agent/tickets/7?notice=x"
    assert form_page("/agent/tickets/7", "https://evil.example/agent/x", host) == "/agent/tickets/7"
    assert form_page("/agent/tickets/7", None, host) == "/agent/tickets/7"


def test_login_location_carries_next_quoted():
    assert login_location("https://a.zendesk.com/agent/login", "/agent/tickets/7?x=1&y=2") == \
        "https://a.zendesk.com/agent/login?next=/agent/tickets/7%3Fx%3D1%26y%3D2"
    assert login_location("https://h/login?src=x", "/p") == "https://h/login?src=x&next=/p"


def test_every_cookie_but_the_consent_choice_is_expired():
    names = cookie_names("_zendesk_session=abc; sandbox_consent=accept.ep; other=1; other=2")
    assert names == ["_zendesk_session", "other"]
    assert expired_cookies(["s"]) == ["s=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly"]
