"""Streamed responses: which ones, and how their pieces are kept.

Server-sent events are kept event by event (an event ends with a blank line), whatever the TCP
chunks were, each with the time since the previous event; other streams (NDJSON, chunked bodies)
chunk by chunk. Replaying sends the same pieces with the same delays, so a client sees the stream
arrive as it did.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from sandbox.recordings.format import StreamEvent

_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
STREAM_TYPES = ("text/event-stream", "application/x-ndjson", "application/jsonl", "application/stream+json")


def is_stream(content_type: str | None, transfer_encoding: str | None = None,
              content_length: str | None = None) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in STREAM_TYPES:
        return True
    return "chunked" in (transfer_encoding or "").lower() and content_length is None and kind != "application/json"


def is_sse(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == "text/event-stream"


class StreamTap:
    """A `flow.response.stream` callable: passes each chunk on unchanged and keeps it with its time.
    At the end of the stream it calls `done(body)` with everything that went through."""

    def __init__(self, sse: bool, done: Callable[[bytes], None] | None = None) -> None:
        self.sse = sse
        self.done = done
        self.started = time.monotonic()
        self.chunks: list[tuple[float, bytes]] = []

    def __call__(self, data: bytes) -> bytes:
        if data:
            self.chunks.append(((time.monotonic() - self.started) * 1000.0, data))
        elif self.done is not None:
            self.done(self.body)
        return data

    @property
    def body(self) -> bytes:
        return b"".join(c for _, c in self.chunks)

    def events(self) -> list[StreamEvent]:
        return split_events(self.chunks) if self.sse else _chunks(self.chunks)


def _chunks(chunks: list[tuple[float, bytes]]) -> list[StreamEvent]:
    out, previous = [], 0.0
    for at, data in chunks:
        out.append(StreamEvent(data, max(0.0, at - previous)))
        previous = at
    return out


def split_events(chunks: list[tuple[float, bytes]]) -> list[StreamEvent]:
    """SSE events from timed chunks: an event is complete at the chunk that brings its blank line."""
    out: list[StreamEvent] = []
    pending = b""
    previous = 0.0
    for at, data in chunks:
        pending += data
        while True:
            m = _EVENT_END.search(pending)
            if not m:
                break
            out.append(StreamEvent(pending[: m.end()], max(0.0, at - previous)))
            previous = at
            pending = pending[m.end():]
    if pending:
        at = chunks[-1][0] if chunks else 0.0
        out.append(StreamEvent(pending, max(0.0, at - previous)))
    return out


def events_from_body(body: bytes, sse: bool) -> list[StreamEvent]:
    """Pieces of a stream known only as a whole (HAR, mitmproxy flows): no timing, events split."""
    return split_events([(0.0, body)]) if sse else [StreamEvent(body, 0.0)]
