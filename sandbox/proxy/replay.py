"""Replay mode: answer an episode's requests from its recording, with nothing upstream.

For an episode created with `mode="replay"` and a `recording` path, each request is looked up in
the recording (`sandbox.recordings.match`: method, host, path, normalised query and body; volatile
fields ignored; per-route sequence policy) and answered with the recorded response, byte for byte
as recorded. The ledger gets the exchange (outcome `replayed`, the service that answered it at
record time) and the state changes it caused at record time, so the episode scores as the
recorded one did. Replayed state changes keep their recorded seq: the replay episode starts from the
same world and setup, so they are the numbers its fake would have given them (and scoring tells
setup from agent changes by seq). The flip side: with on_miss=forward, a fake's own change can take
a seq a replayed change holds, and the ledger keeps the first of the two.

Recorded streams are replayed as streams: the proxy sends the flow to a small HTTP server of its
own on loopback (started with the proxy), which writes the recorded events with their recorded
delays; mitmproxy passes each on as it comes. The egress backstop would refuse that connection, so
this stage re-allows it (and only it) in `server_connect`.

A host the recording answers for is replayed even when egress refused it (egress refuses what is
"not routed, not replayed and not allow-listed"): this stage lifts that refusal for replayed hosts.

A miss answers according to the policy (`replay_on_miss` option, else the recording header's
`on_miss`, else `error`):
    error    502 from the proxy, naming the closest recorded requests and what differed
    forward  let the request through to the fakes (hosts with a fake only; others get `error`)
    refuse   403 from the proxy, outcome `refused`
and is in the ledger: the exchange (outcome `replay_miss`, or whatever answered it) and an event
`replay_miss` with the explanation.

A recorded exchange whose state changes cannot be written to the ledger is not answered from the
recording: the agent gets a 503 `sandbox_replay_ledger_unavailable` (outcome `error`) and the ledger,
if it takes the write, an event `replay_error`; a silent 200 would change the score unseen.

Safe under concurrent requests, and with N proxy workers: the position in the recording (how many
times each recorded request was answered) is in the episode's ledger, and a lookup plus its update
happen in one transaction there (sandbox.proxy.shared), so the Nth identical request gets the Nth
recorded answer whichever worker serves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

from mitmproxy import ctx, exceptions, http
from mitmproxy.http import status_codes
from mitmproxy.proxy import server_hooks

from sandbox.episodes.ledger import Ledger
from sandbox.home import Home
from sandbox.proxy.flows import (
    ANSWERED_BY,
    EPISODE,
    OUTCOME,
    SERVICE,
    decoded_body,
    exact_framing,
    has_no_body,
    sandbox_answer,
)
from sandbox.proxy.route import Routes
from sandbox.proxy.shared import WRITE_ERRORS, exclusive
from sandbox.recordings.format import Exchange, RecordedResponse, RecordingError, read_recording
from sandbox.recordings.match import Cursor, Index, Miss, RequestView
from sandbox.recordings.stream import StreamTap
from services.common import mcp_wire

logger = logging.getLogger(__name__)

POLICIES = ("error", "forward", "refuse")
TICKET_HEADER = "X-Sandbox-Replay-Ticket"
_TAP = "sandbox.replay_tap"
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


class Replay:
    def __init__(self, home: Home, routes: Routes, begin: Callable[[http.HTTPFlow], int | None],
                 shared: Callable[[str], sqlite3.Connection] | None = None) -> None:
        self.home = home
        self.routes = routes
        self.begin = begin
        # Episode id -> its ledger's connection, where the cursor all proxy workers share lives.
        # None: cursors in this process only (a stage used on its own).
        self.shared = shared
        self.on_miss = ""
        self.streams = StreamServer()
        self._indexes: dict[str, tuple[tuple[int, int], Index | RecordingError]] = {}
        self._cursors: dict[str, Cursor] = {}

    # -- options and lifecycle --------------------------------------------------------------------

    def load(self, loader) -> None:
        loader.add_option("replay_on_miss", str, "",
                          "What a replay miss does: error, forward (to the fakes) or refuse. "
                          "Empty: the recording's own choice (its header's on_miss), else error.")

    def configure(self, updated: set[str]) -> None:
        if "replay_on_miss" in updated:
            value = ctx.options.replay_on_miss
            if value and value not in POLICIES:
                raise exceptions.OptionsError(
                    f"Cannot parse replay_on_miss {value!r}: use one of {', '.join(POLICIES)}")
            self.on_miss = value

    async def running(self) -> None:
        await self.streams.start()

    def done(self) -> None:
        self.streams.close()

    # -- the pipeline ---------------------------------------------------------------------------------

    def request(self, flow: http.HTTPFlow) -> None:
        episode = flow.metadata.get(EPISODE)
        if episode is None or episode.mode != "replay" or not getattr(episode, "recording", None):
            return
        refused = None
        if flow.response is not None:
            if not _egress_refusal(flow):
                return  # answered by an earlier stage (faults): not ours to change
            refused = flow.response
        index = self.index(episode.recording)
        request = flow.request
        if isinstance(index, RecordingError):
            flow.response = sandbox_answer(502, "sandbox_replay_unavailable", index.message, hint=index.hint)
            flow.metadata[OUTCOME] = "replay_miss"
            return
        if refused is not None and request.host.lower() not in index.hosts:
            return  # egress refused a host the recording knows nothing of: the refusal stands
        path, _, query = request.path.partition("?")
        body = decoded_body(request)
        view = RequestView.of(request.method, request.scheme, request.host, request.port, path, query,
                              body, request.headers.get("content-type"))
        # Redacted as record redacted it: the secrets this request carries, and the episode's keys.
        known = index.redactor.known_secrets(request.headers.items(multi=True), query, body,
                                             request.headers.get("content-type"))
        known |= frozenset(key for key in getattr(episode, "api_keys", {}).values() if key)
        try:
            with self._cursor(episode.id) as cursor:
                found = index.lookup(view, cursor, known)
        except WRITE_ERRORS as exc:
            logger.error("replay position of episode %s is not readable or writable: %s", episode.id, exc)
            flow.response = sandbox_answer(
                503, "sandbox_replay_position_unavailable",
                f"The sandbox could not read or update where episode {episode.id!r} is in its recording (kept "
                "in the episode's ledger), so it did not answer this request.",
                hint="check the sandbox home (disk full? episode folder deleted?) and the proxy's log")
            flow.metadata[OUTCOME] = "error"
            return
        if isinstance(found, Miss):
            self._miss(flow, index, found, refused)
            return
        flow.response = None
        flow.metadata[OUTCOME] = "replayed"
        if found.upstream.startswith("fake:"):
            flow.metadata[SERVICE] = found.upstream.partition(":")[2]
        elif found.upstream.startswith("route:"):  # a routed host's server (sandbox.proxy.routed_hosts)
            flow.metadata[SERVICE] = found.upstream
        exchange_id = self.begin(flow)
        if exchange_id is None:
            return  # the ledger could not write it, and has answered instead
        if found.effects:
            failed = self._write(episode.id, lambda ledger: _replay_effects(ledger, exchange_id, found))
            if failed is not None:
                self._effects_lost(flow, index, found, exchange_id, failed)
                return
        # A recorded stream answering HEAD (or a 304) has no body to stream: answered whole, and empty.
        if (found.response.events is not None and self.streams.address is not None
                and not has_no_body(request.method, found.response.status)):
            self.streams.send(flow, found.response)
        else:
            flow.response = build_response(found.response, request.http_version, request.method)
            rpc = mcp_wire.rpc_call(body)  # an MCP answer goes back with the live request's JSON-RPC id
            if rpc is not None and rpc.id is not None:
                flow.response.content = mcp_wire.with_id(flow.response.content, rpc.id) or flow.response.content

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None and TICKET_HEADER in flow.request.headers:

            def done(body: bytes, response: http.Response = flow.response) -> None:
                response.data.content = body  # the ledger records the whole stream

            flow.response.stream = StreamTap(False, done)

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        address = data.server.address
        if address is not None and tuple(address[:2]) == self.streams.address:
            data.server.error = None  # our own stream server, inside this process (see the module doc)

    # -- helpers ------------------------------------------------------------------------------------

    def index(self, path: str) -> Index | RecordingError:
        """The recording at `path`, indexed, reloaded when the file changes; a load error is kept
        (and answered) until the file is fixed."""
        try:
            st = os.stat(path)
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = (0, -1)
        cached = self._indexes.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            loaded: Index | RecordingError = Index(read_recording(path))
        except RecordingError as exc:
            logger.error("cannot replay %s: %s", path, exc)
            loaded = exc
        self._indexes[path] = (stamp, loaded)
        return loaded

    @contextlib.contextmanager
    def _cursor(self, episode_id: str) -> Iterator[Cursor]:
        """The episode's cursor, for one lookup: from its ledger, and written back after, when shared."""
        if self.shared is None:
            cursor = self._cursors.get(episode_id)
            if cursor is None:
                if len(self._cursors) >= 4096:
                    self._cursors.clear()
                cursor = self._cursors[episode_id] = Cursor()
            yield cursor
            return
        with exclusive(self.shared(episode_id), "replay_cursor") as saved:
            calls = _SavedCalls(saved.value or {})
            yield Cursor(calls)
            if calls.changed:
                saved.set(calls.saved)

    def _miss(self, flow: http.HTTPFlow, index: Index, miss: Miss, refused: http.Response | None) -> None:
        episode = flow.metadata[EPISODE]
        policy = self.on_miss or index.recording.header.get("on_miss") or "error"
        forwardable = policy == "forward" and refused is None and self.routes.service_for(flow.request.host)
        if policy == "refuse":
            flow.metadata[OUTCOME] = "refused"
            flow.response = sandbox_answer(
                403, "sandbox_replay_refused", f"The recording {index.recording.name!r} has no answer for "
                f"{miss.request.describe()}, and this replay refuses requests it has no answer for.",
                hint="see the ledger's replay_miss event for the closest recorded requests")
        elif not forwardable:
            flow.metadata[OUTCOME] = "replay_miss"
            flow.response = sandbox_answer(
                502, "sandbox_replay_miss", miss.render().splitlines()[0], recording=str(index.recording.path),
                closest=miss.closest,
                hint="the agent sent a request the recording does not have: re-record it (sandbox run --record), "
                     "mark volatile fields in the recording header's match.ignore, or replay with on_miss=forward")
        exchange_id = self.begin(flow)
        detail = {**miss.to_dict(), "exchange_id": exchange_id, "policy": policy if forwardable or policy != "forward"
                  else "error (forward needs a host with a fake)"}
        self._write(episode.id, lambda ledger: ledger.record_event("replay_miss", detail))

    def _write(self, episode_id: str, write: Callable[[Ledger], Any]) -> Exception | None:
        """Run `write` on the episode's ledger; the exception if it failed (logged), else None."""
        try:
            with Ledger(self.home.ledger_path(episode_id)) as ledger:
                write(ledger)
        except Exception as exc:  # a replay must not die of a ledger problem; the caller answers it
            logger.error("ledger of episode %s: replay could not write: %s", episode_id, exc)
            return exc
        return None

    def _effects_lost(self, flow: http.HTTPFlow, index: Index, found: Exchange, exchange_id: int,
                      exc: Exception) -> None:
        """The recorded state changes did not reach the ledger: the episode would score as if the
        exchange never changed anything, so the agent gets a visible sandbox error instead of the
        recorded success, and the ledger an event saying why (if it takes any write at all)."""
        episode = flow.metadata[EPISODE]
        where = f"{index.recording.path or index.recording.name}:{found.line}"
        flow.metadata[OUTCOME] = "error"
        flow.response = sandbox_answer(
            503, "sandbox_replay_ledger_unavailable",
            f"The sandbox could not write the state changes recorded at {where} into the ledger of episode "
            f"{episode.id!r} ({type(exc).__name__}: {exc}), so it did not answer from the recording.",
            recording=str(index.recording.path), line=found.line,
            hint="check the episode's ledger (disk full? folder deleted?) and the proxy's log")
        detail = {"exchange_id": exchange_id, "recording": str(index.recording.path), "line": found.line,
                  "seq": found.seq, "error": f"{type(exc).__name__}: {exc}"}
        self._write(episode.id, lambda ledger: ledger.record_event("replay_error", detail))


