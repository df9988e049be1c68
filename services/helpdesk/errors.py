"""Zendesk's error bodies, for every error the fake answers — including routing and auth.

Zendesk answers a failure as `{"error": <code>, "description": <text>}`, plus `details` (field ->
[{"description", "error"}]) for a record that does not validate (422 RecordInvalid), and just
`{"error": "Couldn't authenticate you"}` for bad credentials. zenpy picks its exception from
`error` (RecordNotFound -> RecordNotFoundException, the rest APIException). Pages of the agent UI
(`/agent/...`) get the same message as an HTML page instead.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from services.helpdesk.wire import dumps, json_response

log = logging.getLogger(__name__)

AUTH_FAILED = "Couldn't authenticate you"
FORBIDDEN = "You do not have access to this page. Please contact the account owner of this help desk for further help."


class ZendeskError(Exception):
    def __init__(
        self,
        status: int,
        error: str,
        description: str | None = None,
        *,
        details: dict[str, list[dict[str, str]]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description or error)
        self.status = status
        self.error = error
        self.description = description
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error}
        if self.description is not None:
            body["description"] = self.description
        if self.details is not None:
            body["details"] = self.details
        return body

    @property
    def message(self) -> str:
        return self.description or self.error


def error_response(error: ZendeskError) -> Response:
    if request.path.startswith("/agent"):
        html = render_template("error.html", status=error.status, message=error.message)
        response = Response(html, status=error.status, mimetype="text/html")
    else:
        response = json_response(error.body(), error.status)
    response.headers.update(error.headers)
    return response


def _error_for(status: int, message: str) -> ZendeskError:
    if status == 401:
        return ZendeskError(401, message or AUTH_FAILED)
    if status == 404:
        return ZendeskError(404, "RecordNotFound", message or "Not found")
    if status == 422:
        return ZendeskError(422, "RecordInvalid", "Record validation errors",
                            details={"base": [{"description": message, "error": "InvalidValue"}]})
    if status == 429:
        return rate_limited(60, message)
    codes = {400: "InvalidRequest", 403: "Forbidden", 409: "RecordNotUnique", 413: "RequestTooLarge",
             503: "ServiceUnavailable"}
    code = codes.get(status, "InternalServerError" if status >= 500 else "InvalidRequest")
    return ZendeskError(status, code, message)


def vendor_error(status: int, message: str) -> tuple[dict[str, str], bytes]:
    """Zendesk's answer for `status`, for injected faults."""
    error = _error_for(status, message)
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Zendesk-Request-Id": "sandboxfault"}
    if status == 429:
        headers.update(rate_limit_headers(60))
    return headers, dumps(error.body())


def rate_limit_headers(retry_after: int) -> dict[str, str]:
    # zenpy sleeps `Retry-After` seconds and retries; the quota headers say the minute is spent.
    return {
        "Retry-After": str(retry_after),
        "X-Rate-Limit": "700",
        "X-Rate-Limit-Remaining": "0",
        "ratelimit-limit": "700",
        "ratelimit-remaining": "0",
        "ratelimit-reset": str(retry_after),
    }


# -- the errors more than one resource raises -------------------------------------------------


def not_found() -> ZendeskError:
    return ZendeskError(404, "RecordNotFound", "Not found")


def invalid_endpoint() -> ZendeskError:
    return ZendeskError(404, "InvalidEndpoint", "Not found")


def forbidden() -> ZendeskError:
    return ZendeskError(403, "Forbidden", FORBIDDEN)


def rate_limited(retry_after: int, message: str = "") -> ZendeskError:
    return ZendeskError(429, "APIRateLimitExceeded", message or "Number of allowed API requests per minute exceeded",
                        headers=rate_limit_headers(retry_after))


def bad_request(description: str, error: str = "InvalidRequest") -> ZendeskError:
    return ZendeskError(400, error, description)


def malformed_json() -> ZendeskError:
    return ZendeskError(400, "Unprocessable Entity", "Server could not parse JSON")


class RecordInvalid(ZendeskError):
    """422 with one entry per field: `RecordInvalid().add("status", "Status: is not valid").raise_if_any()`."""

    def __init__(self) -> None:
        super().__init__(422, "RecordInvalid", "Record validation errors", details={})

    def add(self, field: str, description: str, error: str = "InvalidValue") -> RecordInvalid:
        assert self.details is not None
        self.details.setdefault(field, []).append({"description": description, "error": error})
        return self

    def raise_if_any(self) -> None:
        if self.details:
            raise self

    @property
    def message(self) -> str:
        assert self.details is not None
        return "; ".join(d["description"] for entries in self.details.values() for d in entries)


def invalid(field: str, description: str, error: str = "InvalidValue") -> RecordInvalid:
    return RecordInvalid().add(field, description, error)


# -- wiring -----------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Route every failure through Zendesk's error shape."""

    @app.errorhandler(ZendeskError)
    def _zendesk_error(error: ZendeskError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        # Zendesk's router answers an unknown path and a known path with a wrong verb alike.
        if error.code in (404, 405):
            return error_response(invalid_endpoint())
        if error.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH") or 0
            return error_response(
                ZendeskError(413, "RequestTooLarge", f"The request body is too large: the limit is {limit // 1024} KB.")
            )
        if error.code == 400:
            return error_response(bad_request(error.description or "Bad request"))
        status = error.code or 500
        return error_response(_error_for(status, error.description or error.name))

    @app.errorhandler(Exception)
    def _bug(error: Exception) -> Response:
        # A bug in the fake: say so in Zendesk's shape and keep the trace in the log.
        log.exception("helpdesk: unhandled error on %s %s", request.method, request.path)
        return error_response(
            ZendeskError(500, "InternalServerError",
                         f"An unknown error occurred in the helpdesk sandbox ({type(error).__name__}).")
        )
