"""Replay mode through the real proxy: answers from a recording, tolerant matching, misses that
explain themselves and are in the ledger, streams replayed as streams, concurrent callers."""

from __future__ import annotations

import base64
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sandbox.episodes.ledger import Ledger
from sandbox.recordings.format import read_recording
from sandbox.recordings.store import save
from tests.proxy.conftest import agent
from tests.recordings.helpers import SSE_EVENTS, create, finish, sse_server


@pytest.fixture(scope="module")
def recording(world, tmp_path_factory):
    """A recording made through the proxy: JSON, form, a repeated GET, and an SSE stream."""
    path = tmp_path_factory.mktemp("recordings") / "base.jsonl"
    episode = create(world.episodes.store, "record", path)
    s = agent(world.proxy, episode)
    internet = f"http://127.0.0.1:{world.internet.port}"
    answers = {
        "json": s.post(f"{internet}/v1/chat", json={"model": "m", "n": 1, "request_id": "req-1",
                                                    "meta": {"at": "2026-01-01T00:00:00Z", "tag": "x"}}).content,
        "form": s.post("https://api.stripe.com/v1/refunds", data={"charge": "ch_1", "reason": "duplicate"}).content,
        "get1": s.get(f"{internet}/items?page=1&size=5").content,
        "get2": s.get(f"{internet}/items?page=1&size=5").content,
    }
    with sse_server() as port:
        s.post(f"http://127.0.0.1:{port}/v1/messages", json={"stream": True}).close()
        sse_url = f"http://127.0.0.1:{port}/v1/messages"
    path = finish(world.episodes.store, episode)
    return path, answers, sse_url


def replaying(world, path):
    episode = create(world.episodes.store, "replay", path)
    return episode, agent(world.proxy, episode)


def reached(world) -> int:
    return len(world.fake.seen) + len(world.internet.seen)


def test_replay_answers_byte_identical_with_nothing_upstream(world, recording):
    path, answers, _ = recording
    episode, s = replaying(world, path)
    before = reached(world)
    internet = f"http://127.0.0.1:{world.internet.port}"
    # Key order, form order, query order and a volatile request id differ from the recording.
    got = s.post(f"{internet}/v1/chat", json={"request_id": "req-2", "n": 1, "model": "m",
                                               "meta": {"tag": "x", "at": "2026-01-01T00:00:00Z"}})
    assert got.content == answers["json"]
    assert s.post("https://api.stripe.com/v1/refunds", data="reason=duplicate&charge=ch_1",
                  headers={"Content-Type": "application/x-www-form-urlencoded"}).content == answers["form"]
    assert s.get(f"{internet}/items?size=5&page=1").content == answers["get1"]
    assert reached(world) == before  # neither the fake nor the internet saw a thing
    rows = world.episodes.ledger(episode)
    assert [(r["outcome"], r["service"], r["host"], r["status"]) for r in rows] == [
        ("replayed", None, "127.0.0.1", 200), ("replayed", "payments", "api.stripe.com", 200),
        ("replayed", None, "127.0.0.1", 200)]
    assert rows[0]["response_body"] == answers["json"]


def test_a_miss_names_the_closest_recorded_request_and_is_in_the_ledger(world, recording):
    path, _, _ = recording
    episode, s = replaying(world, path)
    miss = s.post(f"http://127.0.0.1:{world.internet.port}/v1/chat", json={"model": "m", "n": 2})
    assert miss.status_code == 502
    error = miss.json()["error"]
    assert error["type"] == "sandbox_replay_miss" and error["recording"] == str(path)
    closest = error["closest"][0]
    assert closest["request"].endswith("/v1/chat") and closest["line"] == 2
    assert "body $.n: 2 != recorded 1" in closest["differences"]
    assert "body $.meta missing" in closest["differences"][0]
    rows = world.episodes.ledger(episode)
    assert [(r["outcome"], r["status"]) for r in rows] == [("replay_miss", 502)]
    with Ledger(world.home.ledger_path(episode.id)) as ledger:
        events = [e for e in ledger.events() if e["kind"] == "replay_miss"]
    assert events[0]["detail"]["exchange_id"] == rows[0]["id"]
    assert events[0]["detail"]["closest"][0]["seq"] == 1


