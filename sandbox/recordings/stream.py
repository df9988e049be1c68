"""Streamed responses: which ones, and how their pieces are kept.

Server-sent events are kept event by event (an event ends with a blank line), whatever the TCP
chunks were, each with the time since the previous event; other streams (NDJSON, chunked bodies)
chunk by chunk. Replaying sends the same pieces with the same delays, so a client sees the stream
arrive as it did.
"""

from __future__ import annotations

import os
import re
import time
from bisect import bisect_right
from collections.abc import Callable
from difflib import SequenceMatcher
from itertools import accumulate

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


def redact_events(events: list[StreamEvent], redact: Callable[[bytes], bytes]) -> list[StreamEvent]:
    """`events` with `redact` applied to the stream as a whole, not event by event: a chunk boundary
    can fall inside a secret, and each half alone looks like nothing. The redacted stream is cut again
    where the events were cut, each event keeping its delay; a cut that falls inside a line the
    redaction changed moves back to where the change starts, so a redacted secret stays in one piece."""
    if not events:
        return events
    whole = b"".join(e.data for e in events)
    redacted = redact(whole)
    if redacted == whole:
        return events
    lines = _LineMap(whole, redacted)
    cuts, previous = [], 0
    for at in accumulate(len(e.data) for e in events[:-1]):
        previous = max(previous, lines.moved(at))
        cuts.append(previous)
    bounds = [0, *cuts, len(redacted)]
    return [StreamEvent(redacted[bounds[i]:bounds[i + 1]], e.delay_ms) for i, e in enumerate(events)]


class _LineMap:
    """Offsets of a stream mapped onto its redacted copy: lines are paired up by a diff (redaction
    replaces text, it seldom adds or removes a line), and within a changed line only the part before
    the first change keeps its offset."""

    def __init__(self, whole: bytes, redacted: bytes) -> None:
        self.a = whole.splitlines(keepends=True)
        self.b = redacted.splitlines(keepends=True)
        self.a_at = [0, *accumulate(len(line) for line in self.a)]
        self.b_at = [0, *accumulate(len(line) for line in self.b)]
        self.size = len(redacted)
        self.pair: list[tuple[int, bool]] = [(0, False)] * len(self.a)  # a line -> (b line, paired one to one)
        for tag, i1, i2, j1, j2 in SequenceMatcher(None, self.a, self.b).get_opcodes():
            paired = tag == "equal" or i2 - i1 == j2 - j1
            for i in range(i1, i2):
                self.pair[i] = (j1 + i - i1, True) if paired else (j1, False)

    def moved(self, at: int) -> int:
        i = bisect_right(self.a_at, at) - 1
        if i >= len(self.a):
            return self.size
        j, paired = self.pair[i]
        if j >= len(self.b):
            return self.size
        offset = at - self.a_at[i]
        if not paired:
            return self.b_at[j]
        return self.b_at[j] + min(offset, len(os.path.commonprefix([self.a[i], self.b[j]])))
