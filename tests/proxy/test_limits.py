"""Body limits through the real proxy: bodies over the home's max_body_bytes are refused unread and
leave a ledger row saying so; what the ledger keeps of a body is capped; secrets never reach it.

Small limits (limits.json in the test home: 64 KiB bodies, 1 KiB kept in the ledger) keep it fast.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from sandbox.home import Home
from sandbox.limits import Limits, save_limits
from tests.proxy.conftest import Episodes, ProxyProcess, StandIn, agent, running_proxy, stand_in

pytestmark = pytest.mark.slow

LIMIT = 64 * 1024
CAP = 1024
BIG = b"z" * (4 * LIMIT)


class Upstream:
    """An allow-listed host on 127.0.0.1 with bodies over the limit: /big (Content-Length), /chunked
    (JSON, chunked, so buffered), /sse (an event stream, chunked: streamed through)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path == "/big":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(BIG)))
                    self.end_headers()
                    self._write(BIG)
                    return
                kind = "text/event-stream" if self.path == "/sse" else "application/json"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(len(BIG) // 4096):
                    piece = f"data: {i:06d}\n\n".encode().ljust(4096, b".")
                    if not self._write(b"%x\r\n%s\r\n" % (len(piece), piece)):
                        return
                self._write(b"0\r\n\r\n")

            def _write(self, data: bytes) -> bool:
                try:
                    self.wfile.write(data)
                    return True
                except OSError:  # the proxy cut it, as it should
                    return False

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Setup:
    home: Home
    proxy: ProxyProcess
    fake: StandIn
    internet: StandIn
    upstream: Upstream
    episodes: Episodes


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Iterator[Setup]:
    home = Home.resolve(tmp_path_factory.mktemp("limits-home"))
    save_limits(home, Limits(max_body_bytes=LIMIT, ledger_body_bytes=CAP))
    upstream = Upstream()
    try:
        with stand_in() as fake, stand_in() as internet:
            args = ["--service", f"payments={fake.port}", "--route", "api.stripe.com=payments",
                    "--allow-host", "127.0.0.1"]
            with running_proxy(home, *args) as proxy:
                episodes = Episodes(home)
                yield Setup(home, proxy, fake, internet, upstream, episodes)
                episodes.store.close()
    finally:
        upstream.close()


def _refused_row(setup: Setup, episode) -> dict:
    [row] = setup.episodes.ledger(episode)
    assert row["outcome"] == "refused" and row["status"] is None, row
    assert f"max_body_bytes of {LIMIT} bytes" in row["error"] and "Fix:" in row["error"]
    return row


def test_a_request_over_the_limit_by_content_length_gets_413_unread(setup):
    """Plain HTTP, headers only: the 413 comes back although not one byte of the body was sent."""
    episode = setup.episodes.create()
    credentials = base64.b64encode(f"{episode.id}:{episode.token}".encode()).decode()
    head = (f"POST http://api.stripe.com/v1/files HTTP/1.1\r\nHost: api.stripe.com\r\n"
            f"Proxy-Authorization: Basic {credentials}\r\nContent-Length: {300 * 1024 * 1024}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", setup.proxy.port), timeout=10) as sock:
        sock.sendall(head.encode())
        answer = b""
        while chunk := sock.recv(65536):  # the proxy closes the connection after its answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 ")
    head, _, body = answer.partition(b"\r\n\r\n")
    # Stripe's error object, not mitmproxy's HTML page; and the connection is closed, the body unread.
    assert json.loads(body)["error"]["type"] == "invalid_request_error", body
    assert b"Request entity too large" in body and b"connection: close" in head.lower()
    row = _refused_row(setup, episode)
    assert "Content-Length: 314572800 bytes" in row["error"] and row["service"] == "payments"
    assert (row["method"], row["host"], row["path"], row["request_body"]) == ("POST", "api.stripe.com", "/v1/files",
                                                                            None)
    assert not any(seen.path == "/v1/files" for seen in setup.fake.seen)  # never reached the fake


def test_a_chunked_request_over_the_limit_is_refused(setup):
    episode = setup.episodes.create()
    response = agent(setup.proxy, episode).post("http://api.stripe.com/v1/files",
                                                data=(b"y" * 16384 for _ in range(64)), timeout=10)
    assert response.status_code == 413
    assert "Request entity too large" in response.json()["error"]["message"]
    row = _refused_row(setup, episode)
    assert "no Content-Length" in row["error"]


def test_over_the_limit_over_https_is_refused_and_recorded(setup):
    """Through CONNECT + TLS the connection is closed mid-upload, so the client may see the close
    rather than the 413 (mitmproxy reads no more of a refused body); the ledger has the row either way."""
    episode = setup.episodes.create()
    try:
        session = agent(setup.proxy, episode)
        status = session.post("https://api.stripe.com/v1/files", data=BIG * 4, timeout=10).status_code
    except requests.ConnectionError:
        status = None
    assert status in (413, None)
    _refused_row(setup, episode)


def test_a_response_over_the_limit_is_cut_and_recorded(setup):
    for path in ("/big", "/chunked"):
        episode = setup.episodes.create()
        session = agent(setup.proxy, episode)
        assert session.get(f"http://127.0.0.1:{setup.upstream.port}{path}", timeout=10).status_code == 502
        row = _refused_row(setup, episode)
        assert row["error"].startswith("body limit: response body"), path


