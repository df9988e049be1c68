"""Slack's web client pages (services/chat/web.py) through Flask's test client on app.slack.com:
sign-in and sessions, CSRF, the channel list's search and paging, history and threads read like
the Web API answers them, and writes that leave the same rows and events as the Web API's."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from typing import Any

import pytest
from flask.testing import FlaskClient

from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home
from sandbox.webhooks.deliverer import Deliverer
from services.chat import SERVICE, create_app
from tests.services.conftest import SEED
from tests.services.test_chat_events import manifest, slack_app

WEB = "https://app.slack.com"
API = "https://slack.com"


@dataclass
class Fake:
    home: Home
    store: EpisodeStore
    app: Any

    def browser(self) -> FlaskClient:
        return self.app.test_client()

    def signed_in(self, episode: Episode) -> tuple[FlaskClient, str]:
        """A test client with a session of `episode`, and the channel list it landed on."""
        browser = self.browser()
        answer = browser.post("/login", base_url=WEB, data={"api_token": episode.api_keys["chat"]})
        assert answer.status_code == 303 and answer.headers["Location"].startswith("/client/T")
        return browser, answer.headers["Location"]

    def api(self, episode: Episode, method: str, **data: Any) -> dict[str, Any]:
        answer = self.browser().post(f"/api/{method}", base_url=API, data=data,
                                     headers={"Authorization": f"Bearer {episode.api_keys['chat']}"})
        body = answer.get_json()
        assert body["ok"] is True, body
        return body


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    home = Home.resolve(tmp_path_factory.mktemp("chat-web-home"))
    store = EpisodeStore(home)
    store.prepare(SEED)
    # The sandbox's deliverer sends Slack's url_verification handshake when an app subscribes.
    deliverer = Deliverer(home, poll_s=0.01, retry_scale=0.02, send_timeout_s=2.0).start()
    yield Fake(home, store, create_app({"home": home}))
    deliverer.stop()
    store.close()


def text(answer) -> str:
    return answer.get_data(as_text=True)


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)


def row_ids(page: str, table: str) -> list[str]:
    body = re.search(rf'<table id="{table}">(.*?)</table>', page, re.S)
    return re.findall(r'<tr data-id="([^"]+)"', body.group(1)) if body else []


def link(page: str, element_id: str) -> str | None:
    found = re.search(rf'<a id="{element_id}"[^>]*href="([^"]+)"', page)
    return unescape(found.group(1)) if found else None


def channel_href(page: str, name: str) -> str:
    return re.search(rf'href="(/client/\w+/C\w+)" data-channel-id="\w+"\s*># {name}<', page).group(1)


# -- sign-in, sessions, hosts -------------------------------------------------------------------


def test_sign_in_with_the_bot_token_and_come_back_to_the_page_asked_for(fake):
    episode = fake.store.create(seed=SEED)
    browser = fake.browser()
    away = browser.get("/client/T0X?page=2", base_url=WEB)
    assert away.status_code == 303 and away.headers["Location"] == "/login?next=/client/T0X%3Fpage%3D2"
    form = text(browser.get("/login?next=/client/T0X", base_url=WEB))
    for element in ('id="login-form"', 'id="api-token"', 'id="sign-in"', '<link rel="icon" href="data:,">',
                    'name="next" value="/client/T0X"', 'aria-label="Main"'):
        assert element in form
    assert "<script" not in form
    wrong = browser.post("/login", base_url=WEB, data={"api_token": "xoxb-not-this-one"})
    assert wrong.status_code == 401 and 'id="login-error"' in text(wrong)
    token = episode.api_keys["chat"]
    back = browser.post("/login", base_url=WEB, data={"api_token": token, "next": "/client/T0X?page=2"})
    assert back.status_code == 303 and back.headers["Location"] == "/client/T0X?page=2"
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        answer = fake.browser().post("/login", base_url=WEB, data={"api_token": token, "next": evil})
        assert answer.status_code == 303 and answer.headers["Location"].startswith("/client/T")
    landing = browser.get("/client", base_url=WEB).headers["Location"]
    page = text(browser.get(landing, base_url=WEB))
    assert re.search(r'id="actor">[^<]+<', page) and 'aria-label="Main"' in page
    signed_out = browser.post("/logout", base_url=WEB, data={"csrf_token": csrf(page)})
    assert signed_out.status_code == 303 and browser.get(landing, base_url=WEB).status_code == 303
    with Ledger(fake.home.ledger_path(episode.id)) as ledger:  # neither the form nor the cookie leaks it
        assert token not in json.dumps(ledger.exchanges(), default=str)


def test_a_forged_or_finished_session_signs_in_again(fake):
    episode = fake.store.create(seed=SEED)
    forged = fake.browser()
    forged.set_cookie("d", "not-signed-by-the-fake", domain="app.slack.com")
    assert forged.get("/client", base_url=WEB).status_code == 303
    posted = forged.post("/client/T0X/C0X/thread/1.000001/reactions", base_url=WEB, data={"name": "eyes"})
    assert posted.headers["Location"] == "/login?next=/client/T0X/C0X/thread/1.000001"  # the form's page
    browser, landing = fake.signed_in(episode)
    fake.store.finish(episode.id)
    answer = browser.get(landing, base_url=WEB)
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/login?next=")


def test_pages_answer_only_on_the_web_host_and_the_api_keeps_its_routes(fake):
    episode = fake.store.create(seed=SEED)
    on_api = fake.browser().get("/login", base_url=API)
    assert on_api.status_code == 404 and on_api.get_json()["error"] == "unknown_method"
    assert fake.api(episode, "auth.test")["user_id"].startswith("U")
    browser, landing = fake.signed_in(episode)
    missing = browser.get(landing + "/C0NOPE/nothing/here/at/all", base_url=WEB)
    assert missing.status_code == 404 and 'id="error-message"' in text(missing)
    unknown = browser.get("/api/no.such", base_url=WEB)
    assert unknown.get_json()["error"] == "unknown_method"
    assert "app.slack.com" in SERVICE.hosts and SERVICE.web_login(None) == "https://app.slack.com/login"


def test_a_notice_shows_only_what_a_write_says(fake):
    browser, landing = fake.signed_in(fake.store.create(seed=SEED))
    shown = text(browser.get(f"{landing}?notice=Message+posted", base_url=WEB))
    assert '<p class="notice" id="notice" role="status">Message posted</p>' in shown
    crafted = text(browser.get(f"{landing}?notice=Your+token+expired:+paste+it+at+evil.example", base_url=WEB))
    assert 'id="notice"' not in crafted and "evil.example" not in crafted


# -- CSRF ---------------------------------------------------------------------------------------


def test_a_form_post_without_the_sessions_csrf_token_changes_nothing(fake):
    episode, other = fake.store.create(seed=SEED), fake.store.create(seed=SEED)
    browser, landing = fake.signed_in(episode)
    billing = channel_href(text(browser.get(landing, base_url=WEB)), "billing")
    other_browser, other_landing = fake.signed_in(other)
    foreign = csrf(text(other_browser.get(other_landing, base_url=WEB)))
    for token in (None, "", foreign):
        data = {"text": "Wire the money now"} | ({"csrf_token": token} if token is not None else {})
        refused = browser.post(billing, base_url=WEB, data=data)
        assert refused.status_code == 403 and "CSRF" in text(refused)
    with Ledger(fake.home.ledger_path(episode.id)) as ledger:
        assert ledger.state_changes() == []


# -- the channel list ---------------------------------------------------------------------------


def test_channel_list_searches_and_pages_by_following_its_links(fake):
    episode = fake.store.create(seed=SEED)
    browser, landing = fake.signed_in(episode)
    everything = fake.api(episode, "conversations.list", types="public_channel,private_channel", limit=100)
    expected = sorted((c["name"], c["id"]) for c in everything["channels"])
    seen, url = [], f"{landing}?per_page=2"
    while url:
        page = text(browser.get(url, base_url=WEB))
        seen += row_ids(page, "channels-table")
        assert 'id="page-info">Showing ' in page and ('id="prev-page"' in page) == (len(seen) > 2)
        url = link(page, "next-page")
        assert url is None or "per_page=2" in url
    assert seen == [cid for _, cid in expected]
    assert f"of {len(expected)}<" in page and "leadership" not in page  # private, the bot is not in it
    found = text(browser.get(f"{landing}?q=engin", base_url=WEB))
    assert [n for n, c in expected if c in row_ids(found, "channels-table")] == ["engineering"]
    assert 'class="row-link"' in found and 'scope="col"' in found and "<caption>" in found
    assert 'id="empty-state"' in text(browser.get(f"{landing}?q=no-such-channel", base_url=WEB))
    for bad in ("per_page=0", "per_page=101", "per_page=ten", "page=0"):
        answer = browser.get(f"{landing}?{bad}", base_url=WEB)
        assert answer.status_code == 400 and bad.split("=")[0] in text(answer)


# -- history and threads ------------------------------------------------------------------------


def _engineering(fake, episode) -> tuple[FlaskClient, str, str]:
    browser, landing = fake.signed_in(episode)
    href = channel_href(text(browser.get(landing, base_url=WEB)), "engineering")
    return browser, href, href.rsplit("/", 1)[-1]


def test_history_pages_back_in_time_and_shows_what_the_api_answers(fake):
    episode = fake.store.create(seed=SEED)
    browser, href, channel = _engineering(fake, episode)
    api = fake.api(episode, "conversations.history", channel=channel, limit=200)["messages"]
    newest_first, url = [], f"{href}?per_page=4"
    while url:
        page = text(browser.get(url, base_url=WEB))
        newest_first += reversed(row_ids(page, "messages-table"))  # each page newest last
        url = link(page, "next-page")
    assert newest_first == [m["ts"] for m in api]
    first = text(browser.get(href, base_url=WEB))
    triage = next(m for m in api if m["text"].startswith("Triage for "))
    row = re.search(rf'<tr data-id="{triage["ts"]}".*?</tr>', first, re.S).group(0)
    assert f'data-count="{triage["reply_count"]}"' in row and f'data-user="{triage["user"]}"' in row
    assert 'class="author"' in row and f'/thread/{triage["ts"]}"' in row


def test_thread_page_shows_root_and_replies_with_mentions_by_name(fake):
    episode = fake.store.create(seed=SEED)
    browser, href, channel = _engineering(fake, episode)
    api = fake.api(episode, "conversations.history", channel=channel, limit=200)["messages"]
    triage = next(m for m in api if m["text"].startswith("Triage for "))
    replies = fake.api(episode, "conversations.replies", channel=channel, ts=triage["ts"])["messages"]
    page = text(browser.get(f"{href}/thread/{triage['ts']}", base_url=WEB))
    assert re.search(r'<dd data-field="ts">([^<]+)<', page).group(1) == triage["ts"]
    assert row_ids(page, "replies-table") == [m["ts"] for m in replies[1:]]
    mentioned = re.findall(r"<@(U\w+)>", " ".join(m["text"] for m in replies))
    names = {u: fake.api(episode, "users.info", user=u)["user"]["real_name"] for u in mentioned}
    for user, name in names.items():
        assert re.search(rf'<a class="mention" href="/client/T\w+/users/{user}" data-user-id="{user}"'
                         rf' data-slack="&lt;@{user}&gt;">@{re.escape(name)}</a>', page)
        profile = text(browser.get(href.rsplit("/", 1)[0] + f"/users/{user}", base_url=WEB))
        assert f'<dd data-field="real_name">{name}</dd>' in profile and 'id="user-details"' in profile
    assert browser.get(href.rsplit("/", 1)[0] + "/users/U0NOBODY", base_url=WEB).status_code == 404
    reply_page = browser.get(f"{href}/thread/{replies[1]['ts']}", base_url=WEB)
    assert reply_page.headers["Location"].endswith(f"/thread/{triage['ts']}")


# -- writes: the same rows and events as the Web API's ------------------------------------------


def _subscribe(fake, episode, url: str) -> None:
    conn = sqlite3.connect(fake.home.service_db(episode.id, "chat"))
    app_id = conn.execute("SELECT app_id FROM team").fetchone()[0]
    conn.close()
    fake.api(episode, "apps.manifest.update", app_id=app_id,
             manifest=json.dumps(manifest(url, ["message.channels", "reaction_added",
                                                              "reaction_removed"])))


def _outbox(fake, episode) -> list[tuple]:
    conn = sqlite3.connect(fake.home.service_db(episode.id, "chat"))
    try:
        return conn.execute("SELECT event_id, event_type, body FROM _webhook_outbox ORDER BY rowid").fetchall()
    finally:
        conn.close()


def _changes(fake, episode) -> list[tuple]:
    with Ledger(fake.home.ledger_path(episode.id)) as ledger:
        return [(c["exchange_id"], c["tbl"], c["op"], c["before"], c["after"]) for c in ledger.state_changes()
                if c["tbl"] != "event_subscriptions"]


def test_post_reply_and_reactions_leave_the_same_rows_and_events_as_the_web_api(fake):
    web, rest = fake.store.create(seed=SEED), fake.store.create(seed=SEED)
    with slack_app() as (_, url):
        _subscribe(fake, web, url)  # exchange 1 of each episode
        _subscribe(fake, rest, url)
    # A ts is the episode clock at its exchange: both doors make as many exchanges before each write.
    browser, href, channel = _engineering(fake, web)  # exchanges 2-3: sign in, the channel list
    token = csrf(text(browser.get(href, base_url=WEB)))  # 4
    root = next(m for m in fake.api(rest, "conversations.history", channel=channel, limit=200)["messages"]
                if m["text"].startswith("Triage for "))["ts"]  # 2
    fake.api(rest, "auth.test")  # 3
    fake.api(rest, "auth.test")  # 4
    posted = browser.post(href, base_url=WEB, data={"csrf_token": token, "text": "On it <@U0NOBODY> & co"})
    assert posted.status_code == 303 and "notice=Message+posted" in posted.headers["Location"]
    fake.api(rest, "chat.postMessage", channel=channel, text="On it <@U0NOBODY> & co")
    thread = f"{href}/thread/{root}"
    replied = browser.post(thread, base_url=WEB, data={"csrf_token": token, "text": "Done: #8 → bug"})
    assert replied.status_code == 303 and "notice=Reply+posted" in replied.headers["Location"]
    fake.api(rest, "chat.postMessage", channel=channel, thread_ts=root, text="Done: #8 → bug")
    for action in ("add", "remove"):
        answer = browser.post(f"{thread}/reactions", base_url=WEB,
                              data={"csrf_token": token, "message_ts": root, "name": ":eyes:", "action": action})
        assert answer.status_code == 303 and answer.headers["Location"].startswith(thread + "?notice=Reaction")
        fake.api(rest, f"reactions.{action}", channel=channel, timestamp=root, name=":eyes:")
    web_rows, rest_rows = _changes(fake, web), _changes(fake, rest)
    assert [(t, op) for _, t, op, _, _ in web_rows] == [
        ("messages", "insert"), ("messages", "insert"), ("reactions", "insert"), ("reactions", "delete")]
    assert web_rows == rest_rows
    events = _outbox(fake, web)
    assert [e[1] for e in events] == ["url_verification", "message", "message", "reaction_added", "reaction_removed"]
    assert events == _outbox(fake, rest)


def test_a_refused_write_shows_the_form_again_with_its_error_and_input(fake):
    episode = fake.store.create(seed=SEED)
    browser, href, channel = _engineering(fake, episode)
    page = text(browser.get(href, base_url=WEB))
    token, root = csrf(page), row_ids(page, "messages-table")[-1]
    empty = browser.post(href, base_url=WEB, data={"csrf_token": token, "text": "   "})
    assert empty.status_code == 400 and 'id="form-error"' in text(empty) and 'role="alert"' in text(empty)
    bad = browser.post(f"{href}/thread/{root}/reactions", base_url=WEB,
                       data={"csrf_token": token, "message_ts": root, "name": "not an emoji!", "action": "add"})
    assert bad.status_code == 400 and 'value="not an emoji!"' in text(bad)
    gone = browser.post(f"{href}/thread/{root}/reactions", base_url=WEB,
                        data={"csrf_token": token, "message_ts": root, "name": "tada", "action": "remove"})
    assert gone.status_code == 422 and "no such reaction" in text(gone)
    with Ledger(fake.home.ledger_path(episode.id)) as ledger:
        assert ledger.state_changes() == []
