"""Routes to a server of the operator's: `api.openai.com=http://127.0.0.1:8000/v1` sends an agent's
calls to api.openai.com to a model server on this machine (vLLM, llama.cpp, a stand-in), or anywhere
the operator names.

A route is an operator's decision, like an allow-listed host, and is checked here, free of mitmproxy,
so a bad one fails (CLI, task file, control API, Python API) before any agent starts:

- HOST is a host name the agent calls (`api.openai.com`), not a pattern, not an IP address, and not
  a host a fake answers (api.stripe.com stays the payments fake's: vendor routing is not replaced).
- URL is `http://` or `https://`, a host and an optional port and base path; no credentials, no query.
  It need not be on loopback: a model server often runs on another (GPU) machine. What reaches it is
  only the routed host's traffic; the agent still cannot call the URL's address itself (egress).
- The URL's path is the base of the same API: `http://127.0.0.1:8000/v1` stands for `https://api.openai.com/v1`.
  The agent's path goes under it, and a path that already starts with it is not given it twice:
  base `/v1` + `/v1/chat/completions` → `/v1/chat/completions`; base `/v1` + `/chat/completions` →
  `/v1/chat/completions`; base `/openai` + `/v1/models` → `/openai/v1/models`.
- The agent's own credentials (Authorization, X-Api-Key, Api-Key) are NOT passed on by default: a
  local server needs none, and an agent's real key has no business on a machine of the operator's.
  `keep_auth` (the URL's fragment `#keep-auth` in the string form) passes them on, for a server
  that checks a key of its own. Either way the ledger and recordings keep them redacted.

String form (command line, proxy option): `HOST=URL` or `HOST=URL#keep-auth`. Mapping form (task
files, control API, Python API): `{HOST: URL}` or `{HOST: {url: URL, keep_auth: true}}`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sandbox.errors import ConfigError

KEEP_AUTH = "keep-auth"
HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)+$")
ROUTE_KEYS = ("url", "keep_auth")
FORM = "HOST=URL, e.g. api.openai.com=http://127.0.0.1:8000/v1 (add #keep-auth to pass the agent's key on)"


@dataclass(frozen=True)
class ServerRoute:
    """One routed host and the server that answers it."""

    host: str  # as the agent calls it, lower case
    scheme: str  # http | https
    target_host: str
    port: int
    base_path: str = ""  # without a trailing slash; "" for the server's root
    keep_auth: bool = False  # pass the agent's Authorization / X-Api-Key / Api-Key on

    @property
    def url(self) -> str:
        host = f"[{self.target_host}]" if ":" in self.target_host else self.target_host
        return f"{self.scheme}://{host}:{self.port}{self.base_path}"

    @property
    def service(self) -> str:
        """What the ledger's `service` column says for this route's exchanges."""
        return f"route:{self.host}"

    def to_spec(self) -> str:
        """The string form, parsed back by `parse_route`."""
        return f"{self.host}={self.url}" + (f"#{KEEP_AUTH}" if self.keep_auth else "")

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "keep_auth": self.keep_auth}

    def target_path(self, path: str) -> str:
        """The path (with its query) to ask the server for, given the agent's `path`."""
        if not self.base_path:
            return path
        plain = path.partition("?")[0]
        if plain == self.base_path or plain.startswith(self.base_path + "/"):
            return path
        return self.base_path + (path if path.startswith("/") else "/" + path)


def parse_route(text: str, where: str = "--route") -> ServerRoute:
    """`HOST=URL[#keep-auth]` → a ServerRoute; a ConfigError naming `where` and the fix otherwise."""
    if not isinstance(text, str):
        raise ConfigError(f"{where}: expected {FORM}, got {text!r}", hint=f"write it as {FORM}")
    host, sep, url = text.partition("=")
    if not sep or not host.strip() or not url.strip():
        raise ConfigError(f"{where}: cannot parse {text!r}", hint=f"write it as {FORM}")
    url, _, fragment = url.strip().partition("#")
    if fragment and fragment != KEEP_AUTH:
        raise ConfigError(f"{where} {text!r}: unknown option #{fragment}",
                          hint=f"the only option is #{KEEP_AUTH} (pass the agent's credentials to the server)")
    return make_route(host, url, keep_auth=fragment == KEEP_AUTH, where=where)


