"""Shared by the record/replay tests: episodes in record or replay mode, and a streaming stand-in."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import services
from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.recordings.store import finalize

SSE_EVENTS = [b"event: delta\ndata: {\"text\": \"Hel\"}\n\n", b"event: delta\ndata: {\"text\": \"lo\"}\n\n",
              b"data: [DONE]\n\n"]


def create(store: EpisodeStore, mode: str, recording: Path) -> Episode:
    """An episode without any fake's world (the proxy tests need none)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(services, "service_ids", list)
        return store.create(seed=7, mode=mode, recording=str(recording))


def finish(store: EpisodeStore, episode: Episode) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(services, "service_ids", list)
        store.finish(episode.id)
    return finalize(episode.id, episode.recording, store.home.ledger_path(episode.id))


@contextmanager
def sse_server(delay: float = 0.03) -> Iterator[int]:
    """Serves SSE_EVENTS on any path as a chunked text/event-stream, one event per chunk, `delay`
    apart; a stand-in for an LLM API that streams."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for event in SSE_EVENTS:
                time.sleep(delay)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
