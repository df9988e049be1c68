"""slack_sdk through the real proxy over HTTPS to the chat fake (gunicorn), configured only by the
environment `sandbox env` gives an agent: `WebClient(token=...)` with the default base URL.

slack_sdk reads HTTPS_PROXY from the environment by itself, and its default SSL context trusts
SSL_CERT_FILE (the sandbox CA): nothing else to set.
"""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.episodes.store import EpisodeStore
from sandbox.run.agent_env import agent_env
from sandbox.world import world

pytestmark = pytest.mark.slow
SEED = 7


@pytest.fixture
def episode(running_sandbox):
    store = EpisodeStore(running_sandbox.home)
    yield store.create(SEED)
    store.close()


@pytest.fixture
def agent(running_sandbox, episode, monkeypatch) -> dict[str, str]:
    env = agent_env(running_sandbox.home, episode, running_sandbox.ports)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_webclient_from_the_environment_alone(running_sandbox, episode, agent):
    client = WebClient(token=agent["SLACK_BOT_TOKEN"])
    assert client.base_url == "https://slack.com/api/"
    assert client.proxy == agent["HTTPS_PROXY"]  # read from the environment, not passed in
    chat = world(SEED).chat
    assert agent["SLACK_TOKEN"] == agent["SLACK_BOT_TOKEN"] and agent["SLACK_TEAM_ID"].startswith("T")

    assert client.auth_test()["user_id"] == chat.bot_id
    posted = client.chat_postMessage(channel="#billing", text="Refund issued for the duplicate charge.")
    pages = [page.data for page in client.conversations_history(channel=posted["channel"], limit=5)]
    assert len(pages) > 1
    assert pages[0]["messages"][0]["ts"] == posted["ts"]
    with pytest.raises(SlackApiError) as info:
        client.conversations_history(channel=chat.facts["chat"]["leadership_channel"])
    assert info.value.response["error"] == "channel_not_found"

    with EpisodeStore(running_sandbox.home).ledger(episode.id) as ledger:
        exchanges = ledger.exchanges()
        changes = ledger.state_changes()
    assert {(e["via"], e["host"], e["service"]) for e in exchanges} == {("proxy", "slack.com", "chat")}
    assert [e["path"] for e in exchanges[:2]] == ["/api/auth.test", "/api/chat.postMessage"]
    assert [(c["tbl"], c["op"], c["exchange_id"]) for c in changes] == [("messages", "insert", exchanges[1]["id"])]


def test_unknown_method_and_bad_token_through_the_proxy(running_sandbox, episode, agent):
    with pytest.raises(SlackApiError) as info:
        WebClient(token=agent["SLACK_BOT_TOKEN"]).api_call("chat.postMessages")
    assert (info.value.response.status_code, info.value.response["error"]) == (404, "unknown_method")
    with pytest.raises(SlackApiError) as info:
        WebClient(token="xoxb-forged").auth_test()
    assert info.value.response["error"] == "invalid_auth"
