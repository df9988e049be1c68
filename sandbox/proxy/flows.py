"""What the proxy's stages tell each other about a flow, and the proxy's own answers.

Stages talk only through `flow.metadata`, under the keys below, so each addon can be read (and
tested) on its own:

    EPISODE   the caller's `Episode`                         set by episode
    OUTCOME   routed | refused | forwarded                   set by egress and route
              | faulted (answered or cut by an injected fault)  set by faults
              | replayed | replay_miss                       set by replay
    SERVICE   id of the fake that answers                    set by route
    EXCHANGE  the exchange id in the episode's ledger        set by ledger (asked for by route)
    FAULTS    faults that fired: [{rule, action, detail}]    set by faults, written by ledger
    ORIGIN    (scheme, host, port) as the agent sent them    set by record, before route rewrites them
"""

from __future__ import annotations

import json
import posixpath
import re
import zlib
from urllib.parse import unquote

from mitmproxy import ctx, http
from mitmproxy.utils import human

EPISODE = "sandbox.episode"
OUTCOME = "sandbox.outcome"
SERVICE = "sandbox.service"
EXCHANGE = "sandbox.exchange"
FAULTS = "sandbox.faults"
ORIGIN = "sandbox.origin"

# Marks an answer the proxy made itself, so an agent (or a test) can tell it from a vendor's.
ANSWERED_BY = "X-Sandbox-Answered-By"

INTERNAL_PREFIX = "/_sandbox"
_SLASHES = re.compile(r"/{2,}")


def sandbox_answer(
    status: int,
    error_type: str,
    message: str,
    *,
    hint: str | None = None,
    headers: dict[str, str] | None = None,
    **fields: object,
) -> http.Response:
    """A JSON error the proxy answers with itself: `{"error": {"type", ..., "message", "hint"}}`."""
    error: dict[str, object] = {"type": error_type, **fields, "message": message}
    if hint:
        error["hint"] = hint
    return http.Response.make(
        status,
        json.dumps({"error": error}, indent=2).encode() + b"\n",
        {"Content-Type": "application/json", ANSWERED_BY: "sandbox-proxy", **(headers or {})},
    )


def has_no_body(method: str, status: int) -> bool:
    """True when HTTP forbids a body: any answer to HEAD, and every 1xx, 204 and 304 answer
    (RFC 9110 §6.4.1). A client reads such an answer up to its blank line and no further, so a body
    sent anyway is read as the start of the next answer on a kept-alive connection."""
    return 100 <= status < 200 or status in (204, 304) or method.upper() == "HEAD"


def exact_framing(method: str, response: http.Response) -> http.Response:
    """`response`, changed in place to be sent as an answer to `method` may be: no body, and framing
    headers that cannot mislead. Returned, so an answer can be made and framed in one expression.

    - 1xx and 204: no Content-Length and no Transfer-Encoding (RFC 9110 §8.6, RFC 9112 §6.1).
    - 304: no Transfer-Encoding: mitmproxy ends a chunked answer to anything but HEAD with a last
      chunk (`0\r\n\r\n`), five bytes the client reads as the next answer. Content-Length stays:
      it may only say what a 200 would have carried (§8.6), and no client frames a 304 by it.
    - HEAD: the Content-Length a GET would have had stays (§9.3.2); when the answer was built with
      its body (a proxy-made error, a replayed response) and says no length, its body's length is it.

    A body not read yet (`raw_content` None, in `responseheaders`) is left for mitmproxy to read
    (it reads none for these answers); only the headers are put right then.
    """
    status = response.status_code
    if not has_no_body(method, status):
        return response
    headers = response.headers
    body = response.raw_content
    if 100 <= status < 200 or status == 204:
        headers.pop("content-length", None)
        headers.pop("transfer-encoding", None)
    else:
        if method.upper() != "HEAD":
            headers.pop("transfer-encoding", None)
        elif body and "content-length" not in headers and "transfer-encoding" not in headers:
            headers["content-length"] = str(len(body))
    if body is not None:
        response.raw_content = b""
        response.trailers = None
    return response


def is_internal_path(path: str) -> bool:
    """True for the fakes' own routes (`/_sandbox/...`), however the agent spells them.

    The fakes (werkzeug) percent-decode the path once, and a client may send `//` or `/./`, so
    the check is made on the path as the fake will see it, not as it arrived.
    """
    if "_" not in path and "%" not in path:
        return False  # the common case, kept cheap
    plain = unquote(path.partition("?")[0])
    plain = posixpath.normpath(_SLASHES.sub("/", "/" + plain))
    return plain == INTERNAL_PREFIX or plain.startswith(INTERNAL_PREFIX + "/")


DEFAULT_DECODED_LIMIT = 8 * 1024 * 1024  # when no body_size_limit is set (a stage used outside the proxy)
_ZLIB_WBITS = {"gzip": 31, "x-gzip": 31, "deflate": 15}  # deflate: zlib-wrapped, raw tried next


def decoded_body(message: http.Message) -> bytes:
    """The body as the ledger, record and replay stages read it: decoded as its Content-Encoding says,
    but never to more than the proxy's body limit.

    Why not `message.get_content()`: it inflates without bound, so an agent's 8 MiB gzip body of
    zeros (within the body limit) would decode to gigabytes inside the proxy's one thread. gzip,
    deflate and zstd are decoded here up to the limit (the rest is dropped: the ledger keeps a body's
    head anyway). Brotli has no bounded decoder: a request's brotli body is kept as sent, encoded; a
    response's (from a fake, or a host the operator allowed) is decoded as mitmproxy does. A body
    that is not what its header says is kept as sent."""
    raw = message.raw_content or b""
    encoding = message.headers.get("content-encoding", "").strip().lower()
    if not raw or encoding in ("", "identity"):
        return raw
    limit = _decoded_limit()
    wbits = _ZLIB_WBITS.get(encoding)
    if wbits is not None:
        for bits in (wbits, -15) if encoding == "deflate" else (wbits,):
            try:
                return zlib.decompressobj(bits).decompress(raw, limit)
            except zlib.error:
                continue
        return raw
    if encoding == "zstd":
        import io

        import zstandard

        try:
            with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)) as reader:
                return reader.read(limit)
        except zstandard.ZstdError:
            return raw
    if encoding == "br" and isinstance(message, http.Response):
        return message.get_content(strict=False) or b""
    return raw


def _decoded_limit() -> int:
    try:
        return human.parse_size(ctx.options.body_size_limit) or DEFAULT_DECODED_LIMIT
    except (AttributeError, ValueError):  # no running master (a stage driven by a test)
        return DEFAULT_DECODED_LIMIT