class _SavedCalls(dict):
    """A cursor's `calls` kept as the ledger holds them: each request key by a digest of it (keys
    are tuples of text: method, host, path, query, canonical body)."""

    def __init__(self, saved: dict[str, int]) -> None:
        super().__init__()
        self.saved = saved
        self.changed = False

    @staticmethod
    def _name(key: tuple) -> str:
        return hashlib.blake2b(json.dumps(key).encode(), digest_size=12).hexdigest()

    def get(self, key: tuple, default: int | None = None) -> int | None:  # type: ignore[override]
        return self.saved.get(self._name(key), default)

    def __setitem__(self, key: tuple, value: int) -> None:
        self.saved[self._name(key)] = value
        self.changed = True


def _egress_refusal(flow: http.HTTPFlow) -> bool:
    response = flow.response
    return (flow.metadata.get(OUTCOME) == "refused" and response is not None and response.status_code == 403
            and response.headers.get(ANSWERED_BY) == "sandbox-proxy"
            and b"sandbox_egress_refused" in (response.raw_content or b""))


def _replay_effects(ledger: Ledger, exchange_id: int, exchange: Exchange) -> None:
    by_service: dict[str, list[tuple]] = {}
    for e in exchange.effects:
        by_service.setdefault(e["service"], []).append((
            int(e["seq"]), exchange_id, e["table"], e["key"], e["op"],
            None if e.get("before") is None else json.dumps(e["before"]),
            None if e.get("after") is None else json.dumps(e["after"]),
        ))
    for service, rows in by_service.items():
        ledger.add_state_changes(service, rows)


