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

An agent may stop reading a stream and close the connection before the server's body ends: the
openai SDK does so as soon as it reads `data: [DONE]`, before the server's last chunk (the end of
the body) has reached the proxy. mitmproxy then calls the `error` hook ("Client disconnected."), not
`response`. That is the agent's choice, not a failed call: what it read was the answer. So such a
flow (`agent_closed_stream`) is settled here as answered, with what went through: its error is
cleared and marked `CLOSED_BY_AGENT`, the record stage records it and the ledger writes it as an
answer (with an event saying the agent closed it), not as an error.

Memory: a stream can be endless, and the agent's or the upstream's choice. What this stage keeps of
it is bounded: the first `ledger_body_bytes` (the ledger keeps no more anyway), with the length and
SHA-256 of the whole stream counted as it goes (`sandbox.episodes.ledger.BodyDigest`, in
`flow.metadata[STREAM_DIGEST]`); `response.data.content` is set to that head only. The record stage's
own tap (record mode) still keeps the whole stream, which its recording needs.
"""

from __future__ import annotations

from mitmproxy import http

from sandbox.episodes.ledger import DEFAULT_BODY_CAP, BodyDigest
from sandbox.proxy.faults import _PENDING as FAULTS_PENDING  # faults waiting for the complete answer
from sandbox.recordings.stream import StreamTap, is_sse, is_stream

STREAM_DIGEST = "sandbox.stream_digest"  # flow.metadata: the BodyDigest of a stream this stage passed on
CLOSED_BY_AGENT = "sandbox.stream_closed_by_agent"  # flow.metadata: the agent closed this stream before its end
_CLIENT_CLOSED = "Client disconnected."  # mitmproxy's error when the client closes the connection mid-answer


def agent_closed_stream(flow: http.HTTPFlow) -> bool:
    """True if the agent closed the connection while a streamed answer was going through (see the
    module doc), or this stage already settled such a flow."""
    if flow.metadata.get(CLOSED_BY_AGENT):
        return True
    response = flow.response
    return (flow.error is not None and flow.error.msg == _CLIENT_CLOSED and response is not None
            and callable(response.stream))


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


def digest_tap(response: http.Response, digest: BodyDigest):
    """A `response.stream` callable that passes chunks on unchanged and feeds `digest`; at the end it
    puts the digest's head (not the whole stream) in the response, for the stages' `response` hooks."""

    def tap(data: bytes) -> bytes:
        if data:
            digest.update(data)
        else:
            response.data.content = bytes(digest.head)
        return data

    return tap


class StreamThrough:
    def __init__(self, cap: int = DEFAULT_BODY_CAP) -> None:
        self.cap = cap  # bytes of a stream kept for the ledger (the home's ledger_body_bytes)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        if response is None or response.stream or not streamable(response) or faults_need_body(flow):
            return
        digest = flow.metadata[STREAM_DIGEST] = BodyDigest(self.cap)
        response.stream = digest_tap(response, digest)

    def error(self, flow: http.HTTPFlow) -> None:
        """A stream the agent closed is answered with what went through, for the ledger after us."""
        if not agent_closed_stream(flow) or flow.metadata.get(CLOSED_BY_AGENT):
            return
        digest = flow.metadata.get(STREAM_DIGEST)
        if digest is not None:
            flow.response.data.content = bytes(digest.head)
        elif isinstance(flow.response.stream, StreamTap) and not flow.response.raw_content:
            flow.response.data.content = flow.response.stream.body  # another stage's tap (replay's stream)
        flow.metadata[CLOSED_BY_AGENT] = True
        flow.error = None
