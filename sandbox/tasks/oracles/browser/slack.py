"""Page objects for Slack's web client (https://app.slack.com, services/chat/web.py): plain
functions over a Playwright sync `Page`, named after the Web API calls the REST oracles make.

    team = sign_in(page, os.environ["SLACK_BOT_TOKEN"])
    engineering = channel_id(page, "engineering")
    root = next(m for m in history(page, engineering) if m["text"].startswith("Triage for "))
    for reply in replies(page, engineering, root["ts"])[1:]: ...
    post_message(page, engineering, "Done", thread_ts=root["ts"])
    add_reaction(page, engineering, root["ts"], "white_check_mark")

Lists are read by following `#next-page`, never by computing offsets; elements are found by id
(the UI nuisance renames and moves them, it does not change their ids). After every navigation and
form post `settle(page)` clears what the nuisance put in the way (banners, interstitials, a
session expiry).

A message is a dict like the Web API's: ts, user, text (as the API answers it: a mention is
"<@U123>"), plus what the page shows: author (the poster's name), shown (the text as displayed, a
mention as "@Real Name"), mentions ([{"id": "U...", "name": ...}]); and reply_count, reactions
({name: count}), subtype.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from sandbox.tasks.oracles.browser.adapt import load, settle

WEB = "https://app.slack.com"
PER_PAGE = 100  # the most a page shows: fewer pages to follow

# Run in the page: a message's text as the Web API answers it (each piece of markup the page
# shows by name keeps its source in data-slack: "<@U123>"), and as shown.
_TEXT = """const slackText = el => [...el.childNodes].map(
    n => n.nodeType === 1 && n.dataset.slack ? n.dataset.slack : n.textContent).join("").trim();
const mentions = el => [...el.querySelectorAll(".mention")].map(
    m => ({id: m.dataset.userId, name: m.textContent.trim().replace(/^@/, "")}));
const reactions = el => Object.fromEntries([...el.querySelectorAll(".reaction")].map(
    r => [r.dataset.name, parseInt(r.dataset.count, 10)]));"""

_READ_ROWS = f"""rows => {{ {_TEXT}
  return rows.map(row => ({{
    ts: row.dataset.id,
    user: row.dataset.user || "",
    subtype: row.dataset.subtype || "",
    author: row.querySelector(".author").textContent.trim(),
    text: slackText(row.querySelector(".message-text")),
    shown: row.querySelector(".message-text").textContent.trim(),
    mentions: mentions(row.querySelector(".message-text")),
    reply_count: parseInt(row.querySelector(".reply-count").dataset.count || "0", 10),
    reactions: reactions(row),
  }}));
}}"""

_READ_ROOT = f"""dl => {{ {_TEXT}
  const field = name => dl.querySelector(`[data-field="${{name}}"]`);
  return {{
    ts: dl.dataset.ts,
    user: field("author").dataset.userId || "",
    subtype: "",
    author: field("author").textContent.trim(),
    text: slackText(field("text")),
    shown: field("text").textContent.trim(),
    mentions: mentions(field("text")),
    reply_count: parseInt(field("reply_count").textContent.trim() || "0", 10),
    reactions: reactions(field("reactions")),
  }};
}}"""


class SlackPageError(RuntimeError):
    """The page did not do what was asked: its `#form-error` or `#error-message`, or what is missing."""


def visit(page: Any, url: str) -> None:
    """Open a page of the client and clear what the nuisance put in its way."""
    load(page, url)


def _team(page: Any) -> str:
    """The workspace id in the client's URLs (/client/<team>/...)."""
    found = re.match(r"/client/(T\w+)", urlsplit(page.url).path)
    if found:
        return found.group(1)
    href = page.locator("#nav-channels").get_attribute("href") or ""
    return href.rsplit("/", 1)[-1]


def _check(page: Any, what: str) -> None:
    """Raise with the page's own words if it answered an error."""
    for selector in ("#form-error", "#error-message", "#login-error"):
        if page.locator(selector).count():
            raise SlackPageError(f"{what}: {page.locator(selector).first.inner_text().strip()}")


def _submit(page: Any, button: str, what: str) -> None:
    """Click a form's submit button and wait for the page it leads to."""
    with page.expect_navigation():
        page.locator(button).click()
    settle(page)
    _check(page, what)


def sign_in(page: Any, token: str, login_url: str = f"{WEB}/login") -> str:
    """Sign in with the bot token; returns the workspace (team) id."""
    visit(page, login_url)
    page.locator("#api-token").fill(token)
    _submit(page, "#sign-in", "sign in")
    return _team(page)


def _pages(page: Any, url: str) -> Iterator[Any]:
    """Open `url`, then yield once per page of its list, following `#next-page` to the end."""
    visit(page, url)
    _check(page, f"open {url}")
    while True:
        yield page
        following = page.locator("#next-page")
        if following.count() == 0:
            return
        visit(page, urljoin(page.url, following.first.get_attribute("href") or ""))


