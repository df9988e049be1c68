"""Streamed answers go through as they arrive, in every mode, and the ledger still gets the whole body.

mitmproxy buffers a response body until it is complete unless an addon sets `response.stream`. An
agent streaming a model's answer (server-sent events from an LLM API it may reach, NDJSON, any
chunked body without a length: `sandbox.recordings.stream.is_stream`) would get every event at once
at the end. This stage streams such answers, routed or forwarded, with a `StreamTap` that passes
each chunk on unchanged and, when the body ends, puts the whole of it in `response.data.content`:
the `response` hook (faults, record, the ledger) runs after the last chunk and sees the body as if
it had been buffered. The exchange row is written then, before the end of the body (the last
chunk of a chunked body, or the connection's close) goes out; the agent may have read every event
by that time, which is the point of streaming.

It sits just before the ledger, so it only takes the streams nobody above took: an answer whose
`response.stream` is already set is left alone (record mode's tap, which keeps events with their
timing and does the same for the ledger; the faults stage pacing a dribble, which writes the ledger
itself; replay's own stream server).

The rule for faults: a stream is NOT streamed while a fault that needs the answer is pending for
the flow (`faults_need_body`: ghost_write, drift, html, truncate, malformed_json: every action the
faults stage applies in its `response` hook). Those rewrite or replace the body, or the whole
response, after it is complete; once bytes are on the wire they could not, and the ledger would
record a body the agent never got. Such a call is buffered as before. Record mode follows the same
rule.
"""

from __future__ import annotations

from mitmproxy import http

from sandbox.proxy.faults import _PENDING as FAULTS_PENDING  # faults waiting for the complete answer
from sandbox.recordings.stream import StreamTap, is_sse, is_stream


def faults_need_body(flow: http.HTTPFlow) -> bool:
    """True if a fault waits for this flow's complete answer (the faults stage applies it in `response`)."""
    return bool(flow.metadata.get(FAULTS_PENDING))


def streamable(response: http.Response) -> bool:
    headers = response.headers
    return is_stream(headers.get("content-type"), headers.get("transfer-encoding"), headers.get("content-length"))


def body_tap(response: http.Response) -> StreamTap:
    """A tap that passes `response`'s chunks on and, at the end, puts the whole body back in it, so
    the stages' `response` hooks (the ledger's last) see it as if it had been buffered."""

    def done(body: bytes) -> None:
        response.data.content = body

    return StreamTap(is_sse(response.headers.get("content-type")), done)


class StreamThrough:
    def responseheaders(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        if response is None or response.stream or not streamable(response) or faults_need_body(flow):
            return
        response.stream = body_tap(response)