def make_route(host: str, url: str, *, keep_auth: bool = False, where: str = "--route") -> ServerRoute:
    """The route of `host` to `url`, checked (see the module doc)."""
    name = host.strip().lower().rstrip(".") if isinstance(host, str) else ""
    if not HOST_NAME.match(name) or _is_ip(name):
        raise ConfigError(f"{where}: {host!r} is not a host name an agent calls",
                          hint="write the name without scheme, port, path or wildcard, e.g. api.openai.com")
    from services import host_routes

    fake = _answered_by_fake(name, host_routes())
    if fake is not None:
        raise ConfigError(f"{where}: {name} is answered by the {fake} fake; a route cannot replace it",
                          hint="route a host no fake answers (api.openai.com, api.anthropic.com, ...)")
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{where}: {name} has no URL", hint=f"write it as {FORM}")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "://" not in url:
        raise ConfigError(f"{where}: {name}={url}: the URL must start with http:// or https://",
                          hint="e.g. http://127.0.0.1:8000/v1 (vLLM) or http://127.0.0.1:8080/v1 (llama.cpp)")
    try:
        port = parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
        if not 0 < port < 65536:
            raise ValueError(port)
    except ValueError:
        raise ConfigError(f"{where}: {name}={url}: the port is not a number from 1 to 65535",
                          hint="e.g. http://127.0.0.1:8000/v1") from None
    if not parts.hostname:
        raise ConfigError(f"{where}: {name}={url}: the URL names no server", hint="e.g. http://127.0.0.1:8000/v1")
    if parts.username or parts.password:
        raise ConfigError(f"{where}: the URL of {name} carries credentials, which would be stored with the episode",
                          hint=f"leave them out; a server that needs a key gets the agent's own with #{KEEP_AUTH}")
    if parts.query or parts.fragment:
        raise ConfigError(f"{where}: {name}={url}: the URL has a query or fragment",
                          hint="give only scheme, host, port and base path, e.g. http://127.0.0.1:8000/v1")
    if not isinstance(keep_auth, bool):
        raise ConfigError(f"{where}: keep_auth must be true or false, got {keep_auth!r}",
                          hint="keep_auth: true passes the agent's credentials to the server")
    return ServerRoute(name, parts.scheme, parts.hostname.lower(), port, parts.path.rstrip("/"), keep_auth)


def parse_routes(entries: Iterable[Any] | Mapping[str, Any] | None, where: str = "routes") -> tuple[ServerRoute, ...]:
    """Routes from any of the forms: `"HOST=URL"` strings, ServerRoutes, a mapping `{HOST: URL}` or
    `{HOST: {url, keep_auth}}`. A host given twice keeps its last route."""
    if entries is None:
        return ()
    if isinstance(entries, str):
        entries = (entries,)
    found: dict[str, ServerRoute] = {}
    if isinstance(entries, Mapping):
        for host, value in entries.items():
            route = route_of(host, value, f"{where}.{host}")
            found[route.host] = route
        return tuple(found.values())
    for i, entry in enumerate(entries):
        route = entry if isinstance(entry, ServerRoute) else (
            parse_route(entry, f"{where}[{i}]") if isinstance(entry, str) else _mapping_entry(entry, f"{where}[{i}]"))
        found[route.host] = route
    return tuple(found.values())


def route_of(host: str, value: Any, where: str) -> ServerRoute:
    """One entry of the mapping form: `URL`, `URL#keep-auth` or `{url: URL, keep_auth: bool}`."""
    if isinstance(value, str):
        return parse_route(f"{host}={value}", where)
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(ROUTE_KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}", hint=f"a route takes {' and '.join(ROUTE_KEYS)}")
        return make_route(host, value.get("url"), keep_auth=value.get("keep_auth", False), where=where)
    raise ConfigError(f"{where}: expected a URL or {{url: URL, keep_auth: true}}, got {value!r}",
                      hint="e.g. api.openai.com: http://127.0.0.1:8000/v1")


def routes_to_dict(routes: Iterable[ServerRoute]) -> dict[str, dict[str, Any]]:
    """The mapping form, for JSON (the registry, the control API's answers, a snapshot's manifest)."""
    return {route.host: route.to_dict() for route in routes}


def _mapping_entry(entry: Any, where: str) -> ServerRoute:
    if isinstance(entry, Mapping) and len(entry) == 1:
        (host, value), = entry.items()
        return route_of(host, value, where)
    raise ConfigError(f"{where}: expected {FORM}, got {entry!r}", hint=f"write it as {FORM}")


def _answered_by_fake(host: str, fakes: Mapping[str, str]) -> str | None:
    if host in fakes:
        return fakes[host]
    parent = host.partition(".")[2]
    return fakes.get("*." + parent) if parent else None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
