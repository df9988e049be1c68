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
from urllib.parse import unquote

from mitmproxy import http

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
