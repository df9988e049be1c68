"""Injected errors and throttling arrive in each vendor's own shape, so the vendors' SDKs react to
them as they would to the real service: zenpy, slack_sdk and PyGithub through the real proxy."""

from __future__ import annotations

import json

import pytest
from github import Auth, Github, GithubException, RateLimitExceededException
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from zenpy import Zenpy

from sandbox.episodes.store import EpisodeStore
from sandbox.run.agent_env import agent_env
from sandbox.world import world

pytestmark = pytest.mark.slow

W = world(7)


@pytest.fixture(scope="module")
def store(running_sandbox):
    s = EpisodeStore(running_sandbox.home)
    yield s
    s.close()


@pytest.fixture
def episode_env(running_sandbox, store, tmp_path, monkeypatch):
    """episode_env(rules) -> (episode, env) of an episode under a profile of `rules`, with the
    environment applied to this process (the SDKs read HTTPS_PROXY and the CA from it)."""

    def make(rules: str):
        path = tmp_path / "profile.yaml"
        path.write_text(f"name: vendors\nseed: 1\nrules:\n{rules}")
        episode = store.create(7, faults=str(path))
        env = agent_env(running_sandbox.home, episode, running_sandbox.ports)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return episode, env

    return make


def faults_of(store, episode) -> list[tuple[str, int | None]]:
    with store.ledger(episode.id) as ledger:
        statuses = {e["id"]: e["status"] for e in ledger.exchanges()}
        return [(f["action"], statuses[f["exchange_id"]]) for f in ledger.faults()]


def test_slack_gets_ok_false_and_ratelimited(episode_env, store):
    episode, env = episode_env("""
  - name: down
    match: {service: chat, path: /api/conversations.list, nth: 1}
    action: {kind: error, status: 500, message: internal_error}
  - name: slow-down
    match: {service: chat, path: /api/users.list, nth: 1}
    action: {kind: rate_limit, retry_after: 1}
""")
    client = WebClient(token=env["SLACK_BOT_TOKEN"])
    with pytest.raises(SlackApiError) as failed:
        client.conversations_list()
    assert failed.value.response.status_code == 500 and failed.value.response["ok"] is False
    with pytest.raises(SlackApiError) as throttled:
        client.users_list()
    assert throttled.value.response.status_code == 429
    assert throttled.value.response["error"] == "ratelimited"
    assert throttled.value.response.headers["Retry-After"] == "1"
    assert client.users_list()["ok"] is True  # only the first call was throttled
    assert faults_of(store, episode) == [("error", 500), ("rate_limit", 429)]


def test_github_gets_its_message_and_rate_limit_headers(episode_env, store):
    episode, env = episode_env("""
  - name: down
    match: {service: code, path: "/orgs/*", nth: 1}
    action: {kind: error, status: 503, message: GitHub is down for maintenance}
  - name: slow-down
    match: {service: code, path: "/repos/*", nth: 1}
    action: {kind: rate_limit, retry_after: 1}
""")
    gh = Github(auth=Auth.Token(env["GITHUB_TOKEN"]), retry=None, seconds_between_requests=0,
                seconds_between_writes=0)
    with pytest.raises(GithubException) as failed:
        gh.get_organization(W.code.org)
    assert failed.value.status == 503 and failed.value.data["message"] == "GitHub is down for maintenance"
    assert "documentation_url" in failed.value.data
    with pytest.raises(RateLimitExceededException) as throttled:
        gh.get_repo(f"{W.code.org}/{W.code.repos[0].name}")
    headers = {k.lower(): v for k, v in throttled.value.headers.items()}
    assert headers["x-ratelimit-remaining"] == "0" and headers["retry-after"] == "1"
    assert gh.get_repo(f"{W.code.org}/{W.code.repos[0].name}").name == W.code.repos[0].name
    # GitHub throttles with a 403 (its primary rate limit); PyGithub only calls that a rate limit.
    assert faults_of(store, episode) == [("error", 503), ("rate_limit", 403)]


def test_zendesk_errors_in_its_shape_and_zenpy_retries_them(episode_env, store):
    episode, env = episode_env("""
  - name: down
    match: {service: helpdesk, path: "/api/v2/tickets/*", nth: 1}
    action: {kind: error, status: 503, message: Zendesk is temporarily unavailable.}
  - name: slow-down
    match: {service: helpdesk, path: "/api/v2/users/*", nth: 1}
    action: {kind: rate_limit, retry_after: 1}
""")
    zd = Zenpy(subdomain=env["ZENDESK_SUBDOMAIN"], email=env["ZENDESK_EMAIL"], token=env["ZENDESK_API_TOKEN"])
    ticket_id = W.facts["double_charge_ticket"]["ticket"]
    # zenpy retries a 503 and waits out a 429's Retry-After by itself: the agent sees success...
    assert zd.tickets(id=ticket_id).id == ticket_id
    assert zd.users.me().email == env["ZENDESK_EMAIL"]
    # ...and the ledger shows what it went through, in Zendesk's own shapes.
    with store.ledger(episode.id) as ledger:
        rows = ledger.exchanges()
    assert [(r["status"], r["outcome"]) for r in rows] == [(503, "faulted"), (200, "routed"),
                                                          (429, "faulted"), (200, "routed")]
    error = json.loads(rows[0]["response_body"])
    assert error["description"] == "Zendesk is temporarily unavailable." and "error" in error
    throttled = {k.lower(): v for k, v in rows[2]["response_headers"]}
    assert throttled["retry-after"] == "1" and throttled["x-rate-limit-remaining"] == "0"
    assert faults_of(store, episode) == [("error", 503), ("rate_limit", 429)]
