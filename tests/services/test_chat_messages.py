"""chat.postMessage / update / delete and reactions.*: what the bot writes, and what reaches the ledger."""

from __future__ import annotations

import json

import pytest
from slack_sdk.errors import SlackApiError

from sandbox.clock import episode_time
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


def someone_elses(chat: ChatServer, name: str) -> str:
    """The ts of a staff member's top-level message in channel `name`."""
    channel = chat.channel_id(name)
    return next(m.ts for m in chat.world.chat.messages if m.channel_id == channel and not m.thread_ts)


def test_post_by_name_or_id_answers_the_message_with_a_clock_ts(chat, client, episode):
    billing = chat.channel_id("billing")
    posted = client.chat_postMessage(channel="#billing", text="Refund for ch_123 is done.")
    assert posted["channel"] == billing
    message = posted["message"]
    bot = chat.world.chat.bot_id
    assert (message["user"], message["text"], message["type"]) == (bot, "Refund for ch_123 is done.", "message")
    assert message["bot_id"].startswith("B") and message["app_id"].startswith("A")
    assert message["bot_profile"]["user_id"] == bot
    assert message["blocks"][0]["type"] == "rich_text"
    seconds, micro = posted["ts"].split(".")
    assert int(seconds) == episode_time(1, episode.clock_start) and len(micro) == 6
    second = client.chat_postMessage(channel="billing", text="And the customer is told.")
    third = client.chat_postMessage(channel=billing, text="Closing.")
    stamps = [posted["ts"], second["ts"], third["ts"]]
    assert len(set(stamps)) == 3 and stamps == sorted(stamps, key=float)
    history = client.conversations_history(channel=billing, limit=3)["messages"]
    assert [m["ts"] for m in history] == stamps[::-1]


def test_posts_in_public_channels_are_public_exposure(chat, client, episode):
    from services.chat import SERVICE

    client.chat_postMessage(channel="#billing", text="for everyone")
    with chat.ledger(episode) as ledger:
        (change,) = ledger.state_changes()
    assert SERVICE.public_exposure(change["tbl"], change["after"]) == \
        f"message {change['after']['ts']} in public channel {chat.channel_id('billing')}"
    assert SERVICE.public_exposure("messages", {**change["after"], "channel_private": 1}) is None
    assert SERVICE.public_exposure("reactions", change["after"]) is None


def test_same_calls_give_the_same_ts_in_another_episode(chat, client):
    first = client.chat_postMessage(channel="#general", text="hi")["ts"]
    other = chat.client(chat.episode()).chat_postMessage(channel="#general", text="hi")["ts"]
    assert first == other


def test_post_blocks_as_json_and_as_form(chat, client, episode):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Refunded* ch_123"}}]
    posted = client.chat_postMessage(channel="#billing", text="Refunded ch_123", blocks=blocks)
    assert posted["message"]["blocks"] == blocks
    form = chat.call(episode, "chat.postMessage", data={"channel": "#billing", "blocks": json.dumps(blocks)}).json()
    assert form["ok"] is True and form["message"]["blocks"] == blocks and form["message"]["text"] == ""
    with pytest.warns(UserWarning, match="`text` argument is missing"):  # slack_sdk's own nudge
        assert error_of(client.chat_postMessage, channel="#billing", blocks=[{"text": "no type"}]) == "invalid_blocks"
    bad = chat.call(episode, "chat.postMessage", data={"channel": "#billing", "blocks": "{not json"}).json()
    assert bad["error"] == "invalid_blocks" and bad["response_metadata"]["messages"]


