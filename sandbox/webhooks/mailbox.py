"""Deliveries to isolated agents: the relay in the agent's namespace fetches them from here.

An isolated agent's endpoint listens on its namespace's loopback, which the host cannot reach (that
is the point of the namespace). So the deliverer does not connect to it: it leaves the delivery in
this mailbox, and the relay inside the namespace (sandbox/isolation/relay.py), which reaches the
host only through the gate, long-polls `GET /v1/next` through the gate, POSTs the delivery to the
agent's server on its own loopback and brings the answer back with `POST /v1/answer/<id>`.

The mailbox listens on the host's loopback, on the port `sandbox up` writes to ports.json as
`webhooks`; the gate lists it as one more target, but no listener in the namespace leads to it, so
the agent itself has no path here (the relay is not dumpable: the agent cannot borrow its gate
channel). A caller proves which episode it speaks for with the episode's proxy credentials (HTTP
Basic, as the proxy takes them) and sees that episode's deliveries only. A non-isolated agent can
reach this port like any host port, and gets no more than its own deliveries there either.
"""

from __future__ import annotations

import base64
import collections
import hmac
import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandbox.episodes.store import EpisodeStore
from sandbox.home import Home

LONG_POLL_S = 20.0  # the relay's wait for the next delivery before it asks again
MAX_ANSWER_BYTES = 256 * 1024


@dataclass
class Letter:
    """One delivery handed to a relay, and the agent's answer once it comes back."""

    id: int
    address: str
    port: int
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    done: threading.Event = field(default_factory=threading.Event)
    taken: bool = False
    result: tuple[int | None, list[tuple[str, str]], bytes, str | None] = (None, [], b"", None)

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, "address": self.address, "port": self.port, "path": self.path,
                "headers": self.headers, "body": base64.b64encode(self.body).decode()}


class Mailbox:
    """Per-episode queues of letters: the deliverer posts and waits, relays take and answer."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queues: dict[str, collections.deque[Letter]] = collections.defaultdict(collections.deque)
        self._out: dict[tuple[str, int], Letter] = {}
        self._ids = itertools.count(1)

    def exchange(self, episode: str, address: str, port: int, path: str, headers: list[tuple[str, str]],
                 body: bytes, timeout: float) -> tuple[int | None, list[tuple[str, str]], bytes, str | None]:
        """Leave a delivery for the episode's relay and wait for the agent's answer (status, headers,
        body, error); (None, ..., why) if no relay took it or answered in time."""
        letter = Letter(next(self._ids), address, port, path, headers, body)
        with self._cond:
            self._queues[episode].append(letter)
            self._out[(episode, letter.id)] = letter
            self._cond.notify_all()
        answered = letter.done.wait(timeout)
        with self._cond:
            self._out.pop((episode, letter.id), None)
            if letter in self._queues.get(episode, ()):
                self._queues[episode].remove(letter)
        if answered:
            return letter.result
        why = "the agent's server did not answer in time" if letter.taken else \
            "no relay in the agent's namespace took the delivery (is the agent still running?)"
        return None, [], b"", why

    def take(self, episode: str, wait: float) -> Letter | None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._queues.get(episode), timeout=wait):
                return None
            letter = self._queues[episode].popleft()
            letter.taken = True
            return letter

    def give_back(self, episode: str, letter: Letter) -> None:
        """A letter whose taker vanished before it had it (the relay's connection broke): next in line again."""
        with self._cond:
            if (episode, letter.id) in self._out:
                letter.taken = False
                self._queues[episode].appendleft(letter)
                self._cond.notify_all()

    def answer(self, episode: str, letter_id: int, result: dict[str, Any]) -> bool:
        with self._cond:
            letter = self._out.get((episode, letter_id))
        if letter is None:
            return False
        status = result.get("status")
        headers = [(str(k), str(v)) for k, v in result.get("headers") or []][:100]
        body = base64.b64decode(result.get("body") or "")[:MAX_ANSWER_BYTES]
        error = result.get("error")
        letter.result = (status if isinstance(status, int) else None, headers, body,
                         str(error)[:1000] if error else None)
        letter.done.set()
        return True


class MailboxServer:
    """The mailbox over HTTP on 127.0.0.1:`port` (0: any free port), one thread per request."""

    def __init__(self, home: Home, mailbox: Mailbox, port: int = 0, long_poll_s: float = LONG_POLL_S) -> None:
        self.mailbox = mailbox
        store = EpisodeStore(home)
        store_lock = threading.Lock()
        box = mailbox

        def episode_of(authorization: str | None) -> str | None:
            scheme, _, given = (authorization or "").partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                episode_id, _, token = base64.b64decode(given.strip(), validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            with store_lock:
                episode = store.get(episode_id)
            if episode is None or not episode.live or not hmac.compare_digest(token.encode(), episode.token.encode()):
                return None
            return episode_id

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self, status: int, payload: Any = None) -> bool:
                """Answer; False if the caller is gone (a relay whose namespace ended mid-poll)."""
                body = b"" if payload is None else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                except OSError:
                    self.close_connection = True
                    return False
                return True

            def _episode(self) -> str | None:
                episode = episode_of(self.headers.get("Authorization"))
                if episode is None:
                    self._reply(401, {"error": "give a live episode's proxy credentials (Basic episode:token)"})
                return episode

            def do_GET(self) -> None:  # noqa: N802 - http.server's hook name
                if self.path.split("?")[0] != "/v1/next":
                    self._reply(404, {"error": "GET /v1/next or POST /v1/answer/<id>"})
                    return None
                episode = self._episode()
                if episode is None:
                    return None
                letter = box.take(episode, long_poll_s)
                if letter is None:
                    self._reply(204)
                elif not self._reply(200, letter.wire()):
                    box.give_back(episode, letter)
                return None

            def do_POST(self) -> None:  # noqa: N802
                parts = self.path.split("/")
                length = int(self.headers.get("Content-Length") or 0)
                if len(parts) != 4 or parts[1:3] != ["v1", "answer"] or not parts[3].isdigit() \
                        or length > 2 * MAX_ANSWER_BYTES:
                    self._reply(404, {"error": "POST /v1/answer/<id> with a JSON answer"})
                    return None
                episode = self._episode()
                if episode is None:
                    return None
                try:
                    result = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._reply(400, {"error": "the answer is not JSON"})
                    return None
                if not isinstance(result, dict) or not box.answer(episode, int(parts[3]), result):
                    self._reply(404, {"error": "no such delivery waiting for this episode"})
                    return None
                self._reply(204)
                return None

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self._store = store
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="webhook-mailbox", daemon=True)

    def start(self) -> MailboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        self._store.close()
