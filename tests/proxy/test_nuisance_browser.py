"""Each new UI nuisance in a real browser: Debian's Chromium (Playwright) works through the helpdesk's
pages via the real proxy under a shipped `ui-*` profile. Each test shows the nuisance's effect on
an agent that does not adapt, then that `adapt.settle` (through the helpdesk page objects) gets
past it, and checks the ledger. Screenshots go to docs/screenshots/helpdesk-*.png for the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.tasks.oracles.browser import zendesk
from sandbox.tasks.oracles.browser.adapt import settle
from sandbox.world import world
from services.helpdesk.seed import agent_email

pytestmark = pytest.mark.slow

W = world(7)
TICKET = W.facts["double_charge_ticket"]["ticket"]
HOST = W.org.helpdesk_host  # type: ignore[union-attr]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def desk(helpdesk_web) -> tuple[object, EpisodeStore]:
    return helpdesk_web.proxy, helpdesk_web.store


@pytest.fixture
def agent(desk, chromium, monkeypatch):
    """`agent(profile)` -> (a signed-in page of a fresh browser context for a new episode, the episode),
    with the environment `sandbox env` gives the agent."""
    proxy, store = desk
    browser = chromium
    contexts = []

    def start(profile: str | None) -> tuple[object, Episode]:
        monkeypatch.setenv("SANDBOX_SERVICES", "helpdesk")
        episode = store.create(7, faults=profile)
        monkeypatch.setenv("ZENDESK_SUBDOMAIN", HOST.removesuffix(".zendesk.com"))
        monkeypatch.setenv("ZENDESK_EMAIL", agent_email(W))
        monkeypatch.setenv("ZENDESK_API_TOKEN", episode.api_keys["helpdesk"])
        context = browser.new_context(
            proxy={"server": f"http://127.0.0.1:{proxy.port}", "username": episode.id, "password": episode.token},
            ignore_https_errors=True, viewport={"width": 1200, "height": 800})
        contexts.append(context)
        page = context.new_page()
        zendesk.sign_in(page)
        return page, episode

    yield start
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"helpdesk-{name}.png"), full_page=True)


def faults_of(store: EpisodeStore, episode: Episode) -> list[dict]:
    with store.ledger(episode.id) as ledger:
        return ledger.faults()


def test_plain_pages(agent):
    page, _ = agent(None)
    rows = zendesk.search_tickets(page)
    assert any(row["id"] == TICKET for row in rows) and page.locator("#page-info").inner_text().startswith("Showing")
    shot(page, "tickets")
    found = zendesk.ticket(page, TICKET)
    assert found["id"] == TICKET and found["comments"] and "sandbox" not in page.content()
    shot(page, "ticket")


def test_cookie_banner_takes_the_clicks_until_chosen_then_stays_away(agent, desk):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page, episode = agent("ui-consent")  # sign_in already settled past the banner once
    page.goto(f"https://{HOST}/agent/tickets?q=zzz-none")
    assert page.locator("#sandbox-consent").count() == 0  # the choice was kept for the episode
    page.context.clear_cookies(name="sandbox_consent")
    page.goto(f"https://{HOST}/agent/tickets")
    assert page.locator("#sandbox-consent").is_visible()
    shot(page, "tickets-ui-consent")
    with pytest.raises(PlaywrightTimeout, match="intercepts pointer events"):
        page.locator("#search-submit").click(timeout=1000)
    settle(page)
    assert not page.locator("#sandbox-consent").is_visible()
    page.locator("#search-submit").click()
    page.wait_for_load_state("load")
    assert page.locator("#sandbox-consent").count() == 0
    details = [f["detail"]["changes"][0] for f in faults_of(desk[1], episode)]
    assert "consent already accept in this episode (0x)" in details[-1]


def test_confirm_dialog_holds_the_destructive_submit_until_confirmed(agent, desk):
    page, episode = agent("ui-confirm")
    page.goto(f"https://{HOST}/agent/tickets/{TICKET}")
    page.click("#submit-solved")
    dialog = page.locator("#sandbox-confirm")
    assert dialog.is_visible() and "Mark this ticket as solved?" in dialog.inner_text()
    assert page.url.endswith(f"/agent/tickets/{TICKET}")  # nothing was sent
    shot(page, "ticket-ui-confirm")
    page.locator("#sandbox-confirm-cancel").click()
    assert not dialog.is_visible() and page.locator("#ticket-status").inner_text() != "solved"
    zendesk.set_status(page, TICKET, "solved")  # the page object's settle confirms
    assert page.url.endswith("?notice=updated") and page.locator("#ticket-status").inner_text() == "solved"
    with desk[1].ledger(episode.id) as ledger:
        posts = [e for e in ledger.exchanges() if e["method"] == "POST" and e["path"].startswith("/agent/tickets")]
    assert len(posts) == 1  # the cancelled click sent nothing


def test_slow_list_shows_loading_then_the_rows(agent):
    page, _ = agent("ui-slow-list")
    page.goto(f"https://{HOST}/agent/tickets")
    rows = page.locator("#tickets-table tbody tr[data-id]")
    assert page.locator(".sandbox-loading").is_visible() and rows.count() > 0 and not rows.first.is_visible()
    # An impatient agent sees no ticket: none is rendered, none is in the accessibility tree.
    assert page.locator("#tickets-table tbody tr[data-id]:visible").count() == 0
    assert page.get_by_role("link", name=f"#{TICKET}").count() == 0
    shot(page, "tickets-ui-slow-list")
    settle(page)
    assert rows.first.is_visible() and page.locator(".sandbox-loading").count() == 0
    assert any(str(TICKET) in text for text in rows.all_inner_texts())


def test_button_moves_after_load_under_a_coordinate_click(agent):
    page, _ = agent("ui-moving-button")
    page.goto(f"https://{HOST}/agent/tickets/{TICKET}")
    before = page.locator("#submit-reply").bounding_box()
    settle(page)
    after = page.locator("#submit-reply").bounding_box()
    assert after["y"] > before["y"] + 30
    x, y = before["x"] + before["width"] / 2, before["y"] + before["height"] / 2
    hit = page.evaluate("([x, y]) => { const e = document.elementFromPoint(x, y - window.scrollY); "
                        "return e && e.id }", [x, y])
    assert hit != "submit-reply"  # a click at the coordinates read on load lands elsewhere
    shot(page, "ticket-ui-moving-button")


def test_page_size_changes_the_pages_following_the_pager_still_sees_every_row(agent, desk):
    plain_page, _ = agent(None)
    everything = [row["id"] for row in zendesk.search_tickets(plain_page, status="pending")]
    assert len(everything) >= 4
    page, episode = agent("ui-page-size")
    assert [row["id"] for row in zendesk.search_tickets(page, status="pending")] == everything
    page.goto(f"https://{HOST}/agent/tickets?status=pending&per_page=25")
    assert page.locator("#tickets-table tbody tr").count() == 2
    assert page.locator("#page-info").inner_text() == f"Showing 1–2 of {len(everything)}"
    shot(page, "tickets-ui-page-size")
    page.goto(f"https://{HOST}/agent/tickets?status=pending&page=2&per_page=25")  # an agent computing offsets
    second = [int(r) for r in page.locator("#tickets-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.id)")]
    assert second == everything[2:4]  # ... gets rows 3-4, not 26-50: it skips rows
    detail = faults_of(desk[1], episode)[-1]["detail"]
    assert (detail["per_page"], detail["asked"]) == (2, "25")


def test_session_expires_mid_form_nothing_written_settle_signs_in_and_it_is_posted_again(agent, desk):
    page, episode = agent("ui-session-expiry")
    page.goto(f"https://{HOST}/agent/tickets/{TICKET}")
    page.fill("#reply-body", "First try")
    page.click("#submit-reply")
    page.wait_for_load_state("load")
    assert re.search(r"/agent/login\?next=/agent/tickets/\d+$", page.url) and page.locator("#login-form").count()
    shot(page, "login-ui-session-expiry")
    assert settle(page) is True and page.url.endswith(f"/agent/tickets/{TICKET}")  # signed in, back on the form
    zendesk.reply(page, TICKET, "We are refunding the duplicate charge.")
    bodies = [c["body"] for c in zendesk.ticket(page, TICKET)["comments"]]
    assert bodies.count("We are refunding the duplicate charge.") == 1 and "First try" not in bodies
    (fault,) = faults_of(desk[1], episode)
    assert fault["action"] == "session_expired" and "nothing was written" in fault["detail"]["did"]
    assert fault["detail"]["cookies_expired"] == ["_zendesk_session"]
    assert fault["detail"]["location"] == f"https://{HOST}/agent/login?next=/agent/tickets/{TICKET}"
