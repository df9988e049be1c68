"""An agent's webhook endpoint for the tests: a real HTTP server on 127.0.0.1 that checks each
delivery with the vendor's own SDK (`stripe.Webhook.construct_event`) and answers what it is told."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import stripe


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    event_id: str | None  # set when the signature verified
    event_type: str | None
    error: str | None


@dataclass
class Receiver:
    url: str
    secret: str | None = None
    answers: list[int] = field(default_factory=list)  # statuses to answer, in order; then 200
    got: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verified(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(r.event_type, r.event_id) for r in self.got if r.event_id]


@contextmanager
def receiver(path: str = "/hooks") -> Iterator[Receiver]:
    state: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            rec: Receiver = state["receiver"]
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            event_id = event_type = error = None
            try:
                event = stripe.Webhook.construct_event(body, self.headers.get("Stripe-Signature", ""), rec.secret)
                event_id, event_type = event.id, event.type
            except (ValueError, stripe.SignatureVerificationError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            with rec.lock:
                rec.got.append(Received(self.path, dict(self.headers), body, event_id, event_type, error))
                status = rec.answers.pop(0) if rec.answers else 200
            answer = json.dumps({"received": True}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(f"http://127.0.0.1:{server.server_port}{path}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state["receiver"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
