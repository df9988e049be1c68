"""Record mode through the real proxy: what reaches the recording, redacted, and streams kept as events."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from sandbox.recordings.format import read_recording
from sandbox.recordings.scan import scan_file
from tests.proxy.conftest import agent
from tests.recordings.helpers import SSE_EVENTS, create, finish, sse_server

STRIPE_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
LLM_KEY = "sk-proj-Zr9qXbT2mKcLw8vHsYd3nQpA"


@pytest.fixture(scope="module")
def recorded(world, tmp_path_factory):
    """One recorded episode: a routed call to the fake, a forwarded call to the internet stand-in
    with secrets in header, query, cookie and JSON body, and a streamed (SSE) answer."""
    path = tmp_path_factory.mktemp("recordings") / "run.jsonl"
    episode = create(world.episodes.store, "record", path)
    session = agent(world.proxy, episode)
    answers = [
        session.get("https://api.stripe.com/v1/customers?limit=2", headers={"Authorization": f"Bearer {STRIPE_KEY}"}),
        session.post(f"http://127.0.0.1:{world.internet.port}/v1/chat?api_key={LLM_KEY}&q=hi",
                     json={"model": "m", "api_key": LLM_KEY, "nested": {"password": "hunter2-hunter2"}},
                     headers={"Cookie": "session=abc123secret; theme=dark"}),
    ]
    with sse_server() as port:
        stream = session.post(f"http://127.0.0.1:{port}/v1/messages", json={"stream": True}, stream=True)
        pieces = list(stream.iter_content(None))
    partial_files = list(path.parent.glob("*.partial"))
    written = finish(world.episodes.store, episode)
    return written, answers, pieces, partial_files


def test_the_recording_has_one_line_per_answered_exchange_with_its_upstream(recorded):
    path, answers, _, partial_files = recorded
    assert [p.name.endswith(".partial") for p in partial_files] == [True]  # written while recording...
    assert sorted(p.name for p in path.parent.iterdir()) == ["run.jsonl"]  # ...then renamed, nothing left over
    rec = read_recording(path)
    assert rec.header["format"] == "agent-sandbox-recording" and rec.header["version"] == 1
    assert rec.header["count"] == 3 and rec.header["seed"] == 7
    assert [(e.upstream, e.request.method, e.request.host, e.request.path) for e in rec.exchanges] == [
        ("fake:payments", "GET", "api.stripe.com", "/v1/customers"),
        ("real", "POST", "127.0.0.1", "/v1/chat"),
        ("real", "POST", "127.0.0.1", "/v1/messages"),
    ]
    first = rec.exchanges[0]
    assert (first.request.scheme, first.request.port, first.request.query) == ("https", 443, "limit=2")
    assert first.response.body == answers[0].content  # the fake's answer, byte for byte
    assert first.clock == rec.header["clock_start"] + first.exchange
    assert not any(k.lower().startswith("x-sandbox-") for k, _ in first.request.headers)
    assert [r[:4] for r in rec.header["original"]["exchanges"]] == [
        ["GET", "api.stripe.com", "/v1/customers", 200], ["POST", "127.0.0.1", "/v1/chat", 200],
        ["POST", "127.0.0.1", "/v1/messages", 200]]


def test_secrets_are_redacted_before_they_reach_the_disk(recorded):
    path, _, _, _ = recorded
    text = path.read_text()
    for secret in (STRIPE_KEY, LLM_KEY, "abc123secret", "hunter2-hunter2"):
        assert secret not in text
    rec = read_recording(path)
    stripe_call, chat = rec.exchanges[0], rec.exchanges[1]
    assert stripe_call.request.header("authorization") == "Bearer REDACTED"
    assert chat.request.header("cookie") == "session=REDACTED; theme=REDACTED"
    assert chat.request.query == "api_key=REDACTED&q=hi"
    assert json.loads(chat.request.body) == {"model": "m", "api_key": "REDACTED", "nested": {"password": "REDACTED"}}
    # The stand-in echoed the key in its answer: replayed redacted, the rest of the body untouched.
    assert "sk-REDACTED" in chat.response.body.decode() and '"method": "POST"' in chat.response.body.decode()
    assert scan_file(path) == []


def test_a_stream_is_recorded_event_by_event(recorded):
    path, _, pieces, _ = recorded
    assert b"".join(pieces) == b"".join(SSE_EVENTS)
    streamed = read_recording(path).exchanges[2].response
    assert [e.data for e in streamed.events] == SSE_EVENTS
    assert all(e.delay_ms >= 0 for e in streamed.events)
    assert streamed.header("content-type") == "text/event-stream"


# -- the sandbox's own keys, wherever an agent puts them --------------------------------------------


def keys(tail: str) -> dict[str, str]:
    """One key per registered fake, shaped as EpisodeStore makes them: prefix + token_urlsafe(18),
    so with '-' and '_' in it."""
    import services

    return {service: services.get_service(service).key_prefix + f"{tail}-{i}_Qz8-mW_pK"
            for i, service in enumerate(services._MODULES)}


def send_pasted_keys(session, internet: str, k: dict[str, str], password: str) -> list:
    """Each key somewhere else: a query string, a JSON body, a form body, a header, a Basic header
    (zenpy's `email/token:token`) and pasted into text; the stand-in echoes path, query and body."""
    basic = base64.b64encode(f"agent@acme.test/token:{password}".encode()).decode()
    return [
        session.get(f"{internet}/v1/search?note=mine+is+{k['payments']}&q=x"),
        session.post(f"{internet}/repos/acme/app/issues", json={"title": "help", "body": f"my token {k['code']} fails",
                                                                 "comment": f"and {k['helpdesk']} too {password}"},
                     headers={"Authorization": f"Basic {basic}", "X-Debug": f"key={k['chat']}"}),
        session.post(f"{internet}/api/chat.postMessage", data={"channel": "C1", "text": f"use {k['chat']} {password}"},
                     headers={"Authorization": f"Basic {basic}"}),
    ]


@pytest.fixture(scope="module")
def pasted(world, tmp_path_factory):
    path = tmp_path_factory.mktemp("recordings") / "pasted.jsonl"
    episode = create(world.episodes.store, "record", path)
    internet = f"http://127.0.0.1:{world.internet.port}"
    sent = keys("Ab1-cD2_eF3")
    answers = send_pasted_keys(agent(world.proxy, episode), internet, sent, "plain-password-4711")
    return finish(world.episodes.store, episode), sent, answers


def test_pasted_keys_of_every_fake_never_reach_the_recording(pasted):
    path, sent, answers = pasted
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all("Ab1-cD2_eF3" in a.text for a in answers)  # the stand-in echoed them: in the response too
    text = path.read_text()
    for secret in [*sent.values(), "plain-password-4711", "Ab1-cD2_eF3", "Qz8-mW_pK"]:
        assert secret not in text, secret
    assert scan_file(path) == []
    search, issue, chat = read_recording(path).exchanges
    assert search.request.query == "note=mine+is+sk_test_REDACTED&q=x"
    assert json.loads(issue.request.body) == {"title": "help", "body": "my token ghp_REDACTED fails",
                                              "comment": "and zdt_REDACTED too REDACTED"}
    assert issue.request.header("authorization") == "Basic REDACTED"
    assert issue.request.header("x-debug") == "key=xoxb-REDACTED"
    assert chat.request.body == b"channel=C1&text=use+xoxb-REDACTED+REDACTED"


def test_a_recording_with_pasted_keys_replays_for_another_episodes_keys(world, pasted):
    path, _, recorded = pasted
    episode = create(world.episodes.store, "replay", path)
    internet = f"http://127.0.0.1:{world.internet.port}"
    answers = send_pasted_keys(agent(world.proxy, episode), internet, keys("Zz9-yY8_xX7"), "other-password-0815")
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.content for a in answers] == [read_recording(path).exchanges[i].response.body for i in range(3)]
    assert [r["outcome"] for r in world.episodes.ledger(episode)] == ["replayed"] * 3


