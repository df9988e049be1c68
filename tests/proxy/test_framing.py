"""Exact HTTP: no body on 1xx, 204, 304 or an answer to HEAD, whoever answers (replay, a replay miss,
egress, a fault, a fake, the health check), checked on kept-alive connections through the real
proxy, where a stray body would corrupt the next answer; and the real-world HAR captures replay
exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mitmproxy import http

from sandbox.episodes.store import EpisodeStore
from sandbox.proxy.flows import exact_framing, has_no_body, sandbox_answer
from sandbox.recordings.format import Exchange, RecordedRequest, RecordedResponse, Recording, new_header
from sandbox.recordings.har import read_har
from sandbox.recordings.store import save
from tests.proxy.keepalive import KeepAlive, replay_exactly
from tests.recordings.helpers import create

HARS = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "har").glob("*.har"))


def client(proxy_port: int, episode, ca: Path) -> KeepAlive:
    return KeepAlive(proxy_port, episode.id, episode.token, ca)


# -- the rule -------------------------------------------------------------------------------------


def test_has_no_body_follows_rfc_9110():
    assert [has_no_body("GET", s) for s in (100, 101, 199, 200, 204, 206, 304, 404)] == [
        True, True, True, False, True, False, True, False]
    assert has_no_body("HEAD", 200) and has_no_body("head", 500)


def test_a_head_answer_loses_its_body_but_keeps_the_length_a_get_would_have():
    answer = exact_framing("HEAD", sandbox_answer(502, "sandbox_replay_miss", "no such recorded request"))
    assert answer.raw_content == b""
    get = sandbox_answer(502, "sandbox_replay_miss", "no such recorded request")
    assert answer.headers["content-length"] == str(len(get.raw_content)) != "0"
    chunked = http.Response.make(200, b"", {"Transfer-Encoding": "chunked"})
    chunked.raw_content = b"5\r\nhello\r\n"
    assert "content-length" not in exact_framing("HEAD", chunked).headers  # chunked says it: no length added
    assert chunked.headers["transfer-encoding"] == "chunked"  # as a GET would be framed (RFC 9112 6.1)


def test_204_and_1xx_lose_every_framing_header_and_304_its_chunking():
    for status in (204, 103):
        answer = exact_framing("GET", http.Response.make(status, b"{}", {"Transfer-Encoding": "chunked"}))
        assert (answer.raw_content, "content-length" in answer.headers, "transfer-encoding" in answer.headers) == (
            b"", False, False)
    not_modified = http.Response.make(304, b"<html>cached</html>", {"Transfer-Encoding": "chunked"})
    not_modified.headers["content-length"] = "19"  # what the 200 carried: allowed to stay (RFC 9110 8.6)
    exact_framing("GET", not_modified)
    assert not_modified.raw_content == b"" and "transfer-encoding" not in not_modified.headers
    assert not_modified.headers["content-length"] == "19"


def test_an_answer_with_a_body_is_left_alone():
    answer = http.Response.make(200, b'{"ok": true}', {"Content-Type": "application/json"})
    assert exact_framing("GET", answer).raw_content == b'{"ok": true}'
    assert answer.headers["content-length"] == "12"


def test_headers_alone_are_put_right_before_a_body_is_read():
    answer = http.Response.make(304, b"", {"Transfer-Encoding": "chunked"})
    answer.raw_content = None  # as in `responseheaders`: mitmproxy has not read the body yet
    exact_framing("GET", answer)
    assert answer.raw_content is None and "transfer-encoding" not in answer.headers


# -- replay, through the real proxy ----------------------------------------------------------------


def _recording(tmp_path: Path, *exchanges: Exchange) -> Path:
    header = new_header(name="framing", episode=None, seed=None, task=None, task_spec=None, clock_start=0,
                        source="test", redact={}, match={"sequence": "repeat_last"}, on_miss="error", original=None)
    return save(Recording(header, list(exchanges)), tmp_path / "framing.jsonl")


def _exchange(method: str, path: str, status: int, body: bytes, headers: list[tuple[str, str]]) -> Exchange:
    return Exchange(RecordedRequest(method, "api.stripe.com", path, scheme="https"),
                    RecordedResponse(status, headers=headers, body=body), upstream="imported")


@pytest.fixture
def replayed(world, tmp_path):
    """A replay episode of: a 304 recorded with a body (as browsers' HARs give it) and chunked, a HEAD
    recorded with the GET's length, a stream, and a plain GET."""
    path = _recording(
        tmp_path,
        _exchange("GET", "/page", 304, b"<html>the cached page</html>",
                  [("ETag", '"v1"'), ("Transfer-Encoding", "chunked")]),
        _exchange("HEAD", "/v1/customers", 200, b"", [("Content-Type", "application/json"),
                                                       ("Content-Length", "1079")]),
        Exchange(RecordedRequest("HEAD", "api.stripe.com", "/v1/events", scheme="https"),
                 RecordedResponse(200, headers=[("Content-Type", "text/event-stream")], events=[]),
                 upstream="imported"),
        _exchange("GET", "/v1/balance", 200, b'{"object": "balance"}', [("Content-Type", "application/json")]),
    )
    episode = create(world.episodes.store, "replay", path)
    connection = client(world.proxy.port, episode, world.home.ca_cert)
    yield episode, connection
    connection.close()


def test_a_replayed_304_then_a_get_on_one_kept_alive_connection(replayed):
    _, c = replayed
    first = c.send("GET", "https://api.stripe.com/page", [("If-None-Match", '"v1"')])
    assert (first.status, first.body, first.header("etag")) == (304, b"", '"v1"')
    assert first.header("transfer-encoding") is None
    second = c.send("GET", "https://api.stripe.com/v1/balance")
    assert (second.status, second.body) == (200, b'{"object": "balance"}')
    assert c.opened == 1  # the same connection carried both


def test_a_replayed_head_keeps_its_recorded_length_and_a_stream_answering_head_sends_nothing(replayed, world):
    episode, c = replayed
    head = c.send("HEAD", "https://api.stripe.com/v1/customers")
    assert (head.status, head.body, head.header("content-length")) == (200, b"", "1079")
    stream = c.send("HEAD", "https://api.stripe.com/v1/events")
    assert (stream.status, stream.body) == (200, b"")
    assert c.send("GET", "https://api.stripe.com/v1/balance").body == b'{"object": "balance"}'
    assert c.opened == 1
    rows = world.episodes.ledger(episode)
    assert [(r["method"], r["status"], r["response_body"]) for r in rows][:2] == [
        ("HEAD", 200, None), ("HEAD", 200, None)]  # the ledger has what the agent got: no body


def test_a_head_replay_miss_then_a_get(replayed, world):
    episode, c = replayed
    miss = c.send("HEAD", "https://api.stripe.com/v1/nothing-recorded")
    assert (miss.status, miss.body) == (502, b"")
    assert int(miss.header("content-length")) > 0  # the length of the explanation a GET gets
    assert c.send("GET", "https://api.stripe.com/v1/balance").status == 200
    get_miss = c.send("GET", "https://api.stripe.com/v1/nothing-recorded")
    assert json.loads(get_miss.body)["error"]["type"] == "sandbox_replay_miss"
    assert c.opened == 1
    rows = world.episodes.ledger(episode)
    assert (rows[0]["method"], rows[0]["outcome"], rows[0]["response_body"]) == ("HEAD", "replay_miss", None)


@pytest.mark.parametrize("har", HARS, ids=lambda p: p.stem)
def test_real_world_har_captures_replay_exactly_on_kept_alive_connections(har, world, tmp_path):
    recording, _ = read_har(har)
    path = save(recording, tmp_path / f"{har.stem}.jsonl")
    episode = create(world.episodes.store, "replay", path)
    c = client(world.proxy.port, episode, world.home.ca_cert)
    try:
        results = replay_exactly(c, recording)
    finally:
        c.close()
    assert len(results) == len(recording.exchanges) > 0
    assert {seq: diff for seq, diff in results.items() if diff} == {}


# -- the proxy's own answers, and the faults' -------------------------------------------------------


def test_an_egress_refusal_and_the_health_check_answer_head_without_a_body(world, episode):
    c = client(world.proxy.port, episode, world.home.ca_cert)
    try:
        refused = c.send("HEAD", "http://not-allowed.example/x")
        assert (refused.status, refused.body) == (403, b"")
        again = c.send("GET", "http://not-allowed.example/x")
        assert json.loads(again.body)["error"]["type"] == "sandbox_egress_refused"
        assert c.opened == 1
    finally:
        c.close()
    health = KeepAlive(world.proxy.port, episode.id, episode.token, world.home.ca_cert)
    try:
        assert health.send("HEAD", f"http://127.0.0.1:{world.proxy.port}/_sandbox/health").body == b""
        assert json.loads(health.send("GET", f"http://127.0.0.1:{world.proxy.port}/_sandbox/health").body)[
            "status"] == "ok"
    finally:
        health.close()


FAULT_ANSWERS = """
  - name: down
    match: {method: HEAD, path: /v1/down}
    action: {kind: error, status: 503}
  - name: slow-down
    match: {method: HEAD, path: /v1/throttled}
    action: {kind: rate_limit, retry_after: 2}
  - name: away
    match: {method: HEAD, path: /v1/maintenance}
    action: {kind: maintenance, retry_after: 30}
"""


def test_fault_answers_to_head_carry_no_body(world, tmp_path):
    profile = tmp_path / "profile.yaml"
    profile.write_text(f"name: head-faults\nseed: 1\nrules:{FAULT_ANSWERS}")
    with pytest.MonkeyPatch.context() as mp:
        import services

        mp.setattr(services, "service_ids", list)
        episode = world.episodes.store.create(seed=7, faults=str(profile))
    c = client(world.proxy.port, episode, world.home.ca_cert)
    try:
        for path, status in (("/v1/down", 503), ("/v1/throttled", 429), ("/v1/maintenance", 503)):
            answer = c.send("HEAD", f"https://api.stripe.com{path}")
            assert (answer.status, answer.body) == (status, b"")
            echo = c.send("GET", "https://api.stripe.com/v1/after")  # the stand-in fake answers it
            assert json.loads(echo.body)["path"] == "/v1/after"
        assert c.opened == 1
    finally:
        c.close()
    rows = world.episodes.ledger(episode)
    assert [(r["method"], r["status"], r["outcome"], r["response_body"]) for r in rows if r["method"] == "HEAD"] == [
        ("HEAD", 503, "faulted", None), ("HEAD", 429, "faulted", None), ("HEAD", 503, "faulted", None)]


# -- the fakes, through the proxy --------------------------------------------------------------------


BODY_FAULTS = """
  - name: cut
    match: {method: HEAD, path: /v1/customers}
    action: {kind: truncate, fraction: 0.5}
  - name: broken
    match: {method: HEAD, path: /v1/customers}
    action: {kind: malformed_json}
  - name: slowly
    match: {method: HEAD, path: /v1/charges}
    action: {kind: dribble, chunk_bytes: 16, interval_ms: 1}
  - name: renamed
    match: {method: HEAD, path: /v1/charges}
    action: {kind: drift, ops: [{rename: {field: email, to: email_address}}]}
"""


@pytest.mark.slow
@pytest.mark.parametrize("rules", ["", BODY_FAULTS], ids=["plain", "body-faults"])
def test_head_to_a_fake_then_get_on_one_connection(running_sandbox, tmp_path, rules):
    store = EpisodeStore(running_sandbox.home)
    try:
        faults = None
        if rules:
            faults = tmp_path / "profile.yaml"
            faults.write_text(f"name: body-faults\nseed: 1\nrules:{rules}")
        episode = store.create(7, faults=str(faults) if faults else None)
    finally:
        store.close()
    c = client(running_sandbox.ports["proxy"], episode, running_sandbox.home.ca_cert)
    auth = [("Authorization", f"Bearer {episode.api_keys['payments']}")]
    try:
        for path in ("/v1/customers?limit=2", "/v1/charges?limit=2"):
            head = c.send("HEAD", f"https://api.stripe.com{path}", auth)
            get = c.send("GET", f"https://api.stripe.com{path}", auth)
            assert (head.status, head.body, get.status) == (200, b"", 200)
            assert json.loads(get.body)["object"] == "list"
            assert head.header("content-length") == get.header("content-length")  # what the GET carries
        missing = c.send("HEAD", "https://api.stripe.com/v1/customers/cus_nobody", auth)
        assert (missing.status, missing.body) == (404, b"")
        assert json.loads(c.send("GET", "https://api.stripe.com/v1/customers/cus_nobody", auth).body)["error"]
        assert c.opened == 1
    finally:
        c.close()
