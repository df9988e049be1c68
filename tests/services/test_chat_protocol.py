"""The chat fake's wire protocol: how arguments and tokens arrive, auth, every kind of bad input,
Slack's headers, the OpenAPI document — mostly raw HTTP, where the SDK would not send such things."""

from __future__ import annotations

import json
import re

import pytest
from slack_sdk.errors import SlackApiError

from services.chat import MAX_BODY_BYTES, create_app
from services.chat.errors import rate_limit_headers, vendor_error
from tests.services.chat_fixtures import ChatServer, serve_chat


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
    yield from serve_chat(tmp_path_factory)


@pytest.fixture
def episode(chat: ChatServer):
    return chat.episode()


def test_arguments_by_query_form_or_json(chat, episode):
    token = episode.api_keys["chat"]
    channel = chat.channel_id("engineering")
    by_query = chat.call(None, "conversations.info", verb="GET", params={"token": token, "channel": channel})
    by_form = chat.call(None, "conversations.info", data={"token": token, "channel": channel})
    by_json = chat.call(episode, "conversations.info", json={"channel": channel},
                        headers={"Content-Type": "application/json; charset=utf-8"})
    by_multipart = chat.call(None, "conversations.info", files={"token": (None, token), "channel": (None, channel)})
    for response in (by_query, by_form, by_json, by_multipart):
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert response.json()["channel"]["id"] == channel
        assert "warning" not in response.json()
    # JSON without a charset still works, with Slack's warning
    bare = chat.call(episode, "conversations.info", data=json.dumps({"channel": channel}),
                     headers={"Content-Type": "application/json"}).json()
    assert (bare["ok"], bare["warning"], bare["response_metadata"]["warnings"]) == (
        True, "missing_charset", ["missing_charset"])


def test_json_limit_may_be_a_number(chat, episode):
    got = chat.call(episode, "users.list", json={"limit": 2}).json()
    assert len(got["members"]) == 2 and got["response_metadata"]["next_cursor"]


@pytest.mark.parametrize("token, error", [(None, "not_authed"), ("xoxb-not-a-real-token", "invalid_auth"),
                                          ("Basic Zm9vOmJhcg==", "invalid_auth")])
def test_missing_or_wrong_token(chat, token, error):
    headers = {"Authorization": token if token and " " in token else f"Bearer {token}"} if token else {}
    response = chat.call(None, "auth.test", headers=headers)
    assert (response.status_code, response.json()) == (200, {"ok": False, "error": error})


def test_a_token_in_a_json_body_is_not_read(chat, episode):
    response = chat.call(None, "auth.test", json={"token": episode.api_keys["chat"]})
    assert response.json()["error"] == "not_authed"


def test_sdk_sees_auth_errors_and_a_finished_episode(chat, episode):
    with pytest.raises(SlackApiError) as info:
        chat.client(episode, token="xoxb-wrong").auth_test()
    assert info.value.response["error"] == "invalid_auth"
    client = chat.client(episode)
    assert client.auth_test()["ok"] is True
    chat.store.finish(episode.id)
    with pytest.raises(SlackApiError) as info:
        client.conversations_list()
    assert (info.value.response.status_code, info.value.response["error"]) == (200, "account_inactive")


def test_unknown_method_is_404_with_or_without_a_token(chat, episode):
    for who in (episode, None):
        response = chat.call(who, "conversations.lists")
        assert response.status_code == 404
        assert response.json() == {"ok": False, "error": "unknown_method", "req_method": "conversations.lists"}
    with pytest.raises(SlackApiError) as info:
        chat.client(episode).api_call("chat.postMessages", params={"channel": "#general", "text": "x"})
    assert info.value.response.status_code == 404


