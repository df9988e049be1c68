"""Writes, and Stripe's `Idempotency-Key`.

Every write runs in one `BEGIN IMMEDIATE` transaction (`write_transaction`) that also holds the
idempotency record: the stored response and the rows it describes commit together, so a crash
can never leave a refund without its record (a retry would refund twice) or a record without its
refund. Because the key is looked up inside that same transaction, two concurrent requests with
one key queue behind each other and the second replays the first.

As on Stripe, a result is saved once the endpoint has started executing: successes and card
declines are replayed, while a request that failed validation saved nothing and may be retried.
The official SDKs send a fresh key with every POST and reuse it on their own retries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from flask import Response, g, request

from services.common.db import write_transaction
from services.payments.errors import StripeError
from services.payments.events import last_change_seq, raise_events
from services.payments.forms import request_params
from services.payments.store import now
from services.payments.wire import dumps, request_id

MAX_KEY_LENGTH = 255
Handler = Callable[[dict[str, Any]], tuple[Any, int]]


def write(handler: Handler, form_key: str | None = None) -> Response:
    """Run `handler(params) -> (payload, status)` as one transaction, honouring Idempotency-Key.
    `form_key` is the key a dashboard form carries in a hidden field (a browser sends no header)."""
    params = request_params()
    # Stripe honours keys on POST only; DELETE is idempotent by nature.
    key = (request.headers.get("Idempotency-Key") or form_key or None) if request.method == "POST" else None
    if key is not None and len(key) > MAX_KEY_LENGTH:
        raise StripeError(
            f"Invalid Idempotency-Key: keys can be at most {MAX_KEY_LENGTH} characters long.",
            param="Idempotency-Key",
        )
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
    with write_transaction(g.db):
        if key is not None:
            stored = g.db.execute("SELECT * FROM _idempotency_keys WHERE key=?", (key,)).fetchone()
            if stored is not None:
                return _replay(stored, key, digest)
        since = last_change_seq(g.db)
        payload, status = handler(params)
        raise_events(g.db, since, key)  # in the same transaction: an event commits with its change
        body = dumps(payload)
        rid = request_id()
        if key is not None:
            g.db.execute(
                "INSERT INTO _idempotency_keys (key, method, path, params_sha256, status, body, request_id, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, request.method, request.path, digest, status, body, rid, now()),
            )
    response = Response(body, status=status, mimetype="application/json")
    response.headers["Request-Id"] = rid
    if key is not None:
        response.headers["Idempotency-Key"] = key
    return response


def _replay(stored: Any, key: str, digest: str) -> Response:
    if stored["path"] != request.path or stored["method"] != request.method:
        raise StripeError(
            "Keys for idempotent requests can only be used for the same endpoint they were first used for"
            f" ('{request.path}' vs '{stored['path']}'). Try using a key other than '{key}' if you meant to"
            " execute a different request."
        )
    if stored["params_sha256"] != digest:
        raise StripeError(
            "Keys for idempotent requests can only be used with the same parameters they were first used with."
            f" Try using a key other than '{key}' if you meant to execute a different request.",
            type="idempotency_error",
        )
    response = Response(bytes(stored["body"]), status=stored["status"], mimetype="application/json")
    response.headers["Idempotency-Key"] = key
    response.headers["Idempotent-Replayed"] = "true"
    response.headers["Original-Request"] = stored["request_id"]
    return response
