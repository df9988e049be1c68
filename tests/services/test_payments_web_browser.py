"""The payments dashboard in a real browser: headless Chromium (Debian's, driven by Playwright) signs
in through the real proxy, finds the double charge with the oracles' page objects, refunds it, and the
ledger shows the rows the API would have written. The same pages under a rename + interstitial
nuisance still work by id. Full-page screenshots of every page go to docs/screenshots/ for the README."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.episodes.store import EpisodeStore
from sandbox.home import Home
from sandbox.tasks.oracles.browser import stripe as dashboard
from sandbox.world import world
from tests.services.web_browser import fake_behind_proxy, launched_chromium, proxied_page, screenshot

pytestmark = pytest.mark.slow

DOUBLE = world(7).facts["double_charge"]
PROFILE = Path(__file__).resolve().parents[1] / "fixtures" / "faults" / "payments-ui.yaml"


@pytest.fixture(scope="module")
def payments(tmp_path_factory) -> Iterator[tuple[object, EpisodeStore]]:
    home = Home.resolve(tmp_path_factory.mktemp("dashboard-home"))
    with fake_behind_proxy(home, "payments") as running:
        yield running


@pytest.fixture(scope="module")
def browser(payments):
    with launched_chromium() as browser:
        yield browser


new_page = proxied_page


def shot(page, name: str) -> None:
    screenshot(page, f"payments-{name}")


def test_sign_in_find_the_duplicate_and_refund_it_in_chromium(payments, browser):
    proxy, store = payments
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SANDBOX_SERVICES", "payments")
        episode = store.create(7)
    page = new_page(browser, proxy, episode)
    page.goto("https://dashboard.stripe.com/test/payments")
    assert page.url.startswith("https://dashboard.stripe.com/login?next=")
    shot(page, "login")
    dashboard.sign_in(page, episode.api_keys["payments"])
    assert page.url == "https://dashboard.stripe.com/test/payments"

    found = dashboard.search_charges(page, DOUBLE["order_id"])
    assert {c["id"] for c in found} == {DOUBLE["original_charge"], DOUBLE["duplicate_charge"]}
    shot(page, "payments")
    duplicate = dashboard.find_duplicate(page, DOUBLE["customer_email"], DOUBLE["order_id"])
    assert duplicate["id"] == DOUBLE["duplicate_charge"]
    shot(page, "customer")
    before = dashboard.charge(page, duplicate["id"])
    assert (before["amount"], before["refunded"], before["metadata"]) == (
        DOUBLE["amount"], False, {"order_id": DOUBLE["order_id"]})
    shot(page, "charge")

    made = dashboard.refund(page, duplicate["id"], reason="duplicate", metadata={"order_id": DOUBLE["order_id"]})
    assert (made["amount"], made["reason"], made["status"]) == (DOUBLE["amount"], "duplicate", "succeeded")
    assert made["id"] in page.locator("#notice").inner_text()  # the page the form returned to
    shot(page, "refunded")
    after = dashboard.charge(page, duplicate["id"])
    assert (after["refunded"], after["amount_refunded"]) == (True, DOUBLE["amount"])
    page.context.close()

    with store.ledger(episode.id) as ledger:
        exchanges = {e["id"]: e for e in ledger.exchanges()}
        changes = ledger.state_changes()
    assert all(e["host"] == "dashboard.stripe.com" and e["via"] == "proxy" for e in exchanges.values())
    assert not any(e["path"] == "/favicon.ico" for e in exchanges.values())
    refund_rows = [c for c in changes if c["tbl"] == "refunds"]
    assert [(c["op"], c["row_key"], c["after"]["reason"]) for c in refund_rows] == [
        ("insert", made["id"], "duplicate")]
    assert exchanges[refund_rows[0]["exchange_id"]]["path"] == f"/test/payments/{duplicate['id']}/refund"


def test_renamed_button_and_interstitial_still_refund_by_id(payments, browser):
    proxy, store = payments
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SANDBOX_SERVICES", "payments")
        episode = store.create(7, faults=str(PROFILE))
    page = new_page(browser, proxy, episode)
    dashboard.sign_in(page, episode.api_keys["payments"])
    page.goto(f"https://dashboard.stripe.com/test/payments/{DOUBLE['duplicate_charge']}")
    overlay = page.locator("#sandbox-interstitial")
    assert overlay.is_visible() and "Review our updated terms" in overlay.inner_text()
    shot(page, "charge-payments-ui")  # <page>-<profile>: the notice covers the page
    page.get_by_role("button", name="Accept and continue").click()
    assert page.locator("#refund-submit").inner_text() == "Issue refund"
    assert page.get_by_role("button", name="Refund", exact=True).count() == 0
    shot(page, "charge-dismissed-payments-ui")  # notice accepted: the renamed button

    made = dashboard.refund(page, DOUBLE["duplicate_charge"], reason="duplicate")
    assert made["amount"] == DOUBLE["amount"]
    page.context.close()
    with store.ledger(episode.id) as ledger:
        rules = [f["rule"] for f in ledger.faults()]
    assert rules[:2] == ["notice", "renamed-refund"] and set(rules) == {"notice", "renamed-refund"}