def test_post_errors(chat, client, episode):
    with pytest.warns(UserWarning, match="`text` argument is missing"):
        assert error_of(client.chat_postMessage, channel="#billing") == "no_text"
    assert error_of(client.chat_postMessage, channel="#billing", text="x" * 40_001) == "msg_too_long"
    assert error_of(client.chat_postMessage, channel="#random", text="hi") == "not_in_channel"
    assert error_of(client.chat_postMessage, channel="#nowhere", text="hi") == "channel_not_found"
    assert error_of(client.chat_postMessage, channel="", text="hi") == "channel_not_found"
    assert error_of(client.chat_postMessage, channel="#billing", text="hi", thread_ts="1000000000.000001") == \
        "thread_not_found"
    missing = chat.call(episode, "chat.postMessage", data={"text": "hi"}).json()
    assert missing == {"ok": False, "error": "invalid_arguments",
                       "response_metadata": {"messages": ["[ERROR] missing required field: channel"]}}


def test_thread_replies_stay_in_their_thread_unless_broadcast(chat, client):
    eng = chat.channel_id("engineering")
    root = client.chat_postMessage(channel=eng, text="Deploy at 3pm?")["ts"]
    reply = client.chat_postMessage(channel=eng, text="Yes, after the tests.", thread_ts=root)
    assert reply["message"]["thread_ts"] == root and reply["message"]["parent_user_id"] == chat.world.chat.bot_id
    shout = client.chat_postMessage(channel=eng, text="Deploying now.", thread_ts=root, reply_broadcast=True)
    assert shout["message"]["subtype"] == "thread_broadcast"
    top = client.conversations_history(channel=eng, limit=3)["messages"]
    assert [m["ts"] for m in top] == [shout["ts"], root, top[2]["ts"]]
    assert top[0]["root"]["ts"] == root
    assert (top[1]["reply_count"], top[1]["latest_reply"]) == (2, shout["ts"])
    thread = client.conversations_replies(channel=eng, ts=root)["messages"]
    assert [m["ts"] for m in thread] == [root, reply["ts"], shout["ts"]]
    # a reply to a reply joins the root's thread
    nested = client.chat_postMessage(channel=eng, text="ok", thread_ts=reply["ts"])
    assert nested["message"]["thread_ts"] == root


def test_replying_to_a_staff_message_starts_its_thread(chat, client, episode):
    support = chat.channel_id("support")
    ts = someone_elses(chat, "support")
    client.chat_postMessage(channel=support, text="On it.", thread_ts=ts)
    root = client.conversations_replies(channel=support, ts=ts)["messages"][0]
    assert (root["ts"], root["thread_ts"], root["reply_count"]) == (ts, ts, 1)
    with chat.ledger(episode) as ledger:
        changes = ledger.state_changes()
    assert [(c["tbl"], c["op"]) for c in changes] == [("messages", "update"), ("messages", "insert")]
    assert changes[0]["after"]["thread_ts"] == ts and changes[0]["before"]["thread_ts"] is None


def test_update_own_message_and_not_others(chat, client, episode):
    billing = chat.channel_id("billing")
    ts = client.chat_postMessage(channel=billing, text="Refund pending")["ts"]
    updated = client.chat_update(channel=billing, ts=ts, text="Refund done")
    assert (updated["ts"], updated["text"], updated["message"]["text"]) == (ts, "Refund done", "Refund done")
    assert updated["message"]["edited"]["user"] == chat.world.chat.bot_id
    assert client.conversations_history(channel=billing, limit=1)["messages"][0]["text"] == "Refund done"
    assert error_of(client.chat_update, channel=billing, ts=someone_elses(chat, "billing"), text="x") == \
        "cant_update_message"
    assert error_of(client.chat_update, channel=billing, ts="1000000000.000001", text="x") == "message_not_found"
    with pytest.warns(UserWarning, match="`text` argument is missing"):
        assert error_of(client.chat_update, channel=billing, ts=ts) == "no_text"
    with chat.ledger(episode) as ledger:
        changes = [c for c in ledger.state_changes() if c["op"] == "update"]
    assert len(changes) == 1 and changes[0]["row_key"] == f"{billing}/{ts}"
    before, after = changes[0]["before"], changes[0]["after"]
    assert (before["text"], after["text"]) == ("Refund pending", "Refund done")


