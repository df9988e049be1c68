"""The sandbox proxy: mitmproxy with one ordered list of small stages (addons), like `default_addons()`.

Every hook (requestheaders, request, response, error) calls the stages that have it in list
order, as mitmproxy calls its addons. So the list reads top to bottom as the path of a request,
and the response side runs in the same order: the ledger, last, records the response exactly as
the agent receives it, after any stage above has changed it.

Stages talk through `flow.metadata` (keys in `sandbox.proxy.flows`). A stage that answers a
request itself sets `flow.response`; the stages after it then leave that flow alone, except the
ledger, which records it. One exception to "the list is the order": route needs the exchange id
before the request leaves, so it asks the ledger stage to write the request early (`begin`).

The stages reach mitmproxy as one addon, `Pipeline` (sandbox.proxy.pipeline), which calls them
in this order with mitmproxy's per-addon semantics but without its per-addon dispatch cost
(measured: ~15 % of the proxy's CPU with eight separate addons).

Run it with `python -m sandbox.proxy` (see `sandbox.proxy.server`).
"""

from __future__ import annotations

from sandbox.home import Home, proxy_secret
from sandbox.proxy.egress import Egress
from sandbox.proxy.episode import EpisodeDirectory, EpisodeIdentity
from sandbox.proxy.faults import Faults
from sandbox.proxy.framing import ExactFraming
from sandbox.proxy.health import HealthCheck
from sandbox.proxy.ledger import LedgerWriter
from sandbox.proxy.limits import BodyLimit
from sandbox.proxy.pipeline import Pipeline
from sandbox.proxy.record import Record
from sandbox.proxy.replay import Replay
from sandbox.proxy.route import Route, Routes
from sandbox.proxy.routed_hosts import RoutedHosts
from sandbox.proxy.stream import StreamThrough


def sandbox_addons(home: Home, routes: Routes, *, worker: int | None = None) -> list:
    """The addons to add after mitmproxy's own Proxyserver, NextLayer and TlsConfig: the stages below
    as one `Pipeline`. worker: this process's number among N proxy workers (its health says it)."""
    return [Pipeline(sandbox_stages(home, routes, worker=worker))]


def sandbox_stages(home: Home, routes: Routes, *, worker: int | None = None) -> list:
    """The stages, in order: the path of a request, and of its response."""
    episodes = EpisodeDirectory(home)
    ledger = LedgerWriter(home, episodes)
    egress = Egress(routes)
    return [
        HealthCheck(worker),  # /_sandbox/health on the proxy's own address; no credentials needed
        EpisodeIdentity(episodes),  # proxy credentials -> episode, or 407; drops agent X-Sandbox-* headers
        # A body over max_body_bytes: mitmproxy refuses it (its body_size_limit, set by the server)
        # before any hook, unread; this names the limit in the ledger row. After the episode stage,
        # whose requestheaders hook (run even then) tells whose ledger gets the row.
        BodyLimit(routes),
        egress,  # neither routed nor allow-listed -> 403; backstop on every upstream connection
        # Seeded nuisance from the episode's fault profile: answers here, or changes the response in
        # its `response` hook (before the ledger sees it); the faults that fired go in flow.metadata.
        # Its counters live in the episode's ledger, shared by all proxy workers (sandbox.proxy.shared).
        Faults(routes, begin=ledger.begin, end=ledger.response, shared=ledger.connection),
        # Answers a replay episode from its recording (its position there shared too); misses explained.
        Replay(home, routes, begin=ledger.begin, shared=ledger.connection),
        Route(routes, proxy_secret(home), begin=ledger.begin),  # vendor host -> fake, plus binding headers
        # A routed host (api.openai.com) -> the operator's server (a model server); puts the agent's
        # request back as sent before record and ledger read it. Marks its flows in requestheaders.
        RoutedHosts(egress.grant, begin=ledger.begin, reserved=lambda: routes.addresses),
        # A record episode's exchanges, redacted, to its recording; streams kept event by event.
        Record(shared=ledger.connection),
        # Streamed answers (SSE, NDJSON, chunked) go through as they arrive in every mode, unless a
        # stage above streams them already or a fault waits to rewrite the whole body; the ledger,
        # next, gets the stream's first bytes, length and SHA-256 when it ends (memory bounded).
        StreamThrough(ledger.body_cap),
        ExactFraming(),  # no body on 1xx/204/304 or an answer to HEAD, whoever made the answer
        ledger,  # every exchange into the episode ledger, committed before the response is sent
    ]


__all__ = ["Routes", "sandbox_addons", "sandbox_stages"]
