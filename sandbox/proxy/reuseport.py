"""Let N proxy processes listen on one port: SO_REUSEPORT on mitmproxy's TCP listener.

mitmproxy (11 and 12) binds its listener with a plain `asyncio.start_server(handle_stream, host,
port)` inside `AsyncioServerInstance.listen`, with no option for SO_REUSEPORT. With it, the Linux
kernel spreads new connections over every socket bound to the port (by a hash of the connection's
addresses), so N single-threaded mitmproxy processes share the load of one listen address with no
balancer in front. `install_reuse_port()` wraps that one method, in the proxy process only, so a
TCP listener on a given port is bound with `reuse_port=True`; everything else (port 0, UDP modes)
goes to mitmproxy's own code unchanged.

The kernel lets only sockets of the same user share a port, so another user cannot join the pool.
A second sandbox of the same user could: the supervisor refuses to start on a port already open.
Linux only: elsewhere SO_REUSEPORT does not balance (BSD/macOS: the last socket wins), so callers
ask `reuse_port_supported()` first and fall back to one worker, saying why.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import sys

_MARK = "_sandbox_reuse_port"


def reuse_port_supported() -> str | None:
    """None if N proxy workers can share a port here, else why not (for the fallback message)."""
    if not sys.platform.startswith("linux"):
        return f"SO_REUSEPORT balances connections only on Linux (this is {sys.platform})"
    if not hasattr(socket, "SO_REUSEPORT"):
        return "this Python has no socket.SO_REUSEPORT"
    if _listen_method() is None:
        return "this mitmproxy's AsyncioServerInstance.listen is not the shape the sandbox wraps"
    return None


def _listen_method():
    try:
        from mitmproxy.proxy.mode_servers import AsyncioServerInstance
    except ImportError:  # pragma: no cover - a mitmproxy without it
        return None
    listen = getattr(AsyncioServerInstance, "listen", None)
    if listen is None or not hasattr(AsyncioServerInstance, "handle_stream"):
        return None  # pragma: no cover
    return AsyncioServerInstance, listen


def install_reuse_port() -> None:
    """Bind mitmproxy's TCP listeners on a fixed port with SO_REUSEPORT, from now on, in this process.
    Raises RuntimeError (with `reuse_port_supported()`'s reason) where that cannot be done."""
    reason = reuse_port_supported()
    if reason is not None:
        raise RuntimeError(reason)
    found = _listen_method()
    assert found is not None
    cls, listen = found
    if getattr(listen, _MARK, False):
        return

    @functools.wraps(listen)
    async def listen_shared(self, host: str, port: int):
        if port == 0 or self.mode.transport_protocol != "tcp":
            return await listen(self, host, port)  # a free port is one process's own; UDP: not ours to change
        return [await asyncio.start_server(self.handle_stream, host, port, reuse_port=True)]

    setattr(listen_shared, _MARK, True)
    cls.listen = listen_shared
