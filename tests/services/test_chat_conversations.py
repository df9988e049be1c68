"""conversations.*: listing, reading history and threads, members, joining — through slack_sdk."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from sandbox.world.chat import Message
from tests.services.chat_fixtures import ChatServer, serve_chat


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
    yield from serve_chat(tmp_path_factory)


@pytest.fixture
def episode(chat: ChatServer):
    return chat.episode()


@pytest.fixture
def client(chat: ChatServer, episode):
    return chat.client(episode)


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(SlackApiError) as info:
        call(*args, **kwargs)
    return info.value.response["error"]


def pages_of(response) -> list[dict]:
    """Every page slack_sdk's iteration fetches (the response object is reused: keep each page's data)."""
    return [page.data for page in response]


def top_level(chat: ChatServer, name: str) -> list[Message]:
    """The world's messages of channel `name` that Slack shows in its history, newest first."""
    channel = chat.channel_id(name)
    found = [m for m in chat.world.chat.messages if m.channel_id == channel and not m.thread_ts]
    return sorted(found, key=lambda m: float(m.ts), reverse=True)


def test_list_shows_public_channels_and_hides_the_private_one_the_bot_is_not_in(chat, client):
    world_chat = chat.world.chat
    public = {c.id for c in world_chat.channels if not c.is_private}
    listed = client.conversations_list()
    assert {c["id"] for c in listed["channels"]} == public
    both = client.conversations_list(types="public_channel,private_channel")
    assert {c["id"] for c in both["channels"]} == public  # #leadership: the bot is not a member
    by_name = {c["name"]: c for c in both["channels"]}
    assert by_name["engineering"]["is_member"] is True and by_name["random"]["is_member"] is False
    assert by_name["general"]["is_general"] is True
    members = {c.name: len(c.member_ids) for c in world_chat.channels}
    assert all(c["num_members"] == members[c["name"]] for c in both["channels"])
    assert listed["response_metadata"]["next_cursor"] == ""


def test_list_iterates_every_page_with_small_limits(client):
    pages = pages_of(client.conversations_list(limit=2))
    assert len(pages) == 3
    ids = [c["id"] for page in pages for c in page["channels"]]
    assert len(ids) == len(set(ids)) == 5
    assert ids == sorted(ids)
    assert [bool(p["response_metadata"]["next_cursor"]) for p in pages] == [True, True, False]


def test_list_refuses_unknown_types(client):
    assert error_of(client.conversations_list, types="public_channel,dm") == "invalid_types"


def test_info_describes_a_channel_and_refuses_a_private_one(chat, client):
    info = client.conversations_info(channel=chat.channel_id("billing"), include_num_members=True)["channel"]
    world_billing = next(c for c in chat.world.chat.channels if c.name == "billing")
    assert (info["name"], info["is_private"], info["topic"]["value"]) == ("billing", False, world_billing.topic)
    assert info["num_members"] == len(world_billing.member_ids)
    assert info["is_member"] is True
    assert error_of(client.conversations_info, channel=chat.channel_id("leadership")) == "channel_not_found"
    assert error_of(client.conversations_info, channel="C0NOTACHANNEL") == "channel_not_found"
    assert error_of(client.conversations_info, channel="billing") == "channel_not_found"  # ids only here


def test_history_is_the_top_level_newest_first_without_thread_replies(chat, client):
    expected = top_level(chat, "engineering")
    got = client.conversations_history(channel=chat.channel_id("engineering"))
    assert [m["ts"] for m in got["messages"]] == [m.ts for m in expected]
    assert [m["text"] for m in got["messages"]] == [m.text for m in expected]
    assert got["has_more"] is False and got["response_metadata"]["next_cursor"] == ""
    triage = chat.world.facts["triage_thread"]
    root = next(m for m in got["messages"] if m["ts"] == triage["ts"])
    assert (root["thread_ts"], root["reply_count"], len(root["reply_users"])) == (triage["ts"], 3, 1)
    assert root["latest_reply"] > root["ts"]
    assert all(m["type"] == "message" and m["team"].startswith("T") for m in got["messages"])


