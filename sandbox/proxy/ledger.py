"""Write every exchange of every episode to that episode's ledger, before the agent sees a byte.

`begin` writes the request (and so creates the exchange id) before anything goes upstream; route
calls it for requests a fake will answer, so the id can travel in X-Sandbox-Exchange and the
fake's row changes link to it. For every other request (refused, forwarded, answered by a later
stage such as replay) this stage's own `request` hook begins it. `response` and `error` end it:
status, headers, body, outcome, and the injected faults that fired on it (`flow.metadata[FAULTS]`;
any fired fault makes the outcome `faulted`). An exchange begun but never ended (the proxy died
mid-call) is closed as an `error` when its episode finishes (`EpisodeStore.finish`).
Each write is its own committed SQLite transaction (WAL, synchronous=NORMAL, ~25 µs), done inside
the hook, and mitmproxy sends nothing to the client until the hook returns: the ledger is durable
before the response is on the wire. Streamed answers (SSE, chunked bodies: `sandbox.proxy.stream`)
are the exception by design: their chunks go out as they arrive, and the row, with the whole body
the stream stage collected, is written when the stream ends, before the end of the body goes out.

If the ledger cannot be written, the request is not forwarded: the agent gets a 503 saying so.
Traffic the ledger does not know about would make every score built on it wrong.

One `Ledger` (one SQLite connection) per episode stays open while the episode is live and used;
ledgers of finished or idle episodes are closed by a sweep every few seconds, and reopened if a
late flow of theirs still needs to finish.

Raw TCP inside a tunnel (not HTTP) is written too, as method CONNECT, scheme `tcp`, no bodies.

What is written is redacted and capped by `sandbox.episodes.ledger.Ledger` (the recordings' redactor, with the
record stage's `record_redact_fields` / `record_redact_patterns` options, and the episode's own API
keys as known secrets; bodies cut to the home's `ledger_body_bytes`). A flow that ends in an error
before its `request` hook (a body refused by the body limit) is begun in `error`, so it has a row too.
"""

from __future__ import annotations

import logging
import sqlite3
import time

from mitmproxy import ctx, exceptions, http, tcp

from sandbox.episodes.ledger import Ledger, default_redactor
from sandbox.home import Home
from sandbox.limits import load_limits
from sandbox.proxy.episode import EpisodeDirectory
from sandbox.proxy.flows import EPISODE, EXCHANGE, FAULTS, OUTCOME, SERVICE, decoded_body, exact_framing, sandbox_answer
from sandbox.proxy.shared import WRITE_ERRORS
from sandbox.proxy.stream import CLOSED_BY_AGENT, STREAM_DIGEST
from sandbox.recordings.format import RecordingError
from sandbox.recordings.redact import Redactor

logger = logging.getLogger(__name__)

_ENDED = "sandbox.ledger_ended"


