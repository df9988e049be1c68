"""users.*, auth.test and team.info through slack_sdk: who the bot is and who works here."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from services.chat.seed import team_id
from tests.services.chat_fixtures import ChatServer, serve_chat
from tests.services.conftest import SEED


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
    yield from serve_chat(tmp_path_factory)


@pytest.fixture(scope="module")
def client(chat: ChatServer):
    # Reads only: one episode serves the module.
    return chat.client(chat.episode())


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(SlackApiError) as info:
        call(*args, **kwargs)
    return info.value.response["error"]


def test_auth_test_names_the_bot_and_the_workspace(chat, client):
    me = client.auth_test()
    org = chat.world.org
    assert (me["user_id"], me["user"]) == (chat.world.chat.bot_id, chat.world.chat.bot_name)
    assert (me["team_id"], me["team"], me["url"]) == (team_id(SEED), org.name, f"https://{org.slug}.slack.com/")
    assert me["bot_id"].startswith("B")


def test_team_info(chat, client):
    team = client.team_info()["team"]
    assert (team["id"], team["domain"], team["email_domain"]) == (team_id(SEED), chat.world.org.slug,
                                                                 chat.world.org.domain)
    assert client.team_info(team=team["id"])["team"]["id"] == team["id"]
    assert error_of(client.team_info, team="T0NOBODY") == "team_not_found"


def test_users_list_is_everyone_with_work_emails_only(chat, client):
    members = client.users_list()["members"]
    staff = {s.chat_id: s for s in chat.world.staff}
    ids = {m["id"] for m in members}
    assert ids == {*staff, chat.world.chat.bot_id, "USLACKBOT"}
    for m in members:
        if m["id"] in staff:
            s = staff[m["id"]]
            assert (m["real_name"], m["profile"]["email"], m["tz"]) == (s.name, s.email, s.timezone)
            assert m["profile"]["title"] == s.title and m["is_bot"] is False
    bot = next(m for m in members if m["id"] == chat.world.chat.bot_id)
    assert bot["is_bot"] is True and bot["profile"]["bot_id"].startswith("B")
    text = str(members)
    assert not any(s.personal_email in text for s in chat.world.staff)


def test_users_list_iterates_every_page(chat, client):
    pages = [page.data for page in client.users_list(limit=4)]
    assert len(pages) == 3
    ids = [m["id"] for p in pages for m in p["members"]]
    assert len(ids) == len(set(ids)) == len(chat.world.staff) + 2
    assert pages[-1]["response_metadata"]["next_cursor"] == ""
    assert error_of(client.users_list, cursor="dGVhbTpDMDYxRkE1UEI=") == "invalid_cursor"  # a channels cursor


def test_users_info_and_lookup_by_email(chat, client):
    lead = next(s for s in chat.world.staff if s.role == "lead")
    info = client.users_info(user=lead.chat_id, include_locale=True)["user"]
    assert (info["name"], info["is_admin"], info["locale"]) == (lead.handle, True, "en-US")
    found = client.users_lookupByEmail(email=lead.email.upper())["user"]
    assert found["id"] == lead.chat_id
    assert error_of(client.users_info, user="U0NOBODY") == "user_not_found"
    assert error_of(client.users_lookupByEmail, email="nobody@example.com") == "users_not_found"
    assert error_of(client.users_lookupByEmail, email=lead.personal_email) == "users_not_found"
    assert error_of(client.api_call, "users.info", params={}) == "invalid_arguments"


def test_users_profile_get_is_the_persons_profile_or_the_bots_own(chat, client):
    person = next(s for s in chat.world.staff if s.role == "engineering")
    profile = client.users_profile_get(user=person.chat_id, include_labels=True)["profile"]
    assert (profile["real_name"], profile["email"], profile["title"]) == (person.name, person.email, person.title)
    assert "team" not in profile and profile == {k: v for k, v in client.users_info(user=person.chat_id)[
        "user"]["profile"].items() if k != "team"}
    assert client.users_profile_get()["profile"]["bot_id"].startswith("B")  # no user: the caller's own
    assert error_of(client.users_profile_get, user="U0NOBODY") == "user_not_found"
