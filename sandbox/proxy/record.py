"""Record mode: every answered exchange of a recording episode goes to its recording, redacted.

For an episode created with `mode="record"` and a `recording` path, each exchange that an upstream
answered (a fake or a routed host's server: outcome `routed`, or a real host: `forwarded`) is appended, one line, to the
episode's partial recording file before the response is sent (`sandbox.recordings.store`); the
episode's finish turns it into the recording. Refused requests and the proxy's own answers are not
recorded: the proxy makes them again by itself on replay.

What is kept is what the agent sent and received: the request as it left the agent (scheme, host
and port from before route rewrote them, without the proxy's X-Sandbox-* headers), the response
as the agent got it, timing, the episode clock, and which upstream answered. Secrets are redacted
first (`sandbox.recordings.redact`, options `record_redact_fields` and `record_redact_patterns`):
the path, query, every header and the body of both request and response, and the secrets the
request carries (its credentials, Basic ones decoded; the episode's API keys) wherever they appear.

Streams (server-sent events, NDJSON, chunked bodies without a length) are passed through as they
arrive instead of being buffered, and kept piece by piece with their timing; they are redacted as a
whole (a chunk can end inside a secret) and cut again where the pieces were.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence

from mitmproxy import ctx, exceptions, http

from sandbox.clock import episode_time
from sandbox.proxy.flows import EPISODE, EXCHANGE, ORIGIN, OUTCOME, SERVICE, decoded_body, sandbox_answer
from sandbox.proxy.shared import WRITE_ERRORS, exclusive
from sandbox.proxy.stream import agent_closed_stream, body_tap, faults_need_body, streamable
from sandbox.recordings.format import Exchange, RecordedRequest, RecordedResponse, RecordingError
from sandbox.recordings.redact import Redactor
from sandbox.recordings.store import append_partial
from sandbox.recordings.stream import StreamTap, redact_events

logger = logging.getLogger(__name__)

_TAP = "sandbox.record_tap"
_NOT_RECORDED_HEADERS = (b"x-sandbox-", b"proxy-authorization", b"proxy-connection")


def recording_of(flow: http.HTTPFlow, mode: str) -> str | None:
    """The recording path of the flow's episode, if that episode is in `mode`."""
    episode = flow.metadata.get(EPISODE)
    if episode is None or episode.mode != mode:
        return None
    return getattr(episode, "recording", None)


