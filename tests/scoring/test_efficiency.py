"""Efficiency counts the vendors' in-band errors: Slack's HTTP 200 `ok:false` (from a real chat fake
through the real proxy, read back from the real ledger), GraphQL's `errors`; status-based vendors
are left to their status."""

from __future__ import annotations

import json

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.episodes.store import EpisodeStore
from sandbox.run.agent_env import agent_env
from sandbox.scoring.efficiency import Efficiency, failed, in_band, measure


def row(n: int, host: str, path: str, status: int, body: object, service: str | None = None,
        method: str = "POST") -> dict:
    raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    return {"id": n, "method": method, "host": host, "path": path, "query": "", "status": status,
            "service": service, "outcome": "routed", "error": None, "response_body": raw,
            "request_body": b"channel=C1", "started_at": 100.0 + n, "duration_ms": 5}


def test_slack_ok_false_is_an_error_and_ok_true_is_not():
    rows = [row(1, "slack.com", "/api/chat.postMessage", 200, {"ok": False, "error": "channel_not_found"}, "chat"),
            row(2, "slack.com", "/api/chat.postMessage", 200, {"ok": True, "ts": "1.2"}, "chat"),
            row(3, "slack.com", "/api/auth.test", 200, {"ok": True, "warning": "missing_charset"}, "chat")]
    figures = measure(rows, [])
    assert (figures.errors, figures.retries) == (1, 1)  # the second post repeats a failed one
    assert figures.in_band == ("POST slack.com/api/chat.postMessage: channel_not_found",)
    assert figures.line() == ("efficiency: 3 calls, 1 errors (1 with a success status: POST slack.com"
                              "/api/chat.postMessage: channel_not_found), 1 retries, 0 duplicated writes")


def test_the_service_is_found_by_host_when_the_ledger_names_none():
    # A replayed import has no service: slack.com is still the chat fake's vendor.
    assert in_band(row(1, "slack.com", "/api/conversations.info", 200, {"ok": False, "error": "not_in_channel"})) \
        == "not_in_channel"
    assert in_band(row(1, "example.org", "/api/x", 200, {"ok": False, "error": "nope"})) is None


def test_a_slack_body_cut_at_the_ledger_cap_still_tells():
    cut = b'{"ok":false,"error":"invalid_blocks","response_metadata":{"messages":["' + b"x" * 500
    assert in_band(row(1, "slack.com", "/api/chat.postMessage", 200, cut, "chat")) == "invalid_blocks"
    assert in_band(row(1, "slack.com", "/api/chat.postMessage", 200, b'{"ok":true,"messages":["x', "chat")) is None


def test_graphql_errors_with_a_200_are_errors_and_rest_answers_are_not():
    errors = {"data": {"repository": None}, "errors": [{"type": "NOT_FOUND", "message": "Could not resolve"},
                                                       {"type": "FORBIDDEN", "message": "no"}]}
    assert in_band(row(1, "api.github.com", "/graphql", 200, errors, "code")) == "NOT_FOUND (+1 more)"
    assert in_band(row(1, "api.github.com", "/graphql", 200, {"data": {"viewer": {"login": "x"}}}, "code")) is None
    # REST answers carrying a field named `errors` are not GraphQL errors.
    assert in_band(row(1, "api.github.com", "/repos/a/b/issues", 200, {"errors": ["x"]}, "code")) is None


def test_status_based_vendors_and_error_statuses_are_counted_once():
    stripe = row(1, "api.stripe.com", "/v1/refunds", 200, {"object": "refund", "error": None, "ok": False},
                 "payments")
    slack_500 = row(2, "slack.com", "/api/chat.postMessage", 500, {"ok": False, "error": "internal_error"}, "chat")
    assert (in_band(stripe), failed(stripe)) == (None, False)
    assert (in_band(slack_500), failed(slack_500)) == (None, True)  # already an error by its status
    assert measure([stripe, slack_500], []).errors == 1


def test_no_in_band_errors_keep_the_line_as_it_was():
    assert Efficiency(3, 0, 0, 0, 1.0).line() == "efficiency: 3 calls, 0 errors, 0 retries, 0 duplicated writes"


@pytest.mark.slow
def test_a_post_to_a_missing_channel_through_the_proxy_is_one_error_named_in_the_line(running_sandbox,
                                                                                     monkeypatch):
    store = EpisodeStore(running_sandbox.home)
    try:
        episode = store.create(7)
        for name, value in agent_env(running_sandbox.home, episode, running_sandbox.ports).items():
            monkeypatch.setenv(name, value)
        client = WebClient(token=episode.api_keys["chat"])
        client.chat_postMessage(channel="#billing", text="Refund issued.")
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel="#no-such-channel", text="Refund issued.")
        with store.ledger(episode.id) as ledger:
            exchanges = ledger.exchanges()
    finally:
        store.close()
    assert [(e["status"], e["service"]) for e in exchanges] == [(200, "chat"), (200, "chat")]  # both HTTP 200
    figures = measure(exchanges, [])
    assert (figures.calls, figures.errors) == (2, 1)
    assert "1 errors (1 with a success status: POST slack.com/api/chat.postMessage: channel_not_found)" in \
        figures.line()