def test_repeated_requests_get_recorded_answers_in_order_then_the_policy_decides(world, recording, tmp_path):
    path, answers, _ = recording
    url = f"http://127.0.0.1:{world.internet.port}/items?page=1&size=5"
    _, s = replaying(world, path)
    assert [s.get(url).content for _ in range(3)] == [answers["get1"], answers["get2"], answers["get2"]]

    strict = read_recording(path)
    strict.header["match"] = {"rules": [{"method": "GET", "path": "/items", "sequence": "in_order"}]}
    save(strict, tmp_path / "strict.jsonl")
    _, s = replaying(world, tmp_path / "strict.jsonl")
    assert [s.get(url).status_code for _ in range(3)] == [200, 200, 502]
    assert "in_order" in s.get(url).json()["error"]["message"]


def test_concurrent_identical_requests_each_get_their_own_recorded_answer(world, recording, tmp_path):
    path, answers, _ = recording
    strict = read_recording(path)
    strict.header["match"] = {"sequence": "in_order"}
    save(strict, tmp_path / "strict.jsonl")
    url = f"http://127.0.0.1:{world.internet.port}/items?page=1&size=5"
    episode, _ = replaying(world, tmp_path / "strict.jsonl")

    def call(_: int) -> int:
        return agent(world.proxy, episode).get(url).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(call, range(4)))
    assert statuses == [200, 200, 502, 502]  # two recorded answers, each given exactly once


def test_miss_policies_refuse_and_forward(world, recording, tmp_path):
    path, _, _ = recording
    for policy, status, outcome in (("refuse", 403, "refused"), ("forward", 200, "routed")):
        edited = read_recording(path)
        edited.header["on_miss"] = policy
        save(edited, tmp_path / f"{policy}.jsonl")
        episode, s = replaying(world, tmp_path / f"{policy}.jsonl")
        answer = s.post("https://api.stripe.com/v1/refunds", data={"charge": "ch_2"})
        assert answer.status_code == status
        assert [r["outcome"] for r in world.episodes.ledger(episode)] == [outcome]
    assert world.fake.last().body == b"charge=ch_2"  # forward: the fake answered


