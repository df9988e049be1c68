"""Record mode through the real proxy: what reaches the recording, redacted, and streams kept as events."""

from __future__ import annotations

import json

import pytest

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
