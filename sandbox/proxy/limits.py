"""Bodies over the sandbox's body limit are refused, and the ledger says so.

Why: mitmproxy buffers every request and response body it does not stream, so without a limit one
upload costs its size in memory (measured: four 300 MB POSTs took the proxy from 125 MB to 2.8 GB).
The limit is the home's `max_body_bytes` (`sandbox.limits`, 8 MiB by default; `python -m
sandbox.proxy --max-body-bytes N`), given to mitmproxy as its own `body_size_limit` option by
`sandbox.proxy.server`, because only mitmproxy's HTTP layer can refuse a body without reading it:

- a request whose Content-Length is over the limit is refused as soon as its headers are in, before
  any addon hook, and before a byte of its body is read: the agent gets mitmproxy's `413 Payload Too
  Large` and the connection is closed (the unread body dies with it);
- a chunked request (no length) is read up to the limit, then refused the same way;
- a response over the limit (by Content-Length, or buffered past it) is cut: the agent gets a 502,
  and the upstream connection is closed. Streamed responses (`sandbox.proxy.stream`) are not buffered,
  so they pass; the ledger keeps their first bytes, length and digest.

mitmproxy checks the Content-Length before the request hook, and a stage's own answer would only be
sent after the whole body had been read into memory, which is what the limit is for. So the agent's
413 is made where mitmproxy writes its error page: `install_vendor_refusals()` wraps the HTTP/1
server layer's `send` so that, for a client connection whose body this stage refused, the 413 is the
vendor's error (Stripe's error object, Slack's ok:false, ...) instead of mitmproxy's HTML page, still
followed by a closed connection, as a vendor's front proxy does. The answer is keyed by the client
connection, so two refusals at once cannot swap answers. Should mitmproxy's layer change shape (the
wrapper checks what it wraps), the agent gets mitmproxy's own 413: still refused, still in the ledger.
HTTP/2 clients get mitmproxy's stream reset, as before.

This stage turns mitmproxy's terse error ("Request body exceeds mitmproxy's body_size_limit.") into
a ledger row that says what happened: outcome `refused`, an error naming the limit, the size and the
fix. It runs before the ledger stage, whose `error` hook writes the row (and begins it first: such a
request never reached the `request` hook).
"""

from __future__ import annotations

import functools
import logging
import weakref
from collections.abc import MutableMapping

from mitmproxy import connection, ctx, http
from mitmproxy.net.http import http1
from mitmproxy.utils import human

from sandbox.proxy.faults import vendor_answer
from sandbox.proxy.flows import ANSWERED_BY, OUTCOME, SERVICE, exact_framing
from sandbox.proxy.route import Routes

logger = logging.getLogger(__name__)

# The start of mitmproxy's message when body_size_limit trips (mitmproxy 11 and 12 alike).
_TRIPPED = "body exceeds mitmproxy's body_size_limit"

# The vendor-shaped 413 to send instead of mitmproxy's error page, per client connection.
_REFUSALS: MutableMapping[connection.Connection, bytes] = weakref.WeakKeyDictionary()


def install_vendor_refusals() -> bool:
    """Wrap mitmproxy's HTTP/1 server `send` once, so a 413 for a body this stage refused goes out in
    the vendor's shape. Returns whether the wrapper is in place (False: mitmproxy's layer has changed
    and its own 413 page is sent)."""
    try:
        from mitmproxy.proxy import commands
        from mitmproxy.proxy.layers.http import _http1
        from mitmproxy.proxy.layers.http._events import ResponseProtocolError
    except ImportError:  # pragma: no cover - a mitmproxy without these internals
        return False
    server = getattr(_http1, "Http1Server", None)
    send = getattr(server, "send", None)
    if send is None:  # pragma: no cover
        return False
    if getattr(send, "_sandbox_vendor_refusals", False):
        return True

    def refuse(self, answer: bytes):  # a generator of commands, as the method it stands in for
        yield commands.SendData(self.conn, answer)
        yield commands.CloseConnection(self.conn)

    @functools.wraps(send)
    def vendor_send(self, event):
        # A plain function returning the generator to run: every other event gets mitmproxy's own
        # generator back as it is, with no extra frame on the proxy's hottest path.
        if isinstance(event, ResponseProtocolError) and event.code == 413 and not getattr(self, "response", None):
            answer = _REFUSALS.pop(self.conn, None)
            if answer is not None:
                return refuse(self, answer)
        return send(self, event)

    vendor_send._sandbox_vendor_refusals = True  # type: ignore[attr-defined]
    server.send = vendor_send
    return True


def describe_refusal(flow: http.HTTPFlow, side: str, limit: int | None) -> str:
    """The ledger's error for a body refused by the limit: which body, how big, the limit, the fix."""
    message = flow.request if side == "request" else flow.response
    length = message.headers.get("content-length") if message is not None else None
    size = f"Content-Length: {length} bytes" if length else "no Content-Length, read up to the limit"
    limit_text = f"{limit} bytes" if limit is not None else "its body_size_limit"
    if side == "request":
        what = "the proxy refused it (413) and closed the connection without reading the rest"
    else:
        what = "the proxy cut it (502 to the agent) and closed the upstream connection"
    return (f"body limit: {side} body ({size}) is over the sandbox's max_body_bytes of {limit_text}; {what}. "
            f"Fix: send a smaller body, or raise max_body_bytes in the home's limits.json "
            f"(python -m sandbox.proxy --max-body-bytes N)")


class BodyLimit:
    def __init__(self, routes: Routes) -> None:
        self.routes = routes
        self.limit: int | None = None
        self.vendor_shaped = install_vendor_refusals()

    def configure(self, updated: set[str]) -> None:
        if "body_size_limit" in updated:
            self.limit = human.parse_size(ctx.options.body_size_limit)

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.error is None or _TRIPPED not in flow.error.msg:
            return
        side = "request" if flow.error.msg.startswith("Request") else "response"
        flow.metadata[OUTCOME] = "refused"
        service = self.routes.service_for(flow.request.host)
        if service is not None:
            flow.metadata.setdefault(SERVICE, service)
        flow.error.msg = describe_refusal(flow, side, self.limit)
        if side == "request":
            answer = vendor_answer(service, 413, f"Request entity too large: the request body is over the "
                                                 f"{self.limit or 'configured'}-byte limit of this sandbox.",
                                   {"Connection": "close", ANSWERED_BY: "sandbox-proxy"})
            _REFUSALS[flow.client_conn] = http1.assemble_response(exact_framing(flow.request.method, answer))
        logger.info("%s %s%s: %s", flow.request.method, flow.request.host, flow.request.path, flow.error.msg)
