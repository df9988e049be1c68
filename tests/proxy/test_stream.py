"""Streamed answers in a live episode (neither recording nor replaying) go through as they arrive,
and the ledger still has the whole body: through the real proxy, to a streaming stand-in on 127.0.0.1.

"As they arrive" is shown by order, not timing: the stand-in sends its first piece, then waits on a
gate that the test opens only once the client has that piece. A proxy that buffered would hold the
first piece until the body ends, the body would end only when the gate gave up waiting, and the
stand-in notes that it gave up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import services
from sandbox.episodes.store import Episode
from sandbox.home import Home
from tests.proxy.conftest import Episodes, agent, running_proxy
from tests.recordings.helpers import SSE_EVENTS

GATE_TIMEOUT = 15.0  # only a failing (buffering) proxy ever waits this long
CHUNKS = [b"line one of a chunked body\n", b"line two\n", b"the end\n"]


class Upstream:
    """Serves POST /sse (SSE_EVENTS) and GET /chunked (CHUNKS, text/plain) as chunked bodies without
    a length. `/gated/...` sends the first piece, then waits for `gate` before the rest; `opened`
    says whether the gate was opened (True) or the wait gave up (False)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.opened: bool | None = None
        self.calls: list[str] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, content_type: str, pieces: list[bytes]) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream.calls.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i, piece in enumerate(pieces):
                    if i == 1 and self.path.startswith("/gated/"):
                        upstream.opened = upstream.gate.wait(GATE_TIMEOUT)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            def do_POST(self) -> None:
                self._send("text/event-stream", SSE_EVENTS)

            def do_GET(self) -> None:
                self._send("text/plain; charset=utf-8", CHUNKS)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self) -> None:
        self.gate.clear()
        self.opened = None
        self.calls.clear()


class Live:
    def __init__(self, home: Home, proxy, upstream: Upstream) -> None:
        self.home, self.proxy, self.upstream = home, proxy, upstream
        self.episodes = Episodes(home)

    def create(self, faults: Path | None = None) -> Episode:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(services, "service_ids", list)  # no fake's world: the proxy needs none
            return self.episodes.store.create(seed=7, allowed_hosts=["127.0.0.1"],
                                              faults=str(faults) if faults else None)


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[Live]:
    home = Home.resolve(tmp_path_factory.mktemp("stream-home"))
    upstream = Upstream()
    threading.Thread(target=upstream.server.serve_forever, daemon=True).start()
    try:
        with running_proxy(home) as proxy:  # 127.0.0.1 is reachable through each episode's allowed_hosts
            world = Live(home, proxy, upstream)
            yield world
            world.episodes.store.close()
    finally:
        upstream.server.shutdown()
        upstream.server.server_close()


@pytest.fixture
def upstream(live) -> Upstream:
    live.upstream.reset()
    return live.upstream


def read_gated(response, first_ends: bytes, upstream: Upstream) -> tuple[bytes, bytes]:
    """Read the body up to the end of its first piece, open the gate, read the rest."""
    pieces = response.iter_content(chunk_size=None)
    first = b""
    while first_ends not in first:
        first += next(pieces)
    upstream.gate.set()
    return first, b"".join(pieces)


def test_server_sent_events_reach_the_agent_one_by_one_and_the_ledger_gets_them_all(live, upstream):
    episode = live.create()
    session = agent(live.proxy, episode)
    with session.post(f"{upstream.url}/gated/v1/chat", json={"stream": True}, stream=True, timeout=30) as response:
        assert response.status_code == 200
        first, rest = read_gated(response, b"\n\n", upstream)
    assert upstream.opened is True, "the proxy held the first event until the stream ended"
    assert first == SSE_EVENTS[0]
    assert first + rest == b"".join(SSE_EVENTS)

    # Written when the stream ended, before its last chunk left: no waiting for it here.
    [row] = live.episodes.ledger(episode)
    assert (row["outcome"], row["status"], row["path"]) == ("forwarded", 200, "/gated/v1/chat")
    assert row["response_body"] == b"".join(SSE_EVENTS)
    headers = {k.lower(): v for k, v in row["response_headers"]}
    assert headers["content-type"] == "text/event-stream"
    assert headers["transfer-encoding"] == "chunked"


def test_a_chunked_body_without_a_length_streams_too(live, upstream):
    episode = live.create()
    with agent(live.proxy, episode).get(f"{upstream.url}/gated/export", stream=True, timeout=30) as response:
        first, rest = read_gated(response, CHUNKS[0], upstream)
    assert upstream.opened is True, "the proxy held the first chunk until the body ended"
    assert first == CHUNKS[0] and first + rest == b"".join(CHUNKS)
    [row] = live.episodes.ledger(episode)
    assert (row["outcome"], row["status"], row["response_body"]) == ("forwarded", 200, b"".join(CHUNKS))


def test_a_fault_that_needs_the_whole_answer_still_gets_it(live, upstream, tmp_path):
    """A ghost write replaces a streamed answer with an error: that stream is buffered, so the agent
    gets the error, not a 200 it already half read. A fault that fired in the request (latency)
    does not stop the next stream from streaming."""
    profile = tmp_path / "ghost.yaml"
    profile.write_text("""name: ghost-stream
seed: 1
rules:
  - name: ghost
    match: {host: 127.0.0.1, path: /v1/chat}
    action: {kind: ghost_write, status: 502}
  - name: slow
    match: {host: 127.0.0.1, path: /gated/*}
    action: {kind: latency, lognormal: {median_ms: 1, sigma: 0.1, cap_ms: 5}}
""")
    episode = live.create(faults=profile)
    session = agent(live.proxy, episode)
    ghosted = session.post(f"{upstream.url}/v1/chat", json={"stream": True}, timeout=30)
    assert ghosted.status_code == 502
    assert "error" in ghosted.json()
    assert upstream.calls == ["/v1/chat"]  # the upstream did answer: the write happened

    with session.post(f"{upstream.url}/gated/v1/chat", json={}, stream=True, timeout=30) as response:
        first, rest = read_gated(response, b"\n\n", upstream)
    assert upstream.opened is True and first == SSE_EVENTS[0]

    ghost_row, streamed_row = live.episodes.ledger(episode)
    assert (ghost_row["status"], ghost_row["response_body"]) == (502, ghosted.content)
    assert (streamed_row["status"], streamed_row["response_body"]) == (200, b"".join(SSE_EVENTS))
    with live.episodes.store.ledger(episode.id) as ledger:
        assert [(f["exchange_id"], f["action"]) for f in ledger.faults()] == [
            (ghost_row["id"], "ghost_write"), (streamed_row["id"], "latency")]
