"""Slack's web client in a real browser: headless Chromium (Debian's, driven by Playwright) signs
in on https://app.slack.com through the real proxy, reads the #engineering triage thread, replies
in it and reacts, with the browser oracles' page objects (sandbox/tasks/oracles/browser/slack.py);
then the same under a UI nuisance profile (renamed buttons, a moved form, an interstitial). The
screenshots of docs/screenshots/chat-*.png are taken here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home
from sandbox.tasks.oracles.browser import slack
from sandbox.tasks.oracles.triage_from_chat import LINE
from tests.services.web_browser import fake_behind_proxy, launched_chromium, proxied_page, screenshot

pytestmark = pytest.mark.slow


PROFILE = """name: chat-ui
seed: 1
rules:
  - name: terms
    match: {service: chat, method: GET, path: "/client/*/thread/*", nth: 1}
    action: {kind: html, ops: [{interstitial: {title: Slack has new terms, button: Accept and continue}}]}
  - name: changed-thread
    match: {service: chat, method: GET, path: "/client/*/thread/*"}
    action:
      kind: html
      ops:
        - rename: {selector: "#post-reply", to: Send}
        - rename: {selector: "#add-reaction", to: React}
        - move: {selector: "#reaction-form", to: "before:#reply-form"}
"""


@pytest.fixture(scope="module")
def chat_proxy(tmp_path_factory) -> Iterator[tuple[Home, object, EpisodeStore]]:
    home = Home.resolve(tmp_path_factory.mktemp("chat-web-home"))
    with fake_behind_proxy(home, "chat") as (proxy, store):
        yield home, proxy, store


@pytest.fixture(scope="module")
def browser(chat_proxy):
    with launched_chromium() as browser:
        yield browser


new_page = proxied_page


def shoot(page, name: str) -> None:
    assert screenshot(page, f"chat-{name}").stat().st_size < 200_000


def api(home: Home, proxy, episode: Episode, method: str, **params: str) -> dict:
    """The Web API through the same proxy, to compare what the pages show with what it answers."""
    through = f"http://{episode.id}:{episode.token}@127.0.0.1:{proxy.port}"
    answer = requests.get(f"https://slack.com/api/{method}", params=params, timeout=30,
                          headers={"Authorization": f"Bearer {episode.api_keys['chat']}"},
                          proxies={"https": through}, verify=str(home.ca_cert))
    body = answer.json()
    assert body["ok"] is True, body
    return body


def triage_thread(page) -> tuple[str, dict, list[dict]]:
    engineering = slack.channel_id(page, "engineering")
    root = next(m for m in slack.history(page, engineering) if m["text"].startswith("Triage for "))
    return engineering, root, slack.replies(page, engineering, root["ts"])


def test_chromium_reads_the_triage_thread_replies_and_reacts_through_the_proxy(chat_proxy, browser):
    home, proxy, store = chat_proxy
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SANDBOX_SERVICES", "chat")
        episode = store.create(7)
    page = new_page(browser, proxy, episode)
    slack.visit(page, f"{slack.WEB}/login")
    shoot(page, "login")
    team = slack.sign_in(page, episode.api_keys["chat"])
    assert team.startswith("T") and page.locator("#actor").inner_text()
    shoot(page, "channels")
    engineering, root, thread = triage_thread(page)
    # What the triage oracle reads, read through the pages exactly as the Web API answers it.
    replies = api(home, proxy, episode, "conversations.replies", channel=engineering, ts=root["ts"])["messages"]
    assert [(m["ts"], m["user"], m["text"]) for m in thread] == [(m["ts"], m["user"], m["text"]) for m in replies]
    asks = [LINE.search(m["text"]).groups() for m in thread if LINE.search(m["text"])]
    assert asks and root["reply_count"] == len(thread) - 1
    for _, _, user_id in asks:  # the assignee's profile, and the name the mention shows
        person = slack.user(page, user_id)
        info = api(home, proxy, episode, "users.info", user=user_id)["user"]
        assert (person["id"], person["real_name"], person["email"]) == (user_id, info["real_name"],
                                                                         info["profile"]["email"])
        assert {"id": user_id, "name": person["real_name"]} in [m for r in thread for m in r["mentions"]]
    slack.visit(page, f"{slack.WEB}/client/{team}/{engineering}")
    shoot(page, "channel")

    slack.post_message(page, engineering, "Done: " + "; ".join(f"#{n} → {label}" for n, label, _ in asks)
                       + " (thanks <@" + asks[0][2] + ">)", thread_ts=root["ts"])
    billing = slack.channel_id(page, "billing")  # what double-charge-ticket's oracle posts to
    slack.post_message(page, billing, "Refunded a duplicate charge of $42.00 for order 1001 (ticket #7).")
    assert slack.history(page, billing)[0]["text"].startswith("Refunded a duplicate charge of $42.00")
    slack.add_reaction(page, engineering, root["ts"], "eyes")
    slack.add_reaction(page, engineering, root["ts"], "white_check_mark")
    slack.remove_reaction(page, engineering, root["ts"], "eyes")
    after = slack.replies(page, engineering, root["ts"])
    assert after[-1]["text"].startswith("Done: #") and after[-1]["text"].endswith(f"(thanks <@{asks[0][2]}>)")
    assert after[0]["reactions"] == {"white_check_mark": 1}
    slack.visit(page, f"{slack.WEB}/client/{team}/{engineering}/thread/{root['ts']}")
    shoot(page, "thread")
    page.context.close()

    with store.ledger(episode.id) as ledger:
        changes = [(c["tbl"], c["op"]) for c in ledger.state_changes()]
        exchanges = ledger.exchanges()
    assert changes == [("messages", "insert"), ("messages", "insert"), ("reactions", "insert"),
                       ("reactions", "insert"), ("reactions", "delete")]
    assert {(e["host"], e["service"]) for e in exchanges} == {("app.slack.com", "chat"), ("slack.com", "chat")}
    assert not [e["path"] for e in exchanges if e["path"] == "/favicon.ico" or (e["status"] or 0) >= 400]


def test_under_the_nuisance_the_thread_is_covered_renamed_and_rearranged_but_ids_still_work(
        chat_proxy, browser, tmp_path):
    home, proxy, store = chat_proxy
    profile = tmp_path / "chat-ui.yaml"
    profile.write_text(PROFILE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SANDBOX_SERVICES", "chat")
        episode = store.create(7, faults=str(profile))
    page = new_page(browser, proxy, episode)
    team = slack.sign_in(page, episode.api_keys["chat"])
    engineering = slack.channel_id(page, "engineering")
    root = next(m for m in slack.history(page, engineering) if m["text"].startswith("Triage for "))
    page.goto(f"{slack.WEB}/client/{team}/{engineering}/thread/{root['ts']}")  # not visit: no settle, see it
    overlay = page.locator("#sandbox-interstitial")
    assert overlay.is_visible() and "Slack has new terms" in overlay.inner_text()
    shoot(page, "thread-ui")
    page.get_by_role("button", name="Accept and continue").click()
    assert not overlay.is_visible()
    assert page.get_by_role("button", name="Send").count() == 1 and page.locator("#post-reply").inner_text() == "Send"
    order = page.locator("form").evaluate_all("forms => forms.map(f => f.id)")
    assert order.index("reaction-form") < order.index("reply-form")

    slack.post_message(page, engineering, "Looking at these now.", thread_ts=root["ts"])
    slack.add_reaction(page, engineering, root["ts"], "eyes")
    # Two rows a page (as the page-size nuisance serves them): the page objects follow #next-page.
    whole = slack.history(page, engineering)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(slack, "PER_PAGE", 2)
        assert slack.history(page, engineering) == whole and len(whole) > 10
        thread = slack.replies(page, engineering, root["ts"])
        assert len(thread) == 5 and thread[0]["reactions"] == {"eyes": 1}
        slack.add_reaction(page, engineering, thread[-1]["ts"], "raised_hands")  # on the thread's last page
    assert slack.replies(page, engineering, root["ts"])[-1]["reactions"] == {"raised_hands": 1}
    page.context.close()

    with store.ledger(episode.id) as ledger:
        fired = [f["rule"] for f in ledger.faults()]
        changes = [(c["tbl"], c["op"]) for c in ledger.state_changes()]
    assert fired[:2] == ["terms", "changed-thread"] and set(fired) == {"terms", "changed-thread"}
    assert changes == [("messages", "insert"), ("reactions", "insert"), ("reactions", "insert")]
