"""SO_REUSEPORT for proxy workers: on Linux, two listeners on one port through mitmproxy's own
listen path; elsewhere a reason to fall back to one worker."""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest

from sandbox.proxy import reuseport


def test_off_linux_the_reason_names_the_platform(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert "only on Linux" in reuseport.reuse_port_supported()
    with pytest.raises(RuntimeError, match="darwin"):
        reuseport.install_reuse_port()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT balances on Linux only")
def test_mitmproxys_listener_binds_a_port_another_listener_holds(monkeypatch):
    from mitmproxy.proxy.mode_servers import AsyncioServerInstance

    monkeypatch.setattr(AsyncioServerInstance, "listen", AsyncioServerInstance.listen)  # mitmproxy's again after
    assert reuseport.reuse_port_supported() is None
    reuseport.install_reuse_port()
    reuseport.install_reuse_port()  # once is enough: not wrapped twice
    listen = AsyncioServerInstance.listen
    assert listen._sandbox_reuse_port and not getattr(listen.__wrapped__, "_sandbox_reuse_port", False)

    class Instance:  # what the wrapper reads of a server instance: its mode and its stream handler
        class mode:  # noqa: N801
            transport_protocol = "tcp"

        async def handle_stream(self, reader, writer) -> None:
            writer.close()

    async def both() -> None:
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        try:
            [server] = await listen(Instance(), "127.0.0.1", port)
            assert server.sockets[0].getsockname()[1] == port
            server.close()
        finally:
            holder.close()

    asyncio.run(both())
