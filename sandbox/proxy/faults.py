"""Seeded nuisance from the episode's fault profile, at the proxy (see sandbox/faults/).

An episode created with a profile (`Episode.faults`: a library name or a file path) has it loaded
here once, with one `EpisodeFaults` (counters, draws) per episode: concurrent episodes never
disturb each other's decisions. An episode without a profile costs one attribute check.

The `request` hook decides which rules fire on the call (it asks the ledger stage for the exchange
id first: the episode clock is the exchange sequence) and does what must happen before the fake is
reached: wait (latency, in an async hook, so other flows go on), answer in the vendor's own error
shape (error, rate_limit, busy, maintenance, expire_session), cut the connection (reset), or hold
the call until the client gives up (hang). What needs the fake's answer happens in `response`:
the ghost write (the fake applied the write; the agent gets a 5xx or a dropped connection), schema
drift, HTML nuisance, truncated and malformed bodies. A dribble is paced by `FaultRelay`, which
this stage puts between the proxy and the fake for the episodes whose profile dribbles.

Every fault that fires goes in `flow.metadata[FAULTS]`; the ledger stage writes each to the faults
table with the exchange it hit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Callable, MutableMapping
from typing import Any

from mitmproxy import connection, http
from mitmproxy.proxy import server_hooks

from sandbox.clock import STEP_SECONDS
from sandbox.episodes.snapshot import restore_faults, saved_fault_state
from sandbox.errors import ServiceError
from sandbox.faults import FaultProfileError, Profile, load_profile, session_expiry
from sandbox.faults import drift as drift_ops
from sandbox.faults import html as html_ops
from sandbox.faults.engine import Call, EpisodeFaults, Firing, latency_ms
from sandbox.faults.html_js import PageContext
from sandbox.home import Home
from sandbox.proxy.flows import (
    EPISODE,
    FAULTS,
    OUTCOME,
    SERVICE,
    decoded_body,
    has_no_body,
    is_internal_path,
    sandbox_answer,
)
from sandbox.proxy.relay import DRIBBLE_HEADER, FaultRelay
from sandbox.proxy.route import Routes
from services.common import mcp_wire

logger = logging.getLogger(__name__)

_PENDING = "sandbox.faults.pending"  # firings whose action waits for the response
_ANSWERED = "sandbox.faults.answered"  # this stage answered the call itself
_DRIBBLE = "sandbox.faults.dribble"
MAX_EPISODES = 4096


def record(flow: http.HTTPFlow, firing: Firing, detail: dict[str, Any]) -> None:
    """Note a fault that fired on `flow`, for the ledger stage to write."""
    rule = firing.rule
    flow.metadata.setdefault(FAULTS, []).append(
        {"rule": rule.name, "action": rule.action.kind, "detail": {"rule_index": rule.index, "call": firing.n,
                                                                    **detail}}
    )


def vendor_answer(service: str | None, status: int, message: str, headers: dict[str, str] | None = None
                  ) -> http.Response:
    """`status` in the shape the vendor behind `service` uses (Stripe's error object, Slack's
    ok:false, GitHub's message...), or a generic JSON error if the service has no such hook."""
    spec = None
    if service is not None:
        from services import get_service

        try:
            spec = get_service(service)
        except (ServiceError, ImportError):  # an unknown or unfinished fake: the generic answer will do
            spec = None
    if spec is not None and spec.vendor_error is not None:
        vendor_headers, body = spec.vendor_error(status, message)
    else:
        vendor_headers = {"Content-Type": "application/json"}
        body = json.dumps({"error": {"status": status, "message": message}}).encode()
    return http.Response.make(status, body, {**vendor_headers, **(headers or {})})


def rate_limit_headers(service: str | None, retry_after: int) -> dict[str, str]:
    headers = {"Retry-After": str(retry_after)}
    if service is not None:
        from services import get_service

        try:
            spec = get_service(service)
        except (ServiceError, ImportError):
            return headers
        if spec.rate_limit_headers is not None:
            headers.update(spec.rate_limit_headers(retry_after))
    return headers


def wants_html(request: http.Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


MAINTENANCE_PAGE = """<!doctype html>
<html><head><title>Down for maintenance</title></head>
<body><h1>We'll be back soon</h1><p>{message}</p><p>Please try again in {retry_after} seconds.</p></body></html>
"""


class Faults:
    def __init__(self, routes: Routes, begin: Callable[[http.HTTPFlow], int | None],
                 end: Callable[[http.HTTPFlow], None] | None = None, home: Home | None = None) -> None:
        self.routes = routes
        self.home = home  # where a fork's saved fault state is read from (its ledger)
        self.begin = begin
        self.end = end  # the ledger's `response`: a dribbled exchange is written before its last chunk leaves
        self.relay = FaultRelay()
        self._profiles: dict[str, Profile | FaultProfileError] = {}
        self._episodes: dict[str, EpisodeFaults] = {}
        # Client connections of episodes whose profile dribbles: their upstream connections go via the relay.
        self._relayed: MutableMapping[connection.Client, bool] = weakref.WeakKeyDictionary()
        self._gone: MutableMapping[connection.Client, asyncio.Event] = weakref.WeakKeyDictionary()

    # -- state -----------------------------------------------------------------------------------

    def _profile(self, ref: str) -> Profile:
        found = self._profiles.get(ref)
        if found is None:
            try:
                found = load_profile(ref)
            except FaultProfileError as exc:
                found = exc
            self._profiles[ref] = found
        if isinstance(found, FaultProfileError):
            raise found
        return found

    def state(self, episode) -> EpisodeFaults:
        """The episode's fault state, created on its first call."""
        state = self._episodes.get(episode.id)
        if state is None:
            if len(self._episodes) >= MAX_EPISODES:
                self._episodes.pop(next(iter(self._episodes)))  # the oldest; live episodes rarely number this many
            # The fault seed, not the world seed: per-trial sweeps give each trial its own draws.
            state = self._episodes[episode.id] = EpisodeFaults(self._profile(episode.faults), episode.fault_seed)
            if self.home is not None:  # a fork goes on from its parent's counters (sandbox/episodes/snapshot.py)
                restore_faults(state, saved_fault_state(self.home.ledger_path(episode.id)))
        return state

    # -- before the fake -------------------------------------------------------------------------

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or EPISODE not in flow.metadata:
            return
        episode = flow.metadata[EPISODE]
        if not episode.faults or is_internal_path(flow.request.path):
            return
        try:
            state = self.state(episode)
        except FaultProfileError as exc:
            # Never run an episode unperturbed by mistake: say why, every call.
            flow.response = sandbox_answer(503, "sandbox_fault_profile_unusable", exc.message, hint=exc.hint)
            return
        request = flow.request
        service = self.routes.service_for(request.host)
        if service is not None:
            flow.metadata[SERVICE] = service
        exchange_id = self.begin(flow)
        if exchange_id is None:
            return  # the ledger could not write it, and has answered instead
        if state.profile.needs_relay:
            self._relayed[flow.client_conn] = True
        rpc = mcp_wire.rpc_call(decoded_body(request)) if state.profile.reads_mcp else None
        call = Call(request.host, request.method, request.path.partition("?")[0], service,
                    exchange_id * STEP_SECONDS, rpc.tool if rpc else None)
        pending = []
        for firing in state.decide(call):
            kind = firing.rule.action.kind
            if kind == "latency":
                delay = latency_ms(firing)
                record(flow, firing, {"delay_ms": delay})
                await asyncio.sleep(delay / 1000)
            elif kind == "dribble":
                self._dribble(flow, firing, service)
            elif kind == "page_size":
                _page_size(flow, firing)
            elif kind == "session_expired":
                flow.response = _session_expired(flow, firing, service, episode.seed)
                flow.metadata[_ANSWERED] = True
                flow.metadata[OUTCOME] = "faulted"
            elif kind in _ANSWERS:
                flow.response = _ANSWERS[kind](flow, firing, service)
                flow.metadata[_ANSWERED] = True
                flow.metadata[OUTCOME] = "faulted"  # answered here: the service never saw it
            elif kind == "reset":
                record(flow, firing, {"did": "connection closed before the request reached the service"})
                flow.metadata[OUTCOME] = "faulted"
                flow.kill()
            elif kind == "hang":
                await self._hang(flow, firing)
            elif kind in ("mcp_tool_error", "mcp_timeout"):
                answer = await _mcp_answer(flow, firing, rpc)
                if answer is not None:
                    flow.response = answer
                    flow.metadata[_ANSWERED] = True
                    flow.metadata[OUTCOME] = "faulted"
            else:
                pending.append(firing)
        if pending and not flow.response and not flow.error:
            flow.metadata[_PENDING] = pending

    def _dribble(self, flow: http.HTTPFlow, firing: Firing, service: str | None) -> None:
        params = firing.rule.action.params
        if service is None or service not in self.routes.targets:
            record(flow, firing, {"did": "nothing: dribble needs a call to a fake service"})
            return
        flow.request.headers[DRIBBLE_HEADER] = f"{params['chunk_bytes']},{params['interval_ms']}"
        flow.metadata[_DRIBBLE] = True
        record(flow, firing, {"chunk_bytes": params["chunk_bytes"], "interval_ms": params["interval_ms"]})

    async def _hang(self, flow: http.HTTPFlow, firing: Firing) -> None:
        max_s = firing.rule.action.params["max_s"]
        record(flow, firing, {"did": "held the call until the client gave up", "max_s": max_s})
        client = flow.client_conn
        if client.timestamp_end is None:
            gone = self._gone.setdefault(client, asyncio.Event())
            try:
                await asyncio.wait_for(gone.wait(), timeout=max_s)
            except TimeoutError:
                pass
        if flow.killable:
            flow.kill()

    def client_disconnected(self, client: connection.Client) -> None:
        gone = self._gone.pop(client, None)
        if gone is not None:
            gone.set()

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        """Upstream connections of a dribbling episode go to the relay, which forwards each request
        to its fake and paces the answers it is asked to (the address is read after this hook)."""
        if data.server.error or not self._relayed.get(data.client) or data.server.address is None:
            return
        if tuple(data.server.address[:2]) in self.routes.addresses:
            data.server.address = self.relay.address(data.server.address)

    async def running(self) -> None:
        await self.relay.start(self.routes.targets.values())

    def done(self) -> None:
        self.relay.close()

    # -- after the fake --------------------------------------------------------------------------

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get(_DRIBBLE) and flow.response is not None and not flow.metadata.get(_ANSWERED):
            # Pass the relay's paced chunks on as they come, one behind, keeping a copy: at the end
            # of the body the exchange is written to the ledger, and only then does the last chunk
            # leave (the ledger is durable before the agent has the whole answer, as for any call).
            response = flow.response
            chunks: list[bytes] = []
            flow.metadata[_DRIBBLE] = chunks

            def pace(chunk: bytes) -> list[bytes]:  # a list: an empty bytes would end a chunked body
                held = chunks[-1:]
                if chunk:
                    chunks.append(chunk)
                    return held
                response.data.content = b"".join(chunks)
                if self.end is not None:
                    self.end(flow)
                return held

            response.stream = pace

    def response(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        assert response is not None
        pending: list[Firing] = flow.metadata.pop(_PENDING, [])
        if not pending or flow.metadata.get(_ANSWERED):
            return
        service = flow.metadata.get(SERVICE)
        for firing in pending:
            kind = firing.rule.action.kind
            if kind in _BODY_REWRITES and has_no_body(flow.request.method, flow.response.status_code):
                continue  # HTTP gives this answer no body: none to rewrite, and none may be made up
            _AFTER[kind](self, flow, firing, service)
            if flow.error:
                return

    def _ghost_write(self, flow: http.HTTPFlow, firing: Firing, service: str | None) -> None:
        response = flow.response
        assert response is not None
        params = firing.rule.action.params
        if response.status_code >= 400:
            return  # the service refused the write: nothing was applied, so there is no ghost
        detail = {"upstream_status": response.status_code}
        if params.get("drop"):
            record(flow, firing, {**detail, "did": "the service applied the write; the connection was dropped"})
            flow.kill()
            return
        status = params.get("status", 500)
        message = params.get("message") or "An error occurred while processing your request. Please try again."
        record(flow, firing, {**detail, "status": status, "did": f"the service applied the write; the agent got "
                                                                  f"{status}"})
        flow.response = vendor_answer(service, status, message)

    def _drift(self, flow: http.HTTPFlow, firing: Firing, service: str | None) -> None:
        response = flow.response
        assert response is not None
        if "json" not in response.headers.get("content-type", ""):
            return
        done = drift_ops.apply_to_body(firing.rule.action.params["ops"], response.content or b"", firing.draw)
        if done is None:
            return
        body, changes = done
        response.content = body
        record(flow, firing, {"changes": changes})

    def _html(self, flow: http.HTTPFlow, firing: Firing, service: str | None) -> None:
        response = flow.response
        assert response is not None
        if "text/html" not in response.headers.get("content-type", ""):
            return
        before = response.get_text(strict=False) or ""
        context = PageContext(dict(flow.request.cookies), getattr(flow.metadata.get(EPISODE), "id", ""))
        page, changes = html_ops.apply(firing.rule.action.params["ops"], before, context)
        if page != before:  # an untouched page keeps its bytes (and its encoding)
            response.text = page
        record(flow, firing, {"changes": changes})

    def _truncate(self, flow: http.HTTPFlow, firing: Firing, service: str | None) -> None:
        response = flow.response
        assert response is not None
        body = response.raw_content or b""
        if len(body) < 2:
            return
        keep = max(1, min(len(body) - 1, int(len(body) * firing.rule.action.params["fraction"])))
        # Content-Length still promises the whole body; the connection closes after the part sent.
        response.headers["content-length"] = str(len(body))
        response.headers["connection"] = "close"
        response.raw_content = body[:keep]
        record(flow, firing, {"sent_bytes": keep, "declared_bytes": len(body)})

    def _malformed(self, flow: http.HTTPFlow, firing: Firing, service: str | None) -> None:
        response = flow.response
        assert response is not None
        body = response.content or b""
        if "json" not in response.headers.get("content-type", "") or len(body) < 2:
            return
        cut = 1 + int(firing.draw("cut") * (len(body) - 1))
        # A strict prefix of a JSON object or array never parses, and a NUL is invalid anywhere in JSON.
        response.content = body[:cut] + b"\x00"
        record(flow, firing, {"cut_at": cut, "of_bytes": len(body)})


# -- answers made before the fake, by action kind ---------------------------------------------------


def _error(flow: http.HTTPFlow, firing: Firing, service: str | None) -> http.Response:
    params = firing.rule.action.params
    status = params["status"]
    record(flow, firing, {"status": status})
    return vendor_answer(service, status, params.get("message") or _DEFAULT_MESSAGES.get(status, "Internal error."))


def _throttle_status(service: str | None) -> int:
    """429, or the status the vendor throttles with (GitHub: 403)."""
    if service is None:
        return 429
    from services import get_service

    return get_service(service).rate_limit_status


def _rate_limit(flow: http.HTTPFlow, firing: Firing, service: str | None) -> http.Response:
    params = firing.rule.action.params
    retry_after = params["retry_after"]
    status = _throttle_status(service)
    record(flow, firing, {"status": status, "retry_after": retry_after})
    message = params.get("message") or "Too many requests hit the API too quickly. Please retry after a moment."
    response = vendor_answer(service, status, message)
    response.headers.update(rate_limit_headers(service, retry_after))
    return response


def _busy(flow: http.HTTPFlow, firing: Firing, service: str | None) -> http.Response:
    params = firing.rule.action.params
    status = params["status"]
    record(flow, firing, {"status": status})
    message = params.get("message") or "This object is being changed by another request. Please retry shortly."
    headers = {"Retry-After": str(params["retry_after"])} if "retry_after" in params else {}
    return vendor_answer(service, status, message, headers)


def _maintenance(flow: http.HTTPFlow, firing: Firing, service: str | None) -> http.Response:
    params = firing.rule.action.params
    retry_after = params["retry_after"]
    message = params.get("message") or "The service is down for scheduled maintenance."
    record(flow, firing, {"status": 503, "retry_after": retry_after, "page": wants_html(flow.request)})
    if wants_html(flow.request):
        page = MAINTENANCE_PAGE.format(message=message, retry_after=retry_after)
        return http.Response.make(503, page.encode(), {"Content-Type": "text/html; charset=utf-8",
                                                       "Retry-After": str(retry_after)})
    return vendor_answer(service, 503, message, {"Retry-After": str(retry_after)})


def _expire_session(flow: http.HTTPFlow, firing: Firing, service: str | None) -> http.Response:
    params = firing.rule.action.params
    message = params.get("message") or "Your session has expired. Please authenticate again."
    record(flow, firing, {"status": 401, "until": params["until"]})
    if params["until"] == "reauth" and wants_html(flow.request) and flow.request.method == "GET":
        return http.Response.make(303, b"", {"Location": params["reauth_path"]})  # a browser goes to sign in
    return vendor_answer(service, 401, message)


def _page_size(flow: http.HTTPFlow, firing: Firing) -> None:
    """The list page is asked for with the profile's per_page, whatever the agent asked."""
    per_page = firing.rule.action.params["per_page"]
    if flow.request.method != "GET":
        record(flow, firing, {"did": f"nothing: page_size changes list reads, not a {flow.request.method}"})
        return
    query = flow.request.query
    asked = query.get("per_page")
    query["per_page"] = str(per_page)
    record(flow, firing, {"per_page": per_page, "asked": asked,
                          "did": f"the page was read with per_page={per_page} (asked: {asked or 'default'})"})


def _session_expired(flow: http.HTTPFlow, firing: Firing, service: str | None, seed: int) -> http.Response:
    """303 to the service's sign-in page with ?next=<the form's page>, the session cookies expired;
    the post never reaches the fake (sandbox/faults/session_expiry.py)."""
    from sandbox.world import world
    from services import get_service

    request = flow.request
    spec = get_service(service) if service is not None else None
    if spec is None or spec.web_login is None:
        record(flow, firing, {"status": 401, "did": "answered 401 without forwarding: the service has no sign-in "
                                                    "page; nothing was written"})
        return vendor_answer(service, 401, "Your session has expired. Please sign in again.")
    page = session_expiry.form_page(request.path, request.headers.get("referer"), request.host)
    location = session_expiry.login_location(spec.web_login(world(seed)), page)
    names = session_expiry.cookie_names(request.headers.get("cookie", ""))
    record(flow, firing, {"status": 303, "location": location, "cookies_expired": names,
                          "did": "the form post was not forwarded: nothing was written; sent to sign in again"})
    response = http.Response.make(303, b"", {"Location": location, "Cache-Control": "no-store"})
    for value in session_expiry.expired_cookies(names):
        response.headers.add("Set-Cookie", value)
    return response


# What the MCP SDKs call a timed-out request (mcp.types / the TypeScript SDK's ErrorCode.RequestTimeout).
MCP_REQUEST_TIMEOUT = -32001


async def _mcp_answer(flow: http.HTTPFlow, firing: Firing, rpc: mcp_wire.RpcCall | None) -> http.Response | None:
    """An MCP fault's answer, in the protocol's own shape and with the request's JSON-RPC id; None
    (and a note saying so) when the call is not one the action applies to."""
    params = firing.rule.action.params
    kind = firing.rule.action.kind
    if rpc is None or rpc.id is None or (kind == "mcp_tool_error" and rpc.tool is None):
        what = "an MCP tools/call" if kind == "mcp_tool_error" else "an MCP request"
        record(flow, firing, {"did": f"nothing: {kind} needs {what}"})
        return None
    if kind == "mcp_tool_error":
        message = params.get("message") or f"An error occurred while running the tool {rpc.tool}. Please try again."
        record(flow, firing, {"tool": rpc.tool, "did": "answered the tool call with isError"})
        body = mcp_wire.result_message(rpc.id, {"content": [{"type": "text", "text": message}], "isError": True})
    else:
        if params["ms"]:
            await asyncio.sleep(params["ms"] / 1000)
        message = params.get("message") or "Request timed out"
        record(flow, firing, {"method": rpc.describe(), "ms": params["ms"], "code": MCP_REQUEST_TIMEOUT})
        body = mcp_wire.error_message(rpc.id, MCP_REQUEST_TIMEOUT, message)
    return http.Response.make(200, body, {"Content-Type": "application/json"})


_DEFAULT_MESSAGES = {500: "An unexpected error occurred.", 502: "Bad gateway.", 503: "Service unavailable.",
                     504: "Gateway timeout.", 400: "Bad request.", 403: "Forbidden.", 404: "Not found."}
_ANSWERS = {"error": _error, "rate_limit": _rate_limit, "busy": _busy, "maintenance": _maintenance,
            "expire_session": _expire_session}
_BODY_REWRITES = frozenset({"drift", "html", "truncate", "malformed_json"})
_AFTER = {"ghost_write": Faults._ghost_write, "drift": Faults._drift, "html": Faults._html,
          "truncate": Faults._truncate, "malformed_json": Faults._malformed}
