"""The gate hands the relay connected sockets to its allow-listed targets, and nothing else."""

from __future__ import annotations

import socket
import threading

import pytest

from sandbox.isolation import gate
from sandbox.isolation.relay import GateClient


@pytest.fixture
def served():
    server = socket.create_server(("127.0.0.1", 0))
    closed = socket.create_server(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    targets = {"proxy": server.getsockname()[1], "payments": dead_port}
    thread = threading.Thread(target=gate.serve, args=(ours, targets), daemon=True)
    thread.start()
    yield GateClient(theirs), server
    theirs.close()  # EOF: the gate returns
    thread.join(timeout=5)
    assert not thread.is_alive()
    ours.close()
    server.close()


def test_an_allowed_target_comes_back_as_a_connected_socket(served):
    client, server = served
    upstream = client.open("proxy")
    accepted, _ = server.accept()
    with upstream, accepted:
        upstream.sendall(b"ping")
        assert accepted.recv(4) == b"ping"


def test_other_targets_and_dead_ports_are_refused_with_a_reason(served):
    client, _ = served
    with pytest.raises(ConnectionError, match="'control' is not a target"):
        client.open("control")
    with pytest.raises(ConnectionError, match="cannot connect to payments"):
        client.open("payments")
