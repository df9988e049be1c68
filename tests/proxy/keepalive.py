"""A client that keeps one connection per origin open through the sandbox proxy, as browsers and
SDKs do, and a check that a replay gives back every recorded answer exactly.

`http.client` frames each answer by the rules (no body after HEAD, 1xx, 204 or 304), so a body the
proxy sends where none may go is read as the start of the next answer on the same connection, and
that answer fails to parse or comes back wrong: exactly what an agent's client would suffer.
"""

from __future__ import annotations

import base64
import http.client
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.proxy.flows import has_no_body
from sandbox.recordings.format import Exchange, Recording

# Framing and hop-by-hop headers: the proxy frames a replayed answer itself.
FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class KeepAlive:
    """One kept-alive connection per (scheme, host, port), all through the proxy as `episode`."""

    proxy_port: int
    episode_id: str
    token: str
    ca: Path
    connections: dict[tuple[str, str, int], http.client.HTTPConnection] = field(default_factory=dict)
    opened: int = 0  # connections opened, so a test can tell that one was reused

    @property
    def credentials(self) -> str:
        return "Basic " + base64.b64encode(f"{self.episode_id}:{self.token}".encode()).decode()

    def connection(self, scheme: str, host: str, port: int) -> http.client.HTTPConnection:
        key = (scheme, host, port)
        conn = self.connections.get(key)
        if conn is None:
            if scheme == "https":
                conn = http.client.HTTPSConnection("127.0.0.1", self.proxy_port, timeout=10,
                                                   context=ssl.create_default_context(cafile=str(self.ca)))
                conn.set_tunnel(host, port, headers={"Proxy-Authorization": self.credentials})
            else:
                conn = http.client.HTTPConnection("127.0.0.1", self.proxy_port, timeout=10)
            self.connections[key] = conn
            self.opened += 1
        return conn

    def send(self, method: str, url: str, headers: list[tuple[str, str]] = (), body: bytes = b"") -> Answer:
        """`method url` on the origin's kept-alive connection; its answer, read as HTTP frames it."""
        scheme, rest = url.split("://", 1)
        authority, _, path = rest.partition("/")
        host, _, port_text = authority.partition(":")
        port = int(port_text) if port_text else (443 if scheme == "https" else 80)
        conn = self.connection(scheme, host, port)
        target = "/" + path if scheme == "https" else url  # origin-form in a tunnel, absolute-form otherwise
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", authority)
        if scheme != "https":
            conn.putheader("Proxy-Authorization", self.credentials)
        for name, value in headers:
            if name.lower() not in FRAMING | {"host", "proxy-authorization"}:
                conn.putheader(name, value)
        if body:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        return Answer(response.status, response.getheaders(), response.read())

    def close(self) -> None:
        for conn in self.connections.values():
            conn.close()
        self.connections.clear()


def differences(exchange: Exchange, got: Answer) -> list[str]:
    """How `got` differs from the recorded answer: status, body (none where HTTP allows none), and
    every recorded header but the framing ones, value for value."""
    recorded = exchange.response
    out = []
    if got.status != recorded.status:
        out.append(f"status {got.status}, recorded {recorded.status}")
    if recorded.events is not None:
        want = b"".join(event.data for event in recorded.events)
    else:
        want = recorded.body
    if has_no_body(exchange.request.method, recorded.status):
        want = b""
    if got.body != want:
        out.append(f"body of {len(got.body)} bytes, recorded {len(want)} bytes")
    for name in {k.lower() for k, _ in recorded.headers} - FRAMING:
        sent = [v for k, v in recorded.headers if k.lower() == name]
        received = [v for k, v in got.headers if k.lower() == name]
        if received != sent:
            out.append(f"header {name}: {received}, recorded {sent}")
    return out


def url_of(exchange: Exchange) -> str:
    req = exchange.request
    default = 443 if req.scheme == "https" else 80
    authority = req.host if req.port in (None, default) else f"{req.host}:{req.port}"
    return f"{req.scheme}://{authority}{req.path}" + (f"?{req.query}" if req.query else "")


SENTINEL_PATH = "/_exact-http-sentinel"  # recorded nowhere: the proxy answers a replay miss


def replay_exactly(client: KeepAlive, recording: Recording) -> dict[int, list[str]]:
    """Send every recorded request in order on kept-alive connections; per exchange seq, what differed
    (empty: exact). Then one more request on every connection (a miss, answered by the proxy): a body
    sent where none may go after an origin's last exchange shows up there, charged to that exchange."""
    results: dict[int, list[str]] = {}
    last: dict[tuple[str, str, int], int] = {}
    for exchange in recording.exchanges:
        req = exchange.request
        key = (req.scheme, req.host, req.port or (443 if req.scheme == "https" else 80))
        try:
            got = client.send(req.method, url_of(exchange), req.headers, req.body)
            results[exchange.seq] = differences(exchange, got)
        except (http.client.HTTPException, OSError) as exc:
            results[exchange.seq] = [f"the connection broke: {type(exc).__name__}: {exc}"]
            client.connections.pop(key).close()
            continue
        last[key] = exchange.seq
    for (scheme, host, port), seq in last.items():
        authority = host if port == (443 if scheme == "https" else 80) else f"{host}:{port}"
        try:
            got = client.send("GET", f"{scheme}://{authority}{SENTINEL_PATH}")
            if got.status != 502 or b"sandbox_replay_miss" not in got.body:
                results[seq].append(f"the next answer on its connection was garbled: {got.status} {got.body[:60]!r}")
        except (http.client.HTTPException, OSError) as exc:
            results[seq].append(f"the next answer on its connection broke: {type(exc).__name__}: {exc}")
    return results
