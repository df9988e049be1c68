"""Vendors' errors that arrive with a success status: what the scorer must count as errors.

Slack's Web API answers almost every error as HTTP 200 `{"ok": false, "error": "channel_not_found"}`;
GitHub's GraphQL API answers 200 `{"data": ..., "errors": [{"type": "NOT_FOUND", "message": ...}]}`.
A score that counts errors by status sees none of them. Each function here reads one vendor's shape
from what the ledger keeps of an answer (the first `ledger_body_bytes` of its body, 64 KiB by
default) and returns the error's name, or None for a real success. A service names its function in
its `ServiceSpec.in_band_error`; Stripe and Zendesk answer errors with 4xx/5xx only, so theirs is None.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A body cut at the ledger's cap is not JSON any more: Slack writes `ok` first, so its head still tells.
_SLACK_NOT_OK = re.compile(rb'^\s*\{\s*"ok"\s*:\s*false\b')
_SLACK_ERROR = re.compile(rb'"error"\s*:\s*"([^"\\]{1,100})"')


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def slack_not_ok(path: str, status: int, body: bytes) -> str | None:
    """Slack: `{"ok": false, "error": CODE}` -> CODE (any Web API method, any 2xx status)."""
    if not 200 <= status < 300 or b'"ok"' not in body[:200]:
        return None
    data = _json(body)
    if isinstance(data, dict):
        if data.get("ok") is not False:
            return None
        return str(data.get("error") or "ok:false")
    if not _SLACK_NOT_OK.match(body):
        return None
    found = _SLACK_ERROR.search(body)
    return found.group(1).decode() if found else "ok:false"


def graphql_errors(path: str, status: int, body: bytes) -> str | None:
    """GitHub GraphQL (`POST /graphql`): a 200 whose `errors` list is not empty -> the first error's
    type (NOT_FOUND, FORBIDDEN, ...) or message, and how many more there are."""
    if not 200 <= status < 300 or path.rstrip("/") not in ("/graphql", "/api/graphql") or b'"errors"' not in body:
        return None
    data = _json(body)
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list) or not errors:
        return None
    first = errors[0] if isinstance(errors[0], dict) else {}
    name = str(first.get("type") or first.get("message") or "error")[:100]
    return name if len(errors) == 1 else f"{name} (+{len(errors) - 1} more)"