def test_an_agent_pasting_its_keys_into_an_issue_and_a_comment_leaves_none_in_the_recording(
        running_sandbox, tmp_path, monkeypatch):
    """End to end through the sandbox's own proxy and fakes: PyGithub files an issue quoting the
    agent's GitHub key, zenpy comments with its Zendesk token (which it also sends as Basic auth)."""
    from github import Auth, Github
    from zenpy import Zenpy
    from zenpy.lib.api_objects import Comment

    from sandbox.episodes.store import EpisodeStore
    from sandbox.run.agent_env import agent_env
    from sandbox.run.runner import finish_and_score
    from sandbox.world import world as make_world

    home = running_sandbox.home
    store = EpisodeStore(home)
    path = tmp_path / "pasted-e2e.jsonl"
    episode = store.create(7, mode="record", recording=str(path))
    env = agent_env(home, episode, running_sandbox.ports)
    github_key, zendesk_key = env["GITHUB_TOKEN"], env["ZENDESK_API_TOKEN"]
    for name in ("HTTPS_PROXY", "https_proxy", "REQUESTS_CA_BUNDLE", "NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, env[name])
    github = Github(auth=Auth.Token(github_key), retry=None, seconds_between_requests=None,
                    seconds_between_writes=None)
    repo = github.get_repo(f"{env['GITHUB_ORG']}/{make_world(7).code.repos[0].name}")
    issue = repo.create_issue("Token rejected", body=f"The API says no to my token {github_key}, why?")
    github.close()
    session = requests.Session()
    session.trust_env = False
    session.proxies = {"https": env["HTTPS_PROXY"]}
    session.verify = env["SSL_CERT_FILE"]
    zd = Zenpy(subdomain=env["ZENDESK_SUBDOMAIN"], email=env["ZENDESK_EMAIL"], token=zendesk_key, session=session,
               disable_cache=True)
    ticket = zd.tickets(id=make_world(7).facts["double_charge_ticket"]["ticket"])
    ticket.comment = Comment(body=f"Debug: my Zendesk token is {zendesk_key}", public=False)
    zd.tickets.update(ticket)
    try:
        finish_and_score(store, episode.id)
    finally:
        store.close()

    assert github_key in issue.body  # the fake took it as sent: the recording is what must not
    text = path.read_text()
    assert github_key not in text and zendesk_key not in text
    assert github_key[4:] not in text and zendesk_key[4:] not in text
    assert scan_file(path) == []
    rec = read_recording(path)
    posted = next(e for e in rec.exchanges if e.request.method == "POST" and e.request.path.endswith("/issues"))
    assert "my token ghp_REDACTED, why?" in json.loads(posted.request.body)["body"]
    assert any(effect["table"] == "issues" and "ghp_REDACTED" in json.dumps(effect["after"])
               for effect in posted.effects)
    comment = next(e for e in rec.exchanges if e.request.method == "PUT")
    assert comment.request.header("authorization") == "Basic REDACTED"
    assert "my Zendesk token is zdt_REDACTED" in comment.request.body.decode()
