"""Vendor host → fake: send `https://api.stripe.com/v1/...` to the payments fake on loopback.

The request keeps what the agent sent (path, query, body, and the Host header, so the fake sees
the vendor host it was called by); only the connection target changes, to plain HTTP on the fake's
address. Three headers bind it to its episode (see services/common/binding.py):

    X-Sandbox-Episode       the caller's episode id
    X-Sandbox-Exchange      the exchange id in the episode's ledger, so the rows the fake changes
                            link to the request that changed them
    X-Sandbox-Proxy-Secret  the home's proxy secret, so a forged header from an agent calling the
                            fake directly is worth nothing

The exchange id comes from the ledger stage (`begin`), which writes the request then and there:
the row exists before the fake can refer to it.

Paths under `/_sandbox/` are the fakes' own control routes and are never reachable through the
proxy, on any host: 404, written to the ledger as refused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from mitmproxy import http

from sandbox.errors import ConfigError
from sandbox.proxy.flows import EPISODE, OUTCOME, SERVICE, is_internal_path, sandbox_answer
from services.common.binding import EPISODE_HEADER, EXCHANGE_HEADER, SECRET_HEADER


@dataclass(frozen=True)
class Routes:
    """Which vendor hosts go to which fake, and where each fake listens."""

    hosts: Mapping[str, str]  # vendor hostname -> service id
    targets: Mapping[str, tuple[str, int]]  # service id -> (host, port) of its fake

    @classmethod
    def build(
        cls,
        service_ports: Mapping[str, int | str | tuple[str, int]],
        hosts: Mapping[str, str] | None = None,
    ) -> Routes:
        """`service_ports` as {"payments": 8101} (or "host:port"); `hosts` as {"api.stripe.com":
        "payments"}, by default the registry's own hostnames of the services in `service_ports`."""
        targets = {service: _target(service, where) for service, where in service_ports.items()}
        if hosts is None:
            from services import host_routes

            # The registry's hostnames of the fakes given an address: a proxy started for payments
            # alone routes api.stripe.com, and refuses the other vendors like any unknown host.
            hosts = {host: service for host, service in host_routes().items() if service in targets}
        for host, service in hosts.items():
            if service not in targets:
                raise ConfigError(
                    f"host {host} routes to service {service!r}, but no address was given for it",
                    hint=f"pass --service {service}=PORT (where `python -m sandbox.run.serve {service}` listens)",
                )
        return cls({normalize_host(h): s for h, s in hosts.items()}, targets)

    def service_for(self, host: str) -> str | None:
        """The service for `host`; a route written `*.zendesk.com` covers every subdomain."""
        found = self.hosts.get(host)
        if found is not None:
            return found
        host = normalize_host(host)
        found = self.hosts.get(host)
        if found is None and "." in host:
            found = self.hosts.get("*." + host.partition(".")[2])
        return found

    @functools.cached_property
    def addresses(self) -> frozenset[tuple[str, int]]:
        return frozenset(self.targets.values())


def normalize_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


def parse_pairs(values: Iterable[str], flag: str) -> dict[str, str]:
    """`["a=1", "b=2"]` from a repeated command-line flag → {"a": "1", "b": "2"}."""
    pairs = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key.strip() or not item.strip():
            raise ConfigError(f"cannot parse {flag} {value!r}", hint=f"write it as {flag} NAME=VALUE")
        pairs[key.strip()] = item.strip()
    return pairs


def _target(service: str, where: int | str | tuple[str, int]) -> tuple[str, int]:
    if isinstance(where, tuple):
        return where
    host, _, port = str(where).rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = 0
    if not 0 < number < 65536:
        raise ConfigError(
            f"service {service!r}: {where!r} is not a port", hint=f"write it as {service}=8101 or {service}=HOST:8101"
        )
    return (host or "127.0.0.1", number)


class Route:
    def __init__(self, routes: Routes, secret: str, begin: Callable[[http.HTTPFlow], int | None]) -> None:
        self.routes = routes
        self.secret = secret
        self.begin = begin

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or EPISODE not in flow.metadata:
            return
        request = flow.request
        service = self.routes.service_for(request.host)
        if service is not None:
            flow.metadata[SERVICE] = service
        if is_internal_path(request.path):
            flow.metadata[OUTCOME] = "refused"
            flow.response = sandbox_answer(
                404,
                "sandbox_internal_route",
                f"{request.path.partition('?')[0]} is internal to the sandbox and not reachable through the proxy.",
            )
            return
        if service is None:
            return
        flow.metadata[OUTCOME] = "routed"
        exchange_id = self.begin(flow)
        if exchange_id is None:
            return  # the ledger could not write it, and has answered instead
        host, port = self.routes.targets[service]
        # Change the connection target only (data.*): the setters would rewrite Host as well.
        request.scheme = "http"
        request.data.host = host
        request.data.port = port
        headers = request.headers
        headers[EPISODE_HEADER] = flow.metadata[EPISODE].id
        headers[EXCHANGE_HEADER] = str(exchange_id)
        headers[SECRET_HEADER] = self.secret