def test_wrong_http_method_is_405(chat, episode):
    response = chat.call(episode, "auth.test", verb="PUT")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_oversized_body_is_413(chat, episode):
    body = "text=" + "x" * (MAX_BODY_BYTES + 10) + "&channel=%23general"
    response = chat.call(episode, "chat.postMessage", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"


@pytest.mark.parametrize("body, content_type, error", [
    (b'{"channel": ', "application/json; charset=utf-8", "invalid_json"),
    (b'["channel"]', "application/json; charset=utf-8", "json_not_object"),
    (b'{"channel": "C1"}', "application/json; charset=klingon", "invalid_charset"),
    (b"channel=%ff%fe", "application/x-www-form-urlencoded", "invalid_form_data"),
    (b"channel=C1", "text/csv", "invalid_post_type"),
    (b"channel=C1", "", "missing_post_type"),
    (b"channel[]=C1", "application/x-www-form-urlencoded", "invalid_array_arg"),
    (b"chan%20nel=C1", "application/x-www-form-urlencoded", "invalid_arg_name"),
])
def test_malformed_bodies(chat, episode, body, content_type, error):
    response = chat.call(episode, "conversations.info", data=body, headers={"Content-Type": content_type})
    assert response.status_code == 200
    assert response.json()["ok"] is False and response.json()["error"] == error


@pytest.mark.parametrize("method, args, error", [
    ("conversations.history", {"channel": "ENGINEERING", "limit": "abc"}, "invalid_arguments"),
    ("conversations.history", {"channel": "ENGINEERING", "inclusive": "maybe"}, "invalid_arguments"),
    ("conversations.history", {"channel": "ENGINEERING", "cursor": "bm9wZQ=="}, "invalid_cursor"),
    ("conversations.history", {}, "invalid_arguments"),
    ("conversations.info", {"channel": ""}, "channel_not_found"),
    ("conversations.list", {"limit": "1.5"}, "invalid_arguments"),
    ("users.lookupByEmail", {}, "invalid_arguments"),
])
def test_wrong_types_and_missing_arguments(chat, episode, method, args, error):
    args = {k: chat.channel_id("engineering") if v == "ENGINEERING" else v for k, v in args.items()}
    body = chat.call(episode, method, data=args).json()
    assert (body["ok"], body["error"]) == (False, error)
    if error == "invalid_arguments":
        assert body["response_metadata"]["messages"][0].startswith("[ERROR] ")


def test_slack_headers(chat, episode):
    first = chat.call(episode, "conversations.history", data={"channel": chat.channel_id("engineering")})
    second = chat.call(episode, "auth.test")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["X-Slack-Req-Id"])
    assert first.headers["X-Slack-Req-Id"] != second.headers["X-Slack-Req-Id"]
    assert "chat:write" in first.headers["X-OAuth-Scopes"].split(",")
    assert first.headers["X-Accepted-OAuth-Scopes"].startswith("channels:history")
    with chat.ledger(episode) as ledger:
        exchanges = ledger.exchanges()
    assert [(e["via"], e["path"], e["status"]) for e in exchanges] == [
        ("direct", "/api/conversations.history", 200), ("direct", "/api/auth.test", 200)]


def test_a_bug_answers_slacks_500(chat, episode):
    app = create_app({"home": chat.home})

    @app.route("/api/sandbox.crash", methods=["POST"])
    def crash():
        raise RuntimeError("boom")

    response = app.test_client().post("/api/sandbox.crash",
                                      headers={"Authorization": f"Bearer {episode.api_keys['chat']}"})
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal_error"


def test_health_and_openapi_list_exactly_the_served_methods(chat):
    import requests

    assert requests.get(f"{chat.url}/_sandbox/health", timeout=10).json() == {"ok": True, "service": "chat"}
    document = requests.get(f"{chat.url}/_sandbox/openapi.json", timeout=10).json()
    app = create_app({"home": chat.home})
    served = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/")}
    assert set(document["paths"]) == served
    assert {"/api/chat.postMessage", "/api/conversations.history", "/api/users.lookupByEmail"} <= served
    assert document["servers"] == [{"url": "https://slack.com"}]


def test_fault_hooks_answer_in_slacks_shape():
    headers, body = vendor_error(429, "slow down")
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"ok": False, "error": "ratelimited",
                                "response_metadata": {"messages": ["[ERROR] slow down"]}}
    assert json.loads(vendor_error(503, "")[1]) == {"ok": False, "error": "service_unavailable"}
    assert rate_limit_headers(7) == {"Retry-After": "7"}