def build_response(recorded: RecordedResponse, http_version: str = "HTTP/1.1", method: str = "GET"
                   ) -> http.Response:
    """The recorded response as mitmproxy sends it: recorded status, reason, headers and body.
    A body recorded decoded is encoded again as its Content-Encoding says.

    An answer that HTTP sends without a body (to HEAD; 1xx, 204, 304) is sent without one, whatever
    was recorded (a browser's HAR gives a 304 the cached page as its body), and with its recorded
    headers untouched: a HEAD's Content-Length says what the GET carries, not 0."""
    now = time.time()
    response = http.Response(
        http_version=http_version.encode(),
        status_code=recorded.status,
        reason=(recorded.reason or status_codes.RESPONSES.get(recorded.status, "")).encode(),
        headers=http.Headers([(k.encode(), v.encode()) for k, v in recorded.headers]),
        content=None,
        trailers=None,
        timestamp_start=now,
        timestamp_end=now,
    )
    if has_no_body(method, recorded.status):
        response.raw_content = b""
        return exact_framing(method, response)
    response.content = recorded.body
    return response


class StreamServer:
    """Serves recorded streams on loopback, event by event with their recorded delays. A flow is
    sent here with a one-use ticket naming the response to stream."""

    def __init__(self) -> None:
        self.server: asyncio.base_events.Server | None = None
        self.address: tuple[str, int] | None = None
        self.pending: dict[str, RecordedResponse] = {}
        self._tickets = itertools.count(1)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.address = tuple(self.server.sockets[0].getsockname()[:2])

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    def send(self, flow: http.HTTPFlow, response: RecordedResponse) -> None:
        assert self.address is not None
        ticket = str(next(self._tickets))
        self.pending[ticket] = response
        request = flow.request
        request.scheme = "http"
        request.data.host, request.data.port = self.address  # the target only; Host stays
        request.headers[TICKET_HEADER] = ticket

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                fields = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    fields[name.strip().lower()] = value.strip()
                if int(fields.get("content-length") or 0):
                    await reader.readexactly(int(fields["content-length"]))
                response = self.pending.pop(fields.get(TICKET_HEADER.lower(), ""), None)
                if response is None:
                    writer.write(b"HTTP/1.1 410 Gone\r\ncontent-length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                await self._stream(writer, response)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _stream(writer: asyncio.StreamWriter, response: RecordedResponse) -> None:
        reason = response.reason or status_codes.RESPONSES.get(response.status, "")
        head = [f"HTTP/1.1 {response.status} {reason}"]
        head += [f"{k}: {v}" for k, v in response.headers if k.lower() not in _HOP_BY_HOP]
        spelled = next((k for k, _ in response.headers if k.lower() == "transfer-encoding"), "Transfer-Encoding")
        head.append(f"{spelled}: chunked")  # as recorded, when it was
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        for event in response.events or ():
            if event.delay_ms > 0:
                await asyncio.sleep(event.delay_ms / 1000.0)
            if event.data:
                writer.write(b"%x\r\n%s\r\n" % (len(event.data), event.data))
                await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
