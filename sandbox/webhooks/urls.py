"""Which URLs an agent may register as its webhook endpoint.

A registered URL is one the sandbox itself will POST to, from the host: an SSRF vector, and the
agent under test is hostile. So only the agent's own loopback is accepted (`http://127.0.0.1:PORT/...`,
`localhost`, `[::1]`), never another host, never a port the sandbox itself listens on (the proxy,
the control API, a fake), never credentials in the URL. The fake refuses anything else in the
vendor's error shape when the endpoint is registered, and the deliverer checks again before every
send (the sandbox's ports may have changed since).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LOOPBACK_HOSTS = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}
MAX_URL_LENGTH = 2048
FIX = "register your own server on this machine's loopback, e.g. http://127.0.0.1:8765/webhooks"


@dataclass(frozen=True)
class Target:
    """Where a delivery goes: an address literal (no name lookup at send time), a port and a path."""

    address: str
    port: int
    path: str  # with the query, as registered

    @property
    def host_header(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


class EndpointURLError(ValueError):
    """A URL the sandbox will not deliver to; the message says why and what to register instead."""


def sandbox_ports(ports_file: Path) -> set[int]:
    """The ports the running sandbox listens on (from `<home>/run/ports.json`), none if it is not up."""
    try:
        data = json.loads(ports_file.read_text())
    except (OSError, ValueError):
        return set()
    ports = {data.get("proxy"), data.get("control"), data.get("webhooks"), *(data.get("services") or {}).values()}
    return {p for p in ports if isinstance(p, int)}


def check_endpoint_url(url: object, forbidden_ports: set[int] = frozenset()) -> Target:
    """The delivery target of `url`, or EndpointURLError saying why it is refused."""
    if not isinstance(url, str) or not url:
        raise EndpointURLError(f"the URL must be a non-empty string: {FIX}")
    if len(url) > MAX_URL_LENGTH:
        raise EndpointURLError(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 or c == "\\" for c in url):
        raise EndpointURLError(f"the URL has whitespace, control characters or backslashes: {FIX}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EndpointURLError(f"the URL does not parse ({exc}): {FIX}") from None
    if parts.scheme != "http":
        raise EndpointURLError(f"only http:// URLs are delivered to in the sandbox (got {parts.scheme or 'none'}://):"
                               f" {FIX}")
    if parts.username is not None or parts.password is not None:
        raise EndpointURLError("the URL must not carry credentials (user:password@)")
    host = (parts.hostname or "").lower()
    if host not in LOOPBACK_HOSTS:
        raise EndpointURLError(f"the sandbox delivers webhooks only to the agent's own loopback, not to {host!r}:"
                               f" {FIX}")
    port = port or 80
    if port in forbidden_ports:
        raise EndpointURLError(f"port {port} belongs to the sandbox itself, not to the agent: {FIX}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(LOOPBACK_HOSTS[host], port, path)
