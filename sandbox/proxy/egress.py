"""Nothing leaves the sandbox unless someone said so.

A request for a host that no fake answers and that is not allow-listed is answered 403 here, with
a body that names the host and how to allow it, and the refusal goes to the ledger (outcome
`refused`): an agent trying to reach the outside is a fact a score may care about. Allow-listed
hosts are forwarded upstream for real (outcome `forwarded`), with upstream TLS verified as usual.

Option `egress_allow_hosts`: exact hosts (`example.org`) or suffixes (`*.example.org`, which
matches subdomains only). It is deliberately not mitmproxy's own `allow_hosts`, which decides what
mitmproxy intercepts: setting that would let unlisted TLS pass through uninspected.

`server_connect` is the backstop: every upstream connection, whatever the protocol (raw TCP inside
a tunnel included), must go to a fake's address or to an allowed host, or it is not opened.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from mitmproxy import ctx, exceptions, http, tcp
from mitmproxy.proxy import server_hooks

from sandbox.proxy.flows import EPISODE, OUTCOME, sandbox_answer
from sandbox.proxy.route import Routes, normalize_host

logger = logging.getLogger(__name__)

_HOST = re.compile(r"^(\*\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$|^[0-9a-f:.]+$|^\[[0-9a-f:.]+\]$")
ALLOW_HINT = "allow it with `sandbox up --allow-host HOST` or the task's allowed_hosts"


class Egress:
    def __init__(self, routes: Routes) -> None:
        self.routes = routes
        self.exact: frozenset[str] = frozenset()
        self.suffixes: tuple[str, ...] = ()

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
        exact, suffixes = set(), []
        for entry in ctx.options.egress_allow_hosts:
            host = normalize_host(entry)
            if not _HOST.match(host):
                raise exceptions.OptionsError(
                    f"Cannot parse egress_allow_hosts entry {entry!r}: write a host name (example.org) "
                    "or *.example.org for its subdomains, without scheme, port or path"
                )
            if host.startswith("*."):
                suffixes.append(host[1:])  # "*.example.org" -> ".example.org"
            else:
                exact.add(host.strip("[]"))
        self.exact, self.suffixes = frozenset(exact), tuple(suffixes)

    def allowed(self, host: str) -> bool:
        host = normalize_host(host)
        return host in self.exact or (bool(self.suffixes) and host.endswith(self.suffixes))

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or EPISODE not in flow.metadata:
            return
        host = flow.request.host
        if self.routes.service_for(host) is not None:
            return  # a fake answers it: route's business
        if self.allowed(host):
            flow.metadata[OUTCOME] = "forwarded"
            return
        flow.metadata[OUTCOME] = "refused"
        flow.response = sandbox_answer(
            403,
            "sandbox_egress_refused",
            f"The sandbox does not let requests reach {host}: no fake service answers for it and it "
            "is not allow-listed.",
            host=host,
            hint=ALLOW_HINT.replace("HOST", host),
        )

    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        host = flow.server_conn.address[0] if flow.server_conn.address else "?"
        flow.metadata[OUTCOME] = "forwarded" if self.allowed(host) else "refused"

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        server = data.server
        if server.error or server.address is None:
            return
        host, port = server.address[:2]
        if (host, port) in self.routes.addresses or self.allowed(host):
            return
        server.error = f"sandbox egress refused a connection to {host}:{port} ({ALLOW_HINT})"
        logger.warning(server.error)
