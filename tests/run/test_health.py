"""The containers' health check: a 200 is healthy, anything else is not, and says why."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sandbox.run.health import ping


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_200_is_healthy_and_anything_else_says_why(server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # a proxy in the env is never used
    assert ping(f"{server}/health") is None
    assert "503" in ping(f"{server}/starting")
    assert "refused" in ping("http://127.0.0.1:9/health")


def test_as_a_command_it_exits_0_or_1(server):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sandbox.run.health", *args], capture_output=True, text=True)

    assert run(f"{server}/health").returncode == 0
    down = run(f"{server}/starting")
    assert down.returncode == 1 and "/starting: status 503" in down.stderr
    assert run().returncode == 2