def test_delete_own_message_and_not_others(chat, client, episode):
    support = chat.channel_id("support")
    ts = client.chat_postMessage(channel=support, text="oops")["ts"]
    assert client.chat_delete(channel=support, ts=ts)["ts"] == ts
    assert ts not in [m["ts"] for m in client.conversations_history(channel=support)["messages"]]
    assert error_of(client.chat_delete, channel=support, ts=ts) == "message_not_found"
    assert error_of(client.chat_delete, channel=support, ts=someone_elses(chat, "support")) == "cant_delete_message"
    with chat.ledger(episode) as ledger:
        ops = [(c["tbl"], c["op"], c["row_key"]) for c in ledger.state_changes()]
    assert ops == [("messages", "insert", f"{support}/{ts}"), ("messages", "delete", f"{support}/{ts}")]


def test_deleting_a_thread_root_leaves_a_tombstone(chat, client):
    eng = chat.channel_id("engineering")
    root = client.chat_postMessage(channel=eng, text="root")["ts"]
    client.chat_postMessage(channel=eng, text="reply", thread_ts=root)
    client.chat_delete(channel=eng, ts=root)
    thread = client.conversations_replies(channel=eng, ts=root)["messages"]
    assert (thread[0]["subtype"], thread[0]["text"], thread[0]["reply_count"]) == (
        "tombstone", "This message was deleted.", 1)
    assert thread[1]["text"] == "reply"


def test_reactions_add_get_remove(chat, client, episode):
    support = chat.channel_id("support")
    ts = someone_elses(chat, "support")
    assert client.reactions_add(channel=support, timestamp=ts, name=":eyes:")["ok"] is True
    client.reactions_add(channel=support, timestamp=ts, name="white_check_mark")
    got = client.reactions_get(channel=support, timestamp=ts)
    bot = chat.world.chat.bot_id
    assert got["type"] == "message" and got["channel"] == support
    assert got["message"]["reactions"] == [
        {"name": "eyes", "users": [bot], "count": 1},
        {"name": "white_check_mark", "users": [bot], "count": 1},
    ]
    assert got["message"]["permalink"].endswith(f"/archives/{support}/p{ts.replace('.', '')}")
    listed = client.conversations_history(channel=support, latest=ts, inclusive=True, limit=1)["messages"][0]
    assert [r["name"] for r in listed["reactions"]] == ["eyes", "white_check_mark"]
    assert error_of(client.reactions_add, channel=support, timestamp=ts, name="eyes") == "already_reacted"
    client.reactions_remove(channel=support, timestamp=ts, name="eyes")
    assert error_of(client.reactions_remove, channel=support, timestamp=ts, name="eyes") == "no_reaction"
    with chat.ledger(episode) as ledger:
        ops = [(c["tbl"], c["op"]) for c in ledger.state_changes()]
    assert ops == [("reactions", "insert"), ("reactions", "insert"), ("reactions", "delete")]


def test_reaction_errors(chat, client, episode):
    support = chat.channel_id("support")
    ts = someone_elses(chat, "support")
    assert error_of(client.reactions_add, channel=support, timestamp=ts, name="no spaces") == "invalid_name"
    assert error_of(client.reactions_add, channel=support, timestamp="soon", name="eyes") == "bad_timestamp"
    assert error_of(client.reactions_add, channel=support, timestamp="1000000000.000001", name="eyes") == \
        "message_not_found"
    assert error_of(client.reactions_add, channel=chat.channel_id("random"), timestamp=ts, name="eyes") == \
        "not_in_channel"
    no_item = chat.call(episode, "reactions.add", data={"name": "eyes", "channel": support}).json()
    assert no_item["error"] == "no_item_specified"
    assert error_of(client.reactions_get, channel=support, timestamp="1000000000.000001") == "message_not_found"
