"""Slack's error answer, for every failure the fake answers — including routing and auth.

Slack answers an API error with HTTP 200 and `{"ok": false, "error": "<code>"}`; some add
`response_metadata.messages` ("[ERROR] missing required field: channel"). Only a few failures use
another status: an unknown method (404 `unknown_method`), rate limiting (429 `ratelimited` with
Retry-After) and server trouble (5xx). slack_sdk raises `SlackApiError` for all of them and keeps
the body in `e.response`. So every path that can fail here ends in `error_response`, never in
Flask's HTML pages.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from services.chat.wire import dumps, json_response, method_name

log = logging.getLogger(__name__)


class SlackError(Exception):
    """An error to answer as `{"ok": false, "error": code}`; `messages` go in response_metadata."""

    def __init__(
        self,
        code: str,
        *,
        status: int = 200,
        messages: list[str] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.messages = messages or []
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.code, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


def error_response(error: SlackError) -> Response:
    response = json_response(error.body(), error.status)
    response.headers.update(error.headers)
    return response


def missing_argument(name: str) -> SlackError:
    """An absent required argument: Slack says `invalid_arguments`; an empty or unknown one gets
    the method's own error (`channel_not_found`...)."""
    return SlackError("invalid_arguments", messages=[f"[ERROR] missing required field: {name}"])


def invalid_argument(name: str, expected: str) -> SlackError:
    return SlackError("invalid_arguments", messages=[f"[ERROR] invalid value for field `{name}`: expected {expected}"])


# HTTP status -> Slack's error code, for faults the proxy injects in the vendor's shape.
_FAULT_CODES = {
    400: "invalid_arguments", 401: "invalid_auth", 403: "not_allowed_token_type", 404: "unknown_method",
    408: "request_timeout", 413: "request_too_large", 429: "ratelimited", 500: "internal_error",
    502: "service_unavailable", 503: "service_unavailable", 504: "request_timeout",
}


def vendor_error(status: int, message: str) -> tuple[dict[str, str], bytes]:
    """Slack's answer for `status`, for injected faults: `ratelimited` for a 429 (slack_sdk's
    RateLimitErrorRetryHandler keys on the status and Retry-After), `internal_error`... otherwise."""
    code = _FAULT_CODES.get(status, "fatal_error" if status >= 500 else "invalid_request")
    body = SlackError(code, messages=[f"[ERROR] {message}"] if message else None).body()
    return {"Content-Type": "application/json; charset=utf-8"}, dumps(body)


def rate_limit_headers(retry_after: int) -> dict[str, str]:
    # Slack sends only Retry-After (seconds) with its 429s; slack_sdk's retry handler reads it.
    return {"Retry-After": str(retry_after)}


def raise_routing_error() -> None:
    """Before auth: a method that does not exist is `unknown_method` whoever calls it, as on Slack."""
    if request.routing_exception is not None and not request.path.startswith("/_sandbox/"):
        raise request.routing_exception


def init_app(app: Flask) -> None:
    """Route every failure through Slack's error shape."""

    @app.errorhandler(SlackError)
    def _slack_error(error: SlackError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        if error.code == 404:
            return error_response(SlackError("unknown_method", status=404, req_method=method_name()))
        if error.code == 405:
            return error_response(SlackError("method_not_allowed", status=405, req_method=method_name(),
                                             messages=[f"[ERROR] {request.method} is not supported: use GET or POST"]))
        if error.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH") or 0
            return error_response(SlackError("request_too_large", status=413,
                                             messages=[f"[ERROR] the request body is over {limit // 1024} KB"]))
        if error.code == 400:
            return error_response(SlackError("invalid_form_data"))
        status = error.code or 500
        return error_response(SlackError("fatal_error" if status >= 500 else "invalid_request", status=status))

    @app.errorhandler(Exception)
    def _bug(error: Exception) -> Response:
        # A bug in the fake: say so in Slack's shape (slack_sdk raises SlackApiError) and keep the trace.
        log.exception("chat: unhandled error on %s %s", request.method, request.path)
        return error_response(SlackError("internal_error", status=500,
                                         messages=[f"[ERROR] chat sandbox bug: {type(error).__name__}"]))