def channels(page: Any, query: str = "") -> list[dict[str, Any]]:
    """The channels the bot can see (conversations.list), `query` matching names and topics."""
    params = {"q": query, "per_page": PER_PAGE} if query else {"per_page": PER_PAGE}
    found = []
    for shown in _pages(page, f"{WEB}/client/{_team(page)}?{urlencode(params)}"):
        found += shown.locator("#channels-table tbody tr").evaluate_all("""rows => rows.map(row => ({
            id: row.dataset.id, is_member: row.dataset.member === "true", is_private: row.dataset.private === "true",
            name: row.querySelector(".channel-name").textContent.trim().replace(/^#/, "").split(" ")[0],
            topic: row.querySelector(".channel-topic").textContent.trim()}))""")
    return found


def channel_id(page: Any, name: str) -> str:
    """The id of channel #name (what the REST oracles' `channel_id` finds with conversations.list)."""
    name = name.removeprefix("#")
    for channel in channels(page, name):
        if channel["name"] == name:
            return channel["id"]
    raise SlackPageError(f"no channel #{name} in the channel list")


def _channel_url(page: Any, channel: str) -> str:
    return f"{WEB}/client/{_team(page)}/{channel}"


def history(page: Any, channel: str) -> list[dict[str, Any]]:
    """Every top-level message of a channel, newest first (as conversations.history answers)."""
    found: list[dict[str, Any]] = []
    for shown in _pages(page, f"{_channel_url(page, channel)}?per_page={PER_PAGE}"):
        rows = shown.locator("#messages-table tbody tr").evaluate_all(_READ_ROWS)
        found += reversed(rows)  # each page is newest last; the next page is older
    return found


def replies(page: Any, channel: str, ts: str) -> list[dict[str, Any]]:
    """A thread: its root, then its replies oldest first (as conversations.replies answers)."""
    url = f"{_channel_url(page, channel)}/thread/{ts}?per_page={PER_PAGE}"
    found: list[dict[str, Any]] = []
    for shown in _pages(page, url):
        if not found:
            found.append(shown.locator("#message-details").evaluate(_READ_ROOT))
        found += shown.locator("#replies-table tbody tr").evaluate_all(_READ_ROWS)
    return found


thread = replies  # the name the browser oracles read a thread by


def user(page: Any, user_id: str) -> dict[str, Any]:
    """A person's profile (users.info's `user`): id, name, real_name, display_name, title, email,
    tz, is_bot, deleted."""
    visit(page, f"{WEB}/client/{_team(page)}/users/{user_id}")
    _check(page, f"open the profile of {user_id}")
    found = page.locator("#user-details").evaluate(
        """dl => Object.fromEntries([...dl.querySelectorAll("dd[data-field]")].map(
            dd => [dd.dataset.field, dd.textContent.trim()]))""")
    return {**found, "is_bot": found.get("is_bot") == "yes", "deleted": found.get("deleted") == "yes"}


def _post_form(page: Any, fill: Callable[[Any], None], button: str, what: str) -> None:
    """Fill the form on the current page and post it, until the page confirms the write (#notice).
    Posted a second time when the first post landed back on the form instead: a session that
    expired mid-form, after which `settle` signed in again and `next` led back to the form's page."""
    for _ in range(2):
        fill(page)
        _submit(page, button, what)
        if page.locator("#notice").count():
            return
        if page.locator(button).count() == 0:
            break
    raise SlackPageError(f"{what}: the form was posted but the page did not confirm it (now at {page.url})")


def post_message(page: Any, channel: str, text: str, thread_ts: str | None = None,
                 broadcast: bool = False) -> None:
    """chat.postMessage: to the channel, or with `thread_ts` as a reply in that thread."""
    if thread_ts is None:
        visit(page, _channel_url(page, channel))
        _post_form(page, lambda p: p.locator("#message-text").fill(text), "#post-message", f"post to {channel}")
        return

    def fill(p: Any) -> None:
        p.locator("#reply-text").fill(text)
        if broadcast:
            p.locator("#reply-broadcast").check()

    visit(page, f"{_channel_url(page, channel)}/thread/{thread_ts}")
    _post_form(page, fill, "#post-reply", f"reply in thread {thread_ts}")


def _react(page: Any, channel: str, ts: str, name: str, button: str) -> None:
    """On the thread page that lists message `ts` among the reaction targets (a reply may be on a
    later page of its thread), choose it, name the emoji and post."""
    option = f'#reaction-target option[value="{ts}"]'
    for shown in _pages(page, f"{_channel_url(page, channel)}/thread/{ts}?per_page={PER_PAGE}"):
        if shown.locator(option).count():
            break
    else:
        raise SlackPageError(f"message {ts} is not in its thread's pages in {channel}")

    def fill(p: Any) -> None:
        p.locator("#reaction-target").select_option(ts)
        p.locator("#reaction-name").fill(name)

    _post_form(page, fill, button, f"{name} reaction on {ts}")


def add_reaction(page: Any, channel: str, ts: str, name: str) -> None:
    """reactions.add: the bot reacts to message `ts` with emoji `name` (e.g. "eyes")."""
    _react(page, channel, ts, name, "#add-reaction")


def remove_reaction(page: Any, channel: str, ts: str, name: str) -> None:
    """reactions.remove: the bot takes its reaction back."""
    _react(page, channel, ts, name, "#remove-reaction")