class Record:
    def __init__(self, shared: Callable[[str], sqlite3.Connection] | None = None) -> None:
        self.redactor = Redactor()
        self._first: dict[str, float] = {}  # episode -> when its first recorded request started
        # Episode id -> its ledger's connection: that start is the same for every proxy worker.
        self.shared = shared

    def load(self, loader) -> None:
        loader.add_option("record_redact_fields", Sequence[str], [],
                          "More header, query, form or JSON field names whose values are redacted in recordings.")
        loader.add_option("record_redact_patterns", Sequence[str], [],
                          "More regular expressions redacted anywhere in recordings.")

    def configure(self, updated: set[str]) -> None:
        if not {"record_redact_fields", "record_redact_patterns"} & updated:
            return
        try:
            self.redactor = Redactor(tuple(ctx.options.record_redact_fields),
                                     tuple(ctx.options.record_redact_patterns), where="record_redact_patterns")
        except RecordingError as exc:
            raise exceptions.OptionsError(f"Cannot parse {exc.message}") from None

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if recording_of(flow, "record"):
            request = flow.request
            flow.metadata[ORIGIN] = (request.scheme, request.host, request.port)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        if response is None or not recording_of(flow, "record") or flow.metadata.get(OUTCOME) not in _ANSWERED:
            return
        # Not while a fault waits for the whole answer to rewrite it (see sandbox.proxy.stream).
        if streamable(response) and not faults_need_body(flow):
            tap = body_tap(response)
            earlier = response.stream if callable(response.stream) else None
            # A stage before us may already stream this answer (the faults stage pacing a slow
            # body): record what arrives, then hand each chunk on to it, so its pacing survives.
            response.stream = tap if earlier is None else (lambda chunk: earlier(tap(chunk)))
            flow.metadata[_TAP] = tap

    def error(self, flow: http.HTTPFlow) -> None:
        """A stream the agent closed before its end (sandbox.proxy.stream) is recorded as far as it went."""
        tap: StreamTap | None = flow.metadata.get(_TAP)
        if tap is not None and agent_closed_stream(flow):
            flow.response.data.content = tap.body
            self.response(flow)

    def response(self, flow: http.HTTPFlow) -> None:
        path = recording_of(flow, "record")
        if not path or flow.metadata.get(OUTCOME) not in _ANSWERED or EXCHANGE not in flow.metadata:
            return
        episode = flow.metadata[EPISODE]
        try:
            exchange = self._exchange(flow)
            append_partial(path, episode.id, exchange, self.redactor.config())
        except WRITE_ERRORS as exc:
            logger.error("recording %s of episode %s is not writable: %s", path, episode.id, exc)
            flow.response = sandbox_answer(
                503, "sandbox_recording_unavailable",
                f"The sandbox could not write this exchange to the recording of episode {episode.id!r}.",
                hint=f"check that {path} is writable (disk full?) and the proxy's log")

    def _exchange(self, flow: http.HTTPFlow) -> Exchange:
        request, response = flow.request, flow.response
        assert response is not None
        episode = flow.metadata[EPISODE]
        scheme, host, port = flow.metadata.get(ORIGIN) or (request.scheme, request.host, request.port)
        path, _, query = request.path.partition("?")
        redact = self.redactor
        headers = [(k, v) for k, v in request.headers.items(multi=True)
                   if not k.lower().encode().startswith(_NOT_RECORDED_HEADERS)]
        request_body = decoded_body(request)
        request_type = request.headers.get("content-type")
        # The episode's own keys too: an agent may paste one service's key into another's request.
        known = redact.known_secrets(headers, query, request_body, request_type) | frozenset(
            key for key in getattr(episode, "api_keys", {}).values() if key)
        path, query, headers, request_body = redact.request(path, query, headers, request_body, request_type, known)
        recorded_request = RecordedRequest(
            method=request.method, scheme=scheme, host=host, port=port, path=path, query=query,
            http_version=request.http_version, headers=headers, body=request_body,
        )
        tap: StreamTap | None = flow.metadata.get(_TAP)
        content_type = response.headers.get("content-type")
        events = None
        if tap is not None:
            # The stream redacted as a whole: a chunk boundary can fall inside a secret.
            events = redact_events(tap.events(), lambda data: redact.response_body(data, content_type, known))
        recorded_response = RecordedResponse(
            status=response.status_code, reason=response.reason, http_version=response.http_version,
            headers=redact.response_headers(response.headers.items(multi=True), known),
            body=b"" if events is not None else redact.response_body(
                decoded_body(response), content_type, known),
            events=events,
        )
        started = request.timestamp_start or time.time()
        first = self._first_start(episode.id, started)
        ended = response.timestamp_end or time.time()
        exchange_id = flow.metadata[EXCHANGE]
        service = flow.metadata.get(SERVICE)
        upstream = "real"
        if flow.metadata.get(OUTCOME) == "routed" and service:
            # A routed host's server (sandbox.proxy.routed_hosts) is `route:<host>`, a fake `fake:<id>`.
            upstream = service if service.startswith("route:") else f"fake:{service}"
        return Exchange(
            request=recorded_request,
            response=recorded_response,
            upstream=upstream,
            clock=episode_time(exchange_id, episode.clock_start),
            exchange=exchange_id,
            timing={"start_ms": round((started - first) * 1000.0, 1),
                    "duration_ms": round((ended - started) * 1000.0, 1)},
        )

    def _first_start(self, episode_id: str, started: float) -> float:
        """When the episode's first recorded request started (timings count from it): the first
        answer's start, set once in the ledger by whichever worker records it, then kept here."""
        first = self._first.get(episode_id)
        if first is None:
            if self.shared is None:
                first = started
            else:
                with exclusive(self.shared(episode_id), "record_started") as saved:
                    if saved.value is None:
                        saved.set(started)
                    first = saved.value
            if len(self._first) >= 4096:
                self._first.clear()
            self._first[episode_id] = first
        return first


_ANSWERED = ("routed", "forwarded")