def test_a_stream_passes_and_the_ledger_keeps_its_head_length_and_digest(setup):
    episode = setup.episodes.create()
    response = agent(setup.proxy, episode).get(f"http://127.0.0.1:{setup.upstream.port}/sse", timeout=10)
    assert response.status_code == 200 and len(response.content) == len(BIG)
    [row] = setup.episodes.ledger(episode)
    assert row["outcome"] == "forwarded" and row["response_body"] == response.content[:CAP]
    assert (row["response_body_size"], row["response_body_sha256"], row["response_body_truncated"]) == (
        len(BIG), hashlib.sha256(response.content).hexdigest(), 1)


def test_bodies_under_the_limit_are_capped_in_the_ledger(setup):
    episode = setup.episodes.create()
    body = b"0123456789abcdef" * 1600  # 25,600 bytes: under the limit, over the cap
    response = agent(setup.proxy, episode).post("https://api.stripe.com/v1/files", data=body, timeout=10)
    assert response.status_code == 200 and setup.fake.last().body == body  # the fake got all of it
    [row] = setup.episodes.ledger(episode)
    assert row["request_body"] == body[:CAP] and row["request_body_truncated"] == 1
    assert (row["request_body_size"], row["request_body_sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    assert row["response_body_size"] == len(response.content)


def test_the_proxy_survives_and_still_answers(setup):
    episode = setup.episodes.create()
    for _ in range(3):
        try:
            agent(setup.proxy, episode).post("http://api.stripe.com/v1/files", data=BIG, timeout=10)
        except requests.ConnectionError:
            pass
    assert agent(setup.proxy, episode).get("https://api.stripe.com/v1/ok", timeout=10).status_code == 200
    health = requests.get(f"{setup.proxy.url}/_sandbox/health", timeout=10, proxies={"http": None})
    assert health.status_code == 200 and setup.proxy.proc.poll() is None


def test_a_compressed_body_is_decoded_only_up_to_the_limit(setup):
    """A gzip bomb within the body limit (a few hundred KB that inflate to 256 MiB): the proxy reads it
    for the ledger only up to the limit, forwards it as sent, and goes on answering."""
    import gzip

    bomb = gzip.compress(b"\0" * (256 * 1024 * 1024), 9)
    assert len(bomb) < LIMIT * 8
    limit = 4 * 1024 * 1024  # room for the stand-in's echo of it; 64 times less than it inflates to
    save_limits(setup.home, Limits(max_body_bytes=limit, ledger_body_bytes=CAP))
    try:
        with running_proxy(setup.home, "--service", f"payments={setup.fake.port}",
                           "--route", "api.stripe.com=payments") as proxy:
            episode = setup.episodes.create()
            response = agent(proxy, episode).post("https://api.stripe.com/v1/files", data=bomb, timeout=30,
                                                  headers={"Content-Encoding": "gzip"})
            assert response.status_code == 200 and setup.fake.last().body == bomb  # forwarded as sent
            [row] = setup.episodes.ledger(episode)
            assert row["request_body"] == b"\0" * CAP and row["request_body_truncated"] == 1
            assert row["request_body_size"] <= limit  # decoded no further than the limit
            assert agent(proxy, episode).get("https://api.stripe.com/v1/ok", timeout=10).status_code == 200
            assert proxy.proc.poll() is None
    finally:
        save_limits(setup.home, Limits(max_body_bytes=LIMIT, ledger_body_bytes=CAP))


SLACK = "xoxb-123456789012-abcdefABCDEF1234"
LLM_KEY = "sk-ant-api03-0123456789abcdefghijklmnop"


def test_secrets_never_reach_the_ledger_file(setup):
    """A Slack token as the `token` query parameter, a key in a JSON body, a custom key header, an
    allowed host's real API key: none in the raw bytes of the ledger or its WAL."""
    episode = setup.episodes.create()
    session = agent(setup.proxy, episode)
    session.post(f"https://api.stripe.com/v1/chat.postMessage?token={SLACK}&channel=C1",
                 json={"client_secret": "cs_9f8e7d6c5b4a39281706", "text": "card 4242 fp 5L5DQ2X9"},
                 headers={"X-Acme-Api-Key": "acme-0a1b2c3d4e5f60718293"}, timeout=10)
    session.post(f"http://127.0.0.1:{setup.internet.port}/v1/messages", json={"model": "m"},
                 headers={"x-api-key": LLM_KEY, "Authorization": f"Bearer {LLM_KEY}"}, timeout=10)
    rows = setup.episodes.ledger(episode)
    assert [r["outcome"] for r in rows] == ["routed", "forwarded"]
    assert rows[0]["query"] == "token=REDACTED&channel=C1"
    assert json.loads(rows[0]["request_body"])["text"] == "card 4242 fp 5L5DQ2X9"  # world data stays visible
    path = setup.home.ledger_path(episode.id)
    raw = b"".join(Path(f"{path}{s}").read_bytes() for s in ("", "-wal") if Path(f"{path}{s}").exists())
    for secret in (SLACK, "cs_9f8e7d6c5b4a39281706", "acme-0a1b2c3d4e5f60718293", LLM_KEY):
        assert secret.encode() not in raw, secret
    # The stand-ins echo what they got: the answers carried the secrets back, redacted in the ledger too.
    assert SLACK not in rows[0]["response_body"].decode() and LLM_KEY not in rows[1]["response_body"].decode()
