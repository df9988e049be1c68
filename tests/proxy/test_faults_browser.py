"""UI nuisance in a real browser: headless Chromium (Debian's, driven by Playwright) signs in to
the helpdesk's agent UI through the real proxy, and the renamed button, the hidden field and the
interstitial really change the page it renders, compared with the same page without faults."""

from __future__ import annotations

import pytest

from sandbox.episodes.store import Episode
from sandbox.world import world
from services.helpdesk.seed import agent_email

pytestmark = pytest.mark.slow

W = world(7)
TICKET = W.facts["double_charge_ticket"]["ticket"]
HOST = W.org.helpdesk_host  # type: ignore[union-attr]

PROFILE = """name: ui
seed: 1
rules:
  - name: notice
    match: {service: helpdesk, method: GET, path: "/agent/tickets/*", nth: 1}
    action: {kind: html, ops: [{interstitial: {title: New terms of service, button: Accept and continue}}]}
  - name: changed-form
    match: {service: helpdesk, method: GET, path: "/agent/tickets/*"}
    action:
      kind: html
      ops:
        - rename: {selector: "#submit-reply", to: Send response}
        - hide: {selector: "#internal-note"}
"""


def signed_in_page(browser, proxy, episode: Episode):
    """A page of a fresh browser context whose traffic goes through the episode's proxy, signed in."""
    context = browser.new_context(
        proxy={"server": f"http://127.0.0.1:{proxy.port}", "username": episode.id, "password": episode.token},
        ignore_https_errors=True,  # the sandbox CA is not in Chromium's store; what is tested is the page
    )
    page = context.new_page()
    page.goto(f"https://{HOST}/agent/login")
    page.fill("#email", agent_email(W))
    page.fill("#api-token", episode.api_keys["helpdesk"])
    page.click("#sign-in")
    page.wait_for_url("**/agent/tickets")
    return page


def test_renamed_button_hidden_field_and_interstitial_change_what_chromium_renders(helpdesk_web, chromium, tmp_path):
    proxy, store, browser = helpdesk_web.proxy, helpdesk_web.store, chromium
    profile = tmp_path / "ui.yaml"
    profile.write_text(PROFILE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SANDBOX_SERVICES", "helpdesk")
        plain, faulted = store.create(7), store.create(7, faults=str(profile))

    # Without faults: the page as the agent learned it.
    page = signed_in_page(browser, proxy, plain)
    page.goto(f"https://{HOST}/agent/tickets/{TICKET}")
    assert page.locator("#submit-reply").inner_text().startswith("Submit as")
    assert page.get_by_role("button", name="Send response").count() == 0
    assert page.locator("#internal-note").is_visible()
    page.context.close()

    # With the profile: the first ticket page is covered by a notice that takes the clicks.
    page = signed_in_page(browser, proxy, faulted)
    page.goto(f"https://{HOST}/agent/tickets/{TICKET}")
    overlay = page.locator("#sandbox-interstitial")
    assert overlay.is_visible() and "New terms of service" in overlay.inner_text()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with pytest.raises(PlaywrightTimeout, match="intercepts pointer events"):
        page.locator("#submit-reply").click(timeout=1000)
    page.get_by_role("button", name="Accept and continue").click()
    assert not overlay.is_visible()

    # The button now says something else, and the internal-note box is not there to tick.
    assert page.locator("#submit-reply").inner_text() == "Send response"
    assert page.get_by_role("button", name="Send response").count() == 1
    assert page.get_by_role("button", name="Submit as Open").count() == 0
    assert not page.locator("#internal-note").is_visible()
    page.fill("#reply-body", "We are refunding the duplicate charge today.")
    page.get_by_role("button", name="Send response").click()
    page.wait_for_url(f"**/agent/tickets/{TICKET}?notice=updated")
    assert page.locator("#notice").is_visible()
    page.context.close()

    with store.ledger(faulted.id) as ledger:
        faults = ledger.faults()
        exchanges = {e["id"]: e for e in ledger.exchanges()}
    fired = [(exchanges[f["exchange_id"]]["path"], f["rule"]) for f in faults]
    path = f"/agent/tickets/{TICKET}"
    assert fired == [(path, "notice"), (path, "changed-form"), (path, "changed-form")]
    assert faults[1]["detail"]["changes"] == ["renamed #submit-reply to 'Send response' (1x)",
                                              "hid #internal-note (1x)"]
