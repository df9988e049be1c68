"""The gate: the host side of the namespace boundary, and the only thing that crosses it.

The launcher forks the gate *before* it leaves the host's network namespace, so the gate keeps
the host's loopback while the agent has none of it. The two talk over a SOCK_SEQPACKET socketpair
inherited by the relay: no path on disk, nothing another process (the agent included) can open.
The relay sends a target's name; the gate connects to that target on 127.0.0.1 and sends back
the connected socket itself (SCM_RIGHTS), so the host side copies no bytes at all.

The targets are a fixed allow-list (the proxy, the fakes' ports and the webhook mailbox, which
only the relay asks for): any other name, and so any other port on the host (the control API, a
database, a debugger), is refused here.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Mapping

CONNECT_TIMEOUT = 5.0


def serve(channel: socket.socket, targets: Mapping[str, int]) -> None:
    """Answer the relay's requests until it is gone (EOF on the channel)."""
    while True:
        try:
            name = channel.recv(1024).decode(errors="replace")
        except OSError:
            return
        if not name:
            return
        port = targets.get(name)
        if port is None:
            _reply(channel, f"gate: {name!r} is not a target (allowed: {', '.join(sorted(targets))})")
            continue
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            _reply(channel, f"gate: cannot connect to {name} on 127.0.0.1:{port}: {exc}")
            continue
        with upstream:
            upstream.setblocking(True)  # the timeout above made the descriptor non-blocking
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                socket.send_fds(channel, [b"ok"], [upstream.fileno()])
            except OSError:
                return


def _reply(channel: socket.socket, message: str) -> None:
    with contextlib.suppress(OSError):
        channel.send(message.encode()[:1000])
