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