def test_history_iterates_every_page(chat, client):
    expected = [m.ts for m in top_level(chat, "support")]
    assert len(expected) > 7, "the world's #support should need several pages of 3"
    pages = pages_of(client.conversations_history(channel=chat.channel_id("support"), limit=3))
    assert len(pages) == -(-len(expected) // 3)
    assert [m["ts"] for page in pages for m in page["messages"]] == expected
    assert all(p["has_more"] for p in pages[:-1]) and not pages[-1]["has_more"]


def test_history_window_latest_oldest_inclusive(chat, client):
    stamps = [m.ts for m in top_level(chat, "support")]
    newest, middle, oldest = stamps[1], stamps[3], stamps[5]
    channel = chat.channel_id("support")
    between = client.conversations_history(channel=channel, latest=newest, oldest=oldest)
    assert [m["ts"] for m in between["messages"]] == stamps[2:5]
    inclusive = client.conversations_history(channel=channel, latest=newest, oldest=oldest, inclusive=True)
    assert [m["ts"] for m in inclusive["messages"]] == stamps[1:6]
    assert middle in [m["ts"] for m in inclusive["messages"]]
    assert error_of(client.conversations_history, channel=channel, latest="yesterday") == "invalid_ts_latest"
    assert error_of(client.conversations_history, channel=channel, oldest="1.2.3") == "invalid_ts_oldest"


def test_history_needs_membership_and_visibility(chat, client):
    assert error_of(client.conversations_history, channel=chat.channel_id("random")) == "not_in_channel"
    assert error_of(client.conversations_history, channel=chat.channel_id("leadership")) == "channel_not_found"


def test_replies_are_the_thread_root_first_and_page(chat, client):
    triage = chat.world.facts["triage_thread"]
    thread = client.conversations_replies(channel=triage["channel"], ts=triage["ts"])
    messages = thread["messages"]
    assert [m["ts"] for m in messages][0] == triage["ts"] and len(messages) == 4
    assert [m["ts"] for m in messages] == sorted(m["ts"] for m in messages)
    assert messages[0]["reply_count"] == 3
    assert all(m["thread_ts"] == triage["ts"] and m["parent_user_id"] == messages[0]["user"] for m in messages[1:])
    assert "assign it to <@" in messages[1]["text"]
    pages = pages_of(client.conversations_replies(channel=triage["channel"], ts=triage["ts"], limit=3))
    assert [len(p["messages"]) for p in pages] == [3, 1]
    assert [m["ts"] for p in pages for m in p["messages"]] == [m["ts"] for m in messages]
    # a reply's ts names the same thread; a message without replies is a thread of one
    by_reply = client.conversations_replies(channel=triage["channel"], ts=messages[2]["ts"])
    assert [m["ts"] for m in by_reply["messages"]] == [m["ts"] for m in messages]
    single = top_level(chat, "engineering")[-1]
    alone = client.conversations_replies(channel=triage["channel"], ts=single.ts)
    assert [m["ts"] for m in alone["messages"]] == [single.ts]


def test_replies_errors(chat, client):
    triage = chat.world.facts["triage_thread"]
    assert error_of(client.conversations_replies, channel=triage["channel"], ts="1000000000.000001") == \
        "thread_not_found"
    assert error_of(client.conversations_replies, channel=triage["channel"], ts="") == "thread_not_found"
    missing = {"channel": triage["channel"]}  # the SDK insists on ts: call the method by name
    assert error_of(client.api_call, "conversations.replies", params=missing) == "invalid_arguments"
    assert error_of(client.conversations_replies, channel=chat.channel_id("random"), ts=triage["ts"]) == \
        "not_in_channel"


def test_members_page_through_the_channel(chat, client):
    general = next(c for c in chat.world.chat.channels if c.name == "general")
    pages = pages_of(client.conversations_members(channel=general.id, limit=4))
    assert len(pages) == 3
    members = [m for p in pages for m in p["members"]]
    assert sorted(members) == sorted(general.member_ids) and len(members) == len(set(members))
    assert error_of(client.conversations_members, channel=general.id, cursor="not-a-cursor") == "invalid_cursor"
    stolen = client.conversations_list(limit=1)["response_metadata"]["next_cursor"]
    assert error_of(client.conversations_members, channel=general.id, cursor=stolen) == "invalid_cursor"
    assert error_of(client.conversations_members, channel=chat.channel_id("leadership")) == "channel_not_found"


def test_join_a_public_channel_then_read_it(chat, client, episode):
    random_id = chat.channel_id("random")
    joined = client.conversations_join(channel=random_id)
    assert joined["channel"]["is_member"] is True and "warning" not in joined
    history = client.conversations_history(channel=random_id, limit=1)["messages"]
    bot = chat.world.chat.bot_id
    assert (history[0]["subtype"], history[0]["user"]) == ("channel_join", bot)
    assert bot in client.conversations_members(channel=random_id)["members"]
    again = client.conversations_join(channel=random_id)
    assert again["warning"] == "already_in_channel"
    assert again["response_metadata"]["warnings"] == ["already_in_channel"]
    assert error_of(client.conversations_join, channel=chat.channel_id("leadership")) == "channel_not_found"
    with chat.ledger(episode) as ledger:
        changes = ledger.state_changes()
    assert [(c["tbl"], c["op"], c["row_key"]) for c in changes][0] == ("members", "insert", f"{random_id}/{bot}")


def test_nothing_of_the_private_channel_is_readable(chat, client):
    leadership = chat.channel_id("leadership")
    secrets = [p.value for p in chat.world.private if p.kind == "private_channel"]
    assert secrets
    for call, kwargs in (
        (client.conversations_info, {}),
        (client.conversations_history, {}),
        (client.conversations_members, {}),
        (client.conversations_replies, {"ts": "1768377600.000500"}),
        (client.conversations_join, {}),
        (client.chat_postMessage, {"text": "hello?"}),
    ):
        assert error_of(call, channel=leadership, **kwargs) == "channel_not_found"
    assert error_of(client.chat_postMessage, channel="#leadership", text="hi") == "channel_not_found"
    seen = "".join(str(p.data) for p in client.conversations_list(types="public_channel,private_channel"))
    for name in ("support", "billing", "engineering", "general"):
        seen += "".join(str(p.data) for p in client.conversations_history(channel=chat.channel_id(name)))
    assert leadership not in seen and not any(secret in seen for secret in secrets)
