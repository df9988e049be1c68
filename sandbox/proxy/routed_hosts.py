"""Routed hosts: send a host the agent calls (api.openai.com) to a server of the operator's (a model
server: vLLM, llama.cpp, a stand-in), as real traffic: ledgered, recorded, replayable, streamed.

Where routes come from (sandbox/episodes/routes.py has the forms and the checks): the calling
episode's own `routes` (its task's `routes:`, `sandbox run --route`, the control API's and the
Python API's `routes`), then the proxy-wide option `server_routes` (`sandbox up --route`). An
episode's route wins over a proxy-wide one for the same host.

The stage marks a routed flow in `requestheaders` (ROUTE, and the ledger's service `route:<host>`),
before any `request` hook runs, so egress lets the host through and faults and replay treat it like
any other call; then, in `request`, if no stage above answered it (a fault, a replay, a refusal),
it writes the request to the ledger as the agent sent it and sends it on:

- target: the route's scheme, host and port; path: under the route's base path (`target_path`);
- Host: the server's (as a reverse proxy does: a server behind virtual hosts wants its own name);
- the agent's credentials (Authorization, X-Api-Key, Api-Key) are dropped unless the route says
  `keep_auth`: the agent's real key has no business on the operator's server;
- egress is told that this client connection may open a connection to that server (its
  `server_connect` backstop refuses any other), so the agent cannot reach the server's address
  itself by naming it: only through the routed host.

In `response` (and `error`) the request is put back as the agent sent it (path, Host, credentials)
before the record and ledger stages read it: a recording holds the agent's request, redacted, so a
replay matches what the agent sends again, whatever server answered at record time.

Streamed answers (server-sent events: `stream: true` of an OpenAI-style API) need nothing here:
the record stage (record mode) and the stream stage (every mode) pass them on chunk by chunk as
they arrive, and keep their timing (sandbox.proxy.stream, sandbox.recordings.stream).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from mitmproxy import connection, ctx, exceptions, http

from sandbox.episodes.routes import ServerRoute, parse_routes
from sandbox.errors import SandboxError
from sandbox.proxy.flows import EPISODE, OUTCOME, SERVICE, sandbox_answer

logger = logging.getLogger(__name__)

ROUTE = "sandbox.server_route"  # flow.metadata: the ServerRoute of a routed host
_SENT_AS = "sandbox.route_sent_as"  # flow.metadata: (path, headers) as the agent sent them
CREDENTIAL_HEADERS = ("authorization", "x-api-key", "api-key")


class RoutedHosts:
    def __init__(self, grant: Callable[[connection.Client, tuple[str, int]], None],
                 begin: Callable[[http.HTTPFlow], int | None],
                 reserved: Callable[[], frozenset[tuple[str, int]]] = frozenset) -> None:
        self.grant = grant  # egress: this client connection may connect to this server
        self.begin = begin  # the ledger: write the request now
        self.reserved = reserved  # the sandbox's own addresses (the fakes'): never a route's target
        self.routes: dict[str, ServerRoute] = {}  # proxy-wide, by host

    def load(self, loader) -> None:
        loader.add_option("server_routes", Sequence[str], [],
                          "Hosts sent to a server of the operator's, for every episode: HOST=URL "
                          "(api.openai.com=http://127.0.0.1:8000/v1; #keep-auth passes the agent's key on).")

    def configure(self, updated: set[str]) -> None:
        if "server_routes" not in updated:
            return
        try:
            routes = parse_routes(ctx.options.server_routes, where="server_routes")
        except SandboxError as exc:
            raise exceptions.OptionsError(f"Cannot parse {exc.message} ({exc.hint})") from None
        self.routes = {route.host: route for route in routes}

    def route_for(self, host: str, episode) -> ServerRoute | None:
        host = host.lower().rstrip(".")
        for route in getattr(episode, "routes", ()):
            if route.host == host:
                return route
        return self.routes.get(host)

    # -- the pipeline ---------------------------------------------------------------------------

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        episode = flow.metadata.get(EPISODE)
        if flow.response or episode is None:
            return
        route = self.route_for(flow.request.host, episode)
        if route is not None:
            flow.metadata[ROUTE] = route
            flow.metadata[SERVICE] = route.service

    def request(self, flow: http.HTTPFlow) -> None:
        route: ServerRoute | None = flow.metadata.get(ROUTE)
        # Answered above (a fault, a replay, the internal-path refusal) or taken by replay's stream server.
        if route is None or flow.response or flow.error or flow.metadata.get(OUTCOME) is not None:
            return
        target = (route.target_host, route.port)
        if target in self.reserved():
            flow.metadata[OUTCOME] = "refused"
            flow.response = sandbox_answer(
                502, "sandbox_route_refused",
                f"The route of {route.host} points at {route.url}, which is one of the sandbox's own services.",
                hint="point the route at your model server's address (sandbox up --route HOST=URL)")
            return
        flow.metadata[OUTCOME] = "routed"
        if self.begin(flow) is None:
            return  # the ledger could not write it, and has answered instead
        request = flow.request
        flow.metadata[_SENT_AS] = (request.path, request.headers.copy())
        if not route.keep_auth:
            for name in CREDENTIAL_HEADERS:
                request.headers.pop(name, None)
        request.scheme = route.scheme
        request.data.host, request.data.port = target  # the target only: the Host header is set below
        request.path = route.target_path(request.path)
        default = 443 if route.scheme == "https" else 80
        host = f"[{route.target_host}]" if ":" in route.target_host else route.target_host
        request.host_header = host if route.port == default else f"{host}:{route.port}"
        self.grant(flow.client_conn, target)

    def response(self, flow: http.HTTPFlow) -> None:
        self._as_sent(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._as_sent(flow)

    @staticmethod
    def _as_sent(flow: http.HTTPFlow) -> None:
        """The request as the agent sent it, for the record and ledger stages after this one."""
        sent = flow.metadata.pop(_SENT_AS, None)
        if sent is not None:
            flow.request.path, flow.request.headers = sent
