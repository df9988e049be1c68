"""github.com's pages in a real browser: headless Chromium (Debian's, driven by Playwright) through
the real proxy to the code fake in its own process. The page objects of the browser oracles
(sandbox/tasks/oracles/browser/github.py) sign in, label and assign a triage issue and open a new
one; the ledger holds those rows, written through github.com. The same pages under an html nuisance
profile render renamed and covered. Both take the README's screenshots (docs/screenshots/code-*.png)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.episodes.store import EpisodeStore
from sandbox.home import Home
from sandbox.tasks.oracles.browser import github
from sandbox.world import world
from tests.services.web_browser import fake_behind_proxy, launched_chromium, proxied_page, screenshot

pytestmark = pytest.mark.slow

W = world(7)
ORG = W.code.org
TRIAGE = W.code.facts["triage"]
REPO = TRIAGE["repo"]
FIRST = TRIAGE["issues"][0]

# The first issue page covered by a notice; the label button renamed, the new-labels field hidden,
# the close form moved to the top (the benchmark loads pages under the same profile).
PROFILE = Path(__file__).resolve().parents[1] / "fixtures" / "faults" / "code-ui.yaml"


@pytest.fixture(scope="module")
def code_site(tmp_path_factory) -> Iterator[tuple[Home, object, EpisodeStore]]:
    home = Home.resolve(tmp_path_factory.mktemp("code-web-home"))
    with fake_behind_proxy(home, "code", "--route", "github.com=code") as (proxy, store):
        yield home, proxy, store


@pytest.fixture(scope="module")
def browser(code_site):
    with launched_chromium() as browser:
        yield browser


new_page = proxied_page


def shoot(page, name: str) -> None:
    screenshot(page, f"code-{name}")


def test_page_objects_triage_and_open_an_issue_through_github_com(code_site, browser):
    home, proxy, store = code_site
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SANDBOX_SERVICES", "code")
        episode = store.create(7)
    page = new_page(browser, proxy, episode)
    github.sign_in(page, episode.api_keys["code"], next_path=f"/{ORG}/{REPO}/issues")
    assert page.url.endswith(f"/{ORG}/{REPO}/issues")
    shoot(page, "issues")

    assert REPO in github.repos(page, ORG)
    shoot(page, "org")
    names = {m["name"]: m["login"] for m in github.members(page, ORG)}
    assert names[FIRST["assignee_name"]] == FIRST["assignee"]
    untriaged = github.search_issues(page, ORG, REPO, "is:open no:label")
    assert FIRST["number"] in {i["number"] for i in untriaged}

    github.add_labels(page, ORG, REPO, FIRST["number"], [FIRST["label"]])
    triaged = github.add_assignees(page, ORG, REPO, FIRST["number"], [FIRST["assignee"]])
    assert triaged["labels"] == [FIRST["label"]] and triaged["assignees"] == [FIRST["assignee"]]
    assert page.locator("#notice").inner_text() == "Assignees updated"
    shoot(page, "issue")

    github.visit(page, f"/{ORG}/{REPO}/issues/new")
    page.fill("#issue-title", "Checkout fails with E42")
    shoot(page, "new-issue")
    opened = github.create_issue(page, ORG, REPO, "Checkout fails with E42", "Seen in two browsers.",
                                 labels=["bug", "customer-report", "needs-repro"])
    assert opened["labels"] == ["bug", "customer-report", "needs-repro"] and opened["state"] == "open"
    assert opened["url"] == f"https://github.com/{ORG}/{REPO}/issues/{opened['number']}"
    page.context.close()

    with store.ledger(episode.id) as ledger:
        exchanges = {e["id"]: e for e in ledger.exchanges()}
        changes = [c for c in ledger.state_changes() if c["service"] == "code"]
    assert {(e["via"], e["host"]) for e in exchanges.values()} == {("proxy", "github.com")}
    assert [e["status"] for e in exchanges.values() if e["method"] == "POST"] == [303, 303, 303, 303]
    issue_rows = {c["after"]["number"]: c["after"] for c in changes if c["tbl"] == "issues"}
    assert issue_rows[FIRST["number"]]["labels"] == f'["{FIRST["label"]}"]'
    assert issue_rows[FIRST["number"]]["assignees"] == f'["{FIRST["assignee"]}"]'
    assert issue_rows[opened["number"]]["title"] == "Checkout fails with E42"
    assert [c["after"]["name"] for c in changes if c["tbl"] == "labels"] == ["needs-repro"]  # made, as the API does


def test_issue_page_under_an_html_nuisance_profile(code_site, browser):
    home, proxy, store = code_site
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SANDBOX_SERVICES", "code")
        episode = store.create(7, faults=str(PROFILE))
    page = new_page(browser, proxy, episode)
    github.sign_in(page, episode.api_keys["code"])
    page.goto(f"https://github.com/{ORG}/{REPO}/issues/{FIRST['number']}")
    overlay = page.locator("#sandbox-interstitial")
    assert overlay.is_visible() and "Try the new issues experience" in overlay.inner_text()
    shoot(page, "issue-ui")
    page.get_by_role("button", name="Maybe later").click()
    assert page.get_by_role("button", name="Save labels").count() == 1
    assert page.get_by_role("button", name="Apply labels").count() == 0
    assert not page.locator("#new-labels").is_visible()
    # The close form now comes first on the page, before the header: selectors still find it.
    assert page.locator("#close-issue").get_attribute("data-confirm") == "Close this issue?"
    assert page.locator("body > form#state-form").count() == 1
    # The page objects find the renamed button by its id, and leave the hidden field alone.
    labelled = github.add_labels(page, ORG, REPO, FIRST["number"], [FIRST["label"]])
    assert labelled["labels"] == [FIRST["label"]]
    page.context.close()
    with store.ledger(episode.id) as ledger:
        fired = [f["rule"] for f in ledger.faults()]
    assert fired[:2] == ["notice", "changed-issue-page"] and fired.count("changed-issue-page") == 3
