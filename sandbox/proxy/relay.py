"""A loopback relay that paces answers: how a `dribble` fault makes a body arrive slowly.

mitmproxy sends a client only what its upstream sends it, when it sends it: an addon cannot pause
between the chunks of a body. So for the episodes whose profile dribbles, the faults stage points
their upstream connections at this relay (one listening socket per fake, in the proxy's own event
loop), which forwards each request to its fake and writes the answer back unchanged, except that
a request marked with `X-Sandbox-Fault-Dribble: CHUNK_BYTES,INTERVAL_MS` gets its body back that
many bytes at a time, that many milliseconds apart. The proxy streams those chunks to the client
as they come (`flow.response.stream`).

HTTP/1.1 only (what mitmproxy speaks upstream to a plain-HTTP fake): a request body framed by
Content-Length or chunked; each request is forwarded on its own upstream connection, read to EOF,
and the relay closes the proxy's connection after the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

logger = logging.getLogger(__name__)

DRIBBLE_HEADER = "X-Sandbox-Fault-Dribble"
_DRIBBLE = DRIBBLE_HEADER.lower().encode()
MAX_HEAD = 64 * 1024


class FaultRelay:
    def __init__(self) -> None:
        self._servers: dict[tuple[str, int], tuple[asyncio.Server, tuple[str, int]]] = {}

    async def start(self, targets: Iterable[tuple[str, int]]) -> None:
        for target in targets:
            target = (target[0], int(target[1]))
            if target in self._servers:
                continue
            server = await asyncio.start_server(lambda r, w, t=target: self._serve(t, r, w), "127.0.0.1", 0)
            self._servers[target] = (server, server.sockets[0].getsockname()[:2])

    def address(self, target: tuple[str, int]) -> tuple[str, int]:
        """Where to connect instead of `target` (the target itself if no relay runs for it)."""
        found = self._servers.get((target[0], int(target[1])))
        return found[1] if found else target

    def close(self) -> None:
        for server, _ in self._servers.values():
            server.close()
        self._servers.clear()

    async def _serve(self, target: tuple[str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                     ) -> None:
        # One exchange per connection: mitmproxy never reuses a connection to the relay (it asked for
        # the fake's address, not ours) and keeps at most five open per address, so with connections
        # left open a client's sixth call would wait forever.
        try:
            request = await _read_request(reader)
            if request is not None:
                head, body, pace = request
                await _write(writer, await _forward(target, head, body), pace)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            logger.info("fault relay to %s:%s: %s", *target, exc)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> tuple[list[bytes], bytes, tuple[int, float] | None] | None:
    """(head lines without the dribble header, body bytes as framed, pace) or None at EOF."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    if len(raw) > MAX_HEAD:
        raise ValueError("request head too large")
    lines = raw[:-4].split(b"\r\n")
    head, pace, length, chunked = [lines[0]], None, 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == _DRIBBLE:
            chunk, _, interval = value.strip().partition(b",")
            pace = (max(1, int(chunk)), max(0.0, float(interval)) / 1000)
            continue
        if key == b"connection":
            continue
        if key == b"content-length":
            length = int(value.strip())
        elif key == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        head.append(line)
    head.append(b"Connection: close")
    if chunked:
        body = b""
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            body += size_line + await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        body = await reader.readexactly(length)
    return head, body, pace


async def _forward(target: tuple[str, int], head: list[bytes], body: bytes) -> bytes:
    upstream_reader, upstream_writer = await asyncio.open_connection(*target)
    try:
        upstream_writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await upstream_writer.drain()
        return await upstream_reader.read()  # to EOF: the request said Connection: close
    finally:
        upstream_writer.close()
        with contextlib.suppress(OSError):
            await upstream_writer.wait_closed()


async def _write(writer: asyncio.StreamWriter, answer: bytes, pace: tuple[int, float] | None) -> None:
    """Write the fake's answer back, framed for a kept-alive connection, paced if asked."""
    raw_head, sep, body = answer.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("the service closed the connection without a complete answer")
    lines = raw_head.split(b"\r\n")
    names = {line.partition(b":")[0].strip().lower() for line in lines[1:]}
    head = [lines[0]] + [line for line in lines[1:] if line.partition(b":")[0].strip().lower() != b"connection"]
    if b"content-length" not in names and b"transfer-encoding" not in names:
        head.append(b"Content-Length: %d" % len(body))
    writer.write(b"\r\n".join(head) + b"\r\n\r\n")
    if pace is None:
        writer.write(body)
        await writer.drain()
        return
    chunk, interval = pace
    await writer.drain()
    for start in range(0, len(body), chunk):
        if start:
            await asyncio.sleep(interval)
        writer.write(body[start:start + chunk])
        await writer.drain()
