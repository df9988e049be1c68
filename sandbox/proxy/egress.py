"""Nothing leaves the sandbox unless someone said so.

A request for a host that no fake answers and that is not allow-listed is answered 403 here, with
a body that names the host and how to allow it, and the refusal goes to the ledger (outcome
`refused`): an agent trying to reach the outside is a fact a score may care about. Allow-listed
hosts are forwarded upstream for real (outcome `forwarded`), with upstream TLS verified as usual.

Two allow lists, same patterns: exact hosts (`example.org`) or suffixes (`*.example.org`, which
matches subdomains only).

- Option `egress_allow_hosts`: proxy-wide, for every episode (`sandbox up --allow-host`). It is
  deliberately not mitmproxy's own `allow_hosts`, which decides what mitmproxy intercepts: setting
  that would let unlisted TLS pass through uninspected.
- The calling episode's `allowed_hosts` (from its task, or `sandbox episodes create --allow-host`),
  for that episode only. It comes with the `Episode` that the episode stage put in the flow, read
  from the registry like the episode's status, so a new episode's list holds from its first request.

`server_connect` is the backstop: every upstream connection, whatever the protocol (raw TCP inside
a tunnel included), must go to a fake's address, to a host allowed proxy-wide or for the episode
whose traffic opens it, or to the server of a routed host (sandbox.proxy.routed_hosts), which the
route stage grants to the one client connection whose routed request it sends there. The hook sees
only the connection, so the request and tcp_start hooks, which run just before it opens, leave the
caller's episode under its client connection.
"""

from __future__ import annotations

import functools
import logging
import weakref
from collections.abc import MutableMapping, Sequence

from mitmproxy import connection, ctx, exceptions, http, tcp
from mitmproxy.proxy import server_hooks

from sandbox.episodes.store import Episode, HostPatterns
from sandbox.proxy.flows import EPISODE, OUTCOME, sandbox_answer
from sandbox.proxy.route import Routes
from sandbox.proxy.routed_hosts import ROUTE

logger = logging.getLogger(__name__)

ALLOW_HINT = ("allow it for this episode with the task's `allowed_hosts: [HOST]` or "
              "`sandbox episodes create --allow-host HOST`, or for every episode with `sandbox up --allow-host HOST`")


@functools.lru_cache(maxsize=1024)
def episode_patterns(allowed_hosts: tuple[str, ...]) -> HostPatterns:
    """An episode's allow list, parsed once (the store checked it when the episode was created)."""
    return HostPatterns.parse(allowed_hosts)


class Egress:
    def __init__(self, routes: Routes) -> None:
        self.routes = routes
        self.patterns = HostPatterns()
        # The episode whose request or raw TCP flow is about to open an upstream connection, per
        # client connection, for the server_connect backstop (which sees no flow).
        self.callers: MutableMapping[connection.Client, Episode] = weakref.WeakKeyDictionary()
        # Servers of routed hosts a client connection's routed requests were sent to (see `grant`).
        self.granted: MutableMapping[connection.Client, set[tuple[str, int]]] = weakref.WeakKeyDictionary()

    def load(self, loader) -> None:
        loader.add_option(
            "egress_allow_hosts",
            Sequence[str],
            [],
            "Hosts an agent may reach for real, besides the fakes: example.org, or *.example.org for its subdomains.",
        )

    def configure(self, updated: set[str]) -> None:
        if "egress_allow_hosts" not in updated:
            return
        try:
            self.patterns = HostPatterns.parse(ctx.options.egress_allow_hosts)
        except ValueError as exc:
            raise exceptions.OptionsError(
                f"Cannot parse egress_allow_hosts entry {exc.args[0]!r}: write a host name (example.org) "
                "or *.example.org for its subdomains, without scheme, port or path"
            ) from None

    def allowed(self, host: str, episode: Episode | None = None) -> bool:
        """Whether `host` may be reached for real: allowed proxy-wide, or for `episode`."""
        if self.patterns.matches(host):
            return True
        return episode is not None and bool(episode.allowed_hosts) and episode_patterns(
            episode.allowed_hosts).matches(host)

    def grant(self, client: connection.Client, address: tuple[str, int]) -> None:
        """Let `client`'s traffic open a connection to `address`: the server of a routed host that
        the route stage is sending one of its requests to. Only that client's: another agent naming
        the address itself is still refused."""
        self.granted.setdefault(client, set()).add(address)

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or EPISODE not in flow.metadata:
            return
        host = flow.request.host
        if self.routes.service_for(host) is not None or ROUTE in flow.metadata:
            return  # a fake or a routed host's server answers it: route's business
        episode = flow.metadata[EPISODE]
        if self.allowed(host, episode):
            flow.metadata[OUTCOME] = "forwarded"
            self.callers[flow.client_conn] = episode
            return
        flow.metadata[OUTCOME] = "refused"
        flow.response = sandbox_answer(
            403,
            "sandbox_egress_refused",
            f"The sandbox does not let requests reach {host}: no fake service answers for it and it "
            f"is not allow-listed, neither for every episode nor for episode {episode.id!r}.",
            host=host,
            episode=episode.id,
            hint=ALLOW_HINT.replace("HOST", host),
        )

    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        host = flow.server_conn.address[0] if flow.server_conn.address else "?"
        episode = flow.metadata.get(EPISODE)
        if self.allowed(host, episode):
            flow.metadata[OUTCOME] = "forwarded"
            if episode is not None:
                self.callers[flow.client_conn] = episode
        else:
            flow.metadata[OUTCOME] = "refused"

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        server = data.server
        if server.error or server.address is None:
            return
        host, port = server.address[:2]
        if (host, port) in self.routes.addresses or self.allowed(host, self.callers.get(data.client)):
            return
        if (host, port) in self.granted.get(data.client, ()):
            return
        server.error = f"sandbox egress refused a connection to {host}:{port} ({ALLOW_HINT})"
        logger.warning(server.error)