class LedgerWriter:
    def __init__(self, home: Home, episodes: EpisodeDirectory, *, idle_s: float = 60.0, sweep_s: float = 2.0) -> None:
        self.home = home
        self.episodes = episodes
        self.idle_s = idle_s
        self.sweep_s = sweep_s
        self._open: dict[str, Ledger] = {}
        self._used: dict[str, float] = {}
        self._next_sweep = 0.0
        self.body_cap = load_limits(home).ledger_body_bytes
        self.redactor: Redactor = default_redactor()

    def configure(self, updated: set[str]) -> None:
        """The record stage's redaction options apply to the ledger too (declared there; absent when
        the stages run without it)."""
        names = {"record_redact_fields", "record_redact_patterns"}
        if not names & updated or not all(hasattr(ctx.options, name) for name in names):
            return
        fields, patterns = tuple(ctx.options.record_redact_fields), tuple(ctx.options.record_redact_patterns)
        try:
            self.redactor = Redactor(fields, patterns, where="record_redact_patterns") if fields or patterns \
                else default_redactor()
        except RecordingError as exc:
            raise exceptions.OptionsError(f"Cannot parse {exc.message}") from None
        for ledger in self._open.values():
            ledger.set_redactor(self.redactor)

    # -- the pipeline ------------------------------------------------------------------------

    def begin(self, flow: http.HTTPFlow) -> int | None:
        """Write the request now; returns its exchange id (the same one if asked again), or None
        if the flow has no episode or the write failed (then the flow has a 503 response)."""
        if EXCHANGE in flow.metadata:
            return flow.metadata[EXCHANGE]
        episode = flow.metadata.get(EPISODE)
        if episode is None:
            return None
        request = flow.request
        path, _, query = request.path.partition("?")
        try:
            exchange_id = self._ledger(episode.id).begin_exchange(
                via="proxy",
                service=flow.metadata.get(SERVICE),
                method=request.method,
                scheme=request.scheme,
                host=request.host,
                port=request.port,
                path=path,
                query=query,
                request_headers=request.headers.items(multi=True),
                request_body=decoded_body(request) or None,
                known_secrets=getattr(episode, "api_keys", {}).values(),
            )
        except WRITE_ERRORS as exc:
            self._unwritable(flow, episode.id, exc)
            return None
        flow.metadata[EXCHANGE] = exchange_id
        return exchange_id

    def request(self, flow: http.HTTPFlow) -> None:
        self.begin(flow)

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.error:  # a stage above killed it here (a dropped ghost write): the agent got no answer
            self.error(flow)
            return
        response = flow.response
        assert response is not None
        digest = flow.metadata.get(STREAM_DIGEST)  # a stream: only its head was kept (sandbox.proxy.stream)
        self._end(
            flow,
            status=response.status_code,
            headers=response.headers.items(multi=True),
            body=None if digest is not None else decoded_body(response),
            digest=digest,
        )

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.error is None and flow.metadata.get(CLOSED_BY_AGENT) and flow.response is not None:
            # The agent closed a stream it was reading (sandbox.proxy.stream): an answer, as far as it went.
            self.response(flow)
            exchange_id = flow.metadata.get(EXCHANGE)
            if exchange_id is not None:
                try:
                    self._ledger(flow.metadata[EPISODE].id).record_event(
                        "stream_closed_by_agent", {"exchange_id": exchange_id})
                except WRITE_ERRORS as exc:
                    logger.error("ledger of episode %s is not writable: %s", flow.metadata[EPISODE].id, exc)
            return
        # Refused before its `request` hook (the body limit) or cut while its body was read: begin it
        # now, so the row exists, with the headers; the body was never read, so there is none.
        self.begin(flow)
        self._end(flow, error=flow.error.msg if flow.error else "unknown error")

    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        episode = flow.metadata.get(EPISODE)
        if episode is None or flow.server_conn.address is None:
            return
        host, port = flow.server_conn.address[:2]
        try:
            flow.metadata[EXCHANGE] = self._ledger(episode.id).begin_exchange(
                via="proxy", method="CONNECT", scheme="tcp", host=host, port=port, path=""
            )
        except WRITE_ERRORS as exc:
            logger.error("ledger of episode %s is not writable (%s); closing the tunnel", episode.id, exc)
            flow.kill()

    def tcp_end(self, flow: tcp.TCPFlow) -> None:
        self._end(flow)

    def tcp_error(self, flow: tcp.TCPFlow) -> None:
        self._end(flow, error=flow.error.msg if flow.error else "unknown error")

    def done(self) -> None:
        for ledger in self._open.values():
            ledger.close()
        self._open.clear()
        self._used.clear()

    # -- helpers -----------------------------------------------------------------------------

    def _end(self, flow, *, status=None, headers=(), body=None, error: str | None = None, digest=None) -> None:
        exchange_id = flow.metadata.get(EXCHANGE)
        if exchange_id is None or flow.metadata.get(_ENDED):
            return
        flow.metadata[_ENDED] = True
        outcome = flow.metadata.get(OUTCOME, "forwarded")
        # An exchange a fault fired on is `faulted`, whatever came of it (the fault stage answered,
        # reset or hung it, the fake applied a ghost write, the body was cut): what the agent met
        # was made by the profile. Only the body limit's refusals (before any fault) stay `refused`.
        if outcome != "refused":
            if flow.metadata.get(FAULTS):
                outcome = "faulted"
            elif error:
                outcome = "error"
        episode_id = flow.metadata[EPISODE].id
        try:
            ledger = self._ledger(episode_id)
            ledger.end_exchange(
                exchange_id,
                outcome=outcome,
                status=status,
                response_headers=headers,
                response_body=body,
                response_digest=digest,
                error=error,
                service=flow.metadata.get(SERVICE),
            )
            for fault in flow.metadata.get(FAULTS, ()):
                ledger.record_fault(exchange_id, fault["rule"], fault["action"], fault["detail"])
        except WRITE_ERRORS as exc:
            if isinstance(flow, http.HTTPFlow) and flow.response is not None:
                self._unwritable(flow, episode_id, exc)
            else:
                logger.error("ledger of episode %s is not writable: %s", episode_id, exc)
        self._sweep()

    def _unwritable(self, flow: http.HTTPFlow, episode_id: str, exc: BaseException) -> None:
        logger.error("ledger of episode %s is not writable: %s", episode_id, exc)
        # Made after the framing stage has run: framed here (no body to a HEAD).
        flow.response = exact_framing(flow.request.method, sandbox_answer(
            503,
            "sandbox_ledger_unavailable",
            f"The sandbox could not record this exchange in the ledger of episode {episode_id!r}, so it "
            "was not sent on.",
            hint="check the sandbox home (disk full? episode folder deleted?) and the proxy's log",
        ))

    def connection(self, episode_id: str) -> sqlite3.Connection:
        """The open SQLite connection to the episode's ledger (autocommit), for the state the proxy
        workers share in it (sandbox.proxy.shared)."""
        return self._ledger(episode_id).conn

    def _ledger(self, episode_id: str) -> Ledger:
        ledger = self._open.get(episode_id)
        if ledger is None:
            path = self.home.ledger_path(episode_id)
            ledger = self._open[episode_id] = Ledger(path, body_cap=self.body_cap, redactor=self.redactor)
        self._used[episode_id] = time.monotonic()
        return ledger

    def _sweep(self) -> None:
        """Close the ledgers of finished episodes and of episodes idle for `idle_s`."""
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.sweep_s
        for episode_id in list(self._open):
            episode = self.episodes.get(episode_id)
            if episode is None or not episode.live or now - self._used[episode_id] > self.idle_s:
                self._open.pop(episode_id).close()
                del self._used[episode_id]