def test_a_replayed_stream_arrives_as_separate_events_in_order(world, recording):
    path, _, sse_url = recording  # the SSE server is stopped by now
    episode = create(world.episodes.store, "replay", path)
    credentials = base64.b64encode(f"{episode.id}:{episode.token}".encode()).decode()
    body = b'{"stream": true}'
    host = sse_url.split("/")[2]
    with socket.create_connection(("127.0.0.1", world.proxy.port), timeout=10) as sock:
        sock.sendall(f"POST {sse_url} HTTP/1.1\r\nHost: {host}\r\nProxy-Authorization: Basic {credentials}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        data = b""
        reads = []
        while not data.endswith(b"\r\n0\r\n\r\n"):
            chunk = sock.recv(65536)
            assert chunk, f"connection closed early: {data!r}"
            reads.append(chunk)
            data += chunk
    head, _, chunked = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head
    events = []
    while chunked:
        size, _, rest = chunked.partition(b"\r\n")
        if int(size, 16) == 0:
            break
        events.append(rest[: int(size, 16)])
        chunked = rest[int(size, 16) + 2:]
    assert events == SSE_EVENTS  # one HTTP chunk per recorded event, in order
    assert len(reads) >= len(SSE_EVENTS)  # and they came apart, not as one buffered body
    assert world.episodes.ledger(episode)[0]["response_body"] == b"".join(SSE_EVENTS)


def test_state_changes_recorded_with_an_exchange_are_replayed_into_the_ledger(world, recording, tmp_path):
    path, _, _ = recording
    edited = read_recording(path)
    effect = {"service": "payments", "seq": 3, "table": "refunds", "key": "re_1", "op": "insert", "before": None,
              "after": {"id": "re_1", "charge": "ch_1"}}
    edited.exchanges[1].effects = [effect]
    save(edited, tmp_path / "effects.jsonl")
    episode, s = replaying(world, tmp_path / "effects.jsonl")
    s.post("https://api.stripe.com/v1/refunds", data={"charge": "ch_1", "reason": "duplicate"})
    with Ledger(world.home.ledger_path(episode.id)) as ledger:
        changes = ledger.state_changes()
        exchange = ledger.exchanges()[0]
    assert [(c["service"], c["tbl"], c["row_key"], c["op"], c["after"], c["exchange_id"]) for c in changes] == [
        ("payments", "refunds", "re_1", "insert", {"id": "re_1", "charge": "ch_1"}, exchange["id"])]


def test_a_broken_recording_answers_with_the_file_and_line(world, recording, tmp_path):
    path, _, _ = recording
    broken = tmp_path / "broken.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    broken.write_text(lines[0] + lines[1][: len(lines[1]) // 2] + "\n" + "".join(lines[2:]))
    _, s = replaying(world, broken)
    answer = s.get(f"http://127.0.0.1:{world.internet.port}/items?page=1&size=5")
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["type"] == "sandbox_replay_unavailable"
    assert f"{broken}:2: not valid JSON" in error["message"]


def test_a_replayed_host_is_answered_even_when_egress_would_refuse_it(world, tmp_path):
    har = tmp_path / "site.jsonl"
    from sandbox.recordings.har import read_har

    rec, _ = read_har(json_har(tmp_path))
    save(rec, har)
    _, s = replaying(world, har)
    answer = s.get("https://docs.example.net/page?x=1")
    assert (answer.status_code, answer.text) == (200, "<h1>recorded</h1>")
    assert s.get("https://elsewhere.example.net/").status_code == 403  # not in the recording: egress refuses


def json_har(tmp_path):
    doc = {"log": {"version": "1.2", "creator": {"name": "test"}, "entries": [{
        "request": {"method": "GET", "url": "https://docs.example.net/page?x=1", "headers": []},
        "response": {"status": 200, "statusText": "OK", "headers": [{"name": "Content-Type", "value": "text/html"}],
                     "content": {"mimeType": "text/html", "text": "<h1>recorded</h1>"}}}]}}
    path = tmp_path / "site.har"
    path.write_text(json.dumps(doc))
    return path


def test_a_browser_har_imports_and_replays(world, tmp_path):
    from sandbox.recordings.har import read_har

    har = Path(__file__).resolve().parents[1] / "fixtures" / "har" / "mitmproxy_chrome.har"
    rec, skipped = read_har(har)
    save(rec, tmp_path / "chrome.jsonl")
    entry = json.loads(har.read_text())["log"]["entries"][2]
    _, s = replaying(world, tmp_path / "chrome.jsonl")
    answer = s.get(entry["request"]["url"])
    assert (skipped, answer.status_code) == (1, 200)
    assert answer.content == base64.b64decode(entry["response"]["content"]["text"])  # the PNG, byte for byte


def _with_effects(recording, tmp_path, name: str, effects: list) -> Path:
    path, _, _ = recording
    lines = path.read_text().splitlines(keepends=True)
    refund = json.loads(lines[2])  # the form POST to the fake
    refund["effects"] = effects
    target = tmp_path / name
    target.write_text("".join(lines[:2]) + json.dumps(refund) + "\n" + "".join(lines[3:]))
    return target


def test_a_hand_edited_effect_is_refused_with_its_line_not_answered_200(world, recording, tmp_path):
    target = _with_effects(recording, tmp_path, "edited.jsonl", [{"service": "x"}])
    episode, s = replaying(world, target)
    answer = s.post("https://api.stripe.com/v1/refunds", data={"charge": "ch_1", "reason": "duplicate"})
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["type"] == "sandbox_replay_unavailable"
    assert f"{target}:3: effects[0].table is missing" in error["message"]


def test_effects_the_ledger_cannot_take_are_a_visible_error_not_a_silent_200(world, recording, tmp_path):
    effect = {"service": "payments", "seq": 3, "table": "refunds", "key": "re_1", "op": "insert", "before": None,
              "after": {"id": "re_1"}}
    target = _with_effects(recording, tmp_path, "effects.jsonl", [effect])
    episode, s = replaying(world, target)
    ledger_path = world.home.ledger_path(episode.id)
    with Ledger(ledger_path) as ledger:  # the ledger still takes exchanges and events, not state changes
        ledger.conn.execute("DROP TABLE state_changes")
    answer = s.post("https://api.stripe.com/v1/refunds", data={"charge": "ch_1", "reason": "duplicate"})
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert error["type"] == "sandbox_replay_ledger_unavailable" and error["line"] == 3
    assert f"{target}:3" in error["message"] and "no such table: state_changes" in error["message"]
    with Ledger(ledger_path) as ledger:
        rows = ledger.exchanges()
        events = [e for e in ledger.events() if e["kind"] == "replay_error"]
    assert [(r["outcome"], r["status"]) for r in rows] == [("error", 503)]
    assert events[0]["detail"]["exchange_id"] == rows[0]["id"] and events[0]["detail"]["line"] == 3
