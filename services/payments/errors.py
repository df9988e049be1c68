"""Stripe's error object, for every error the fake answers — including routing and auth.

Stripe answers every failure as `{"error": {"type", "message", "code"?, "param"?, "doc_url"?}}`,
and its SDKs pick the exception class from the HTTP status plus `error.type`. So every path that
can fail here (a handler, a route that does not exist, a body that is too large, a bug) ends in
`error_response`, never in Flask's HTML pages.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from services.payments.wire import dumps, json_response

log = logging.getLogger(__name__)

DOCS = "https://stripe.com/docs"
SUPPORT = "https://support.stripe.com/"


class StripeError(Exception):
    """An error to answer in Stripe's shape. `extra` holds the fields some errors carry
    (`charge`, `decline_code`, `payment_intent`...)."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"{DOCS}/error-codes/{self.code.replace('_', '-')}"
        error["message"] = self.message
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        error["type"] = self.type
        return {"error": error}


def error_response(error: StripeError) -> Response:
    response = json_response(error.body(), error.status)
    response.headers.update(error.headers)
    return response


def vendor_error(status: int, message: str) -> tuple[dict[str, str], bytes]:
    """Stripe's answer for `status`, for injected faults: the error type its SDKs map to the
    matching exception (429 -> RateLimitError, 5xx -> APIError, 401 -> AuthenticationError...)."""
    kinds = {401: ("invalid_request_error", None), 402: ("card_error", "card_declined"),
             404: ("invalid_request_error", "resource_missing"), 409: ("invalid_request_error", "lock_timeout"),
             429: ("invalid_request_error", "rate_limit")}
    type_, code = kinds.get(status, ("api_error", None) if status >= 500 else ("invalid_request_error", None))
    error = StripeError(message, status=status, type=type_, code=code)
    return {"Content-Type": "application/json", "Request-Id": "req_sandboxfault"}, dumps(error.body())


def rate_limit_headers(retry_after: int) -> dict[str, str]:
    # Stripe sends no quota headers; its SDKs honour Retry-After and Stripe-Should-Retry.
    return {"Retry-After": str(retry_after), "Stripe-Should-Retry": "true"}


# -- the errors more than one resource raises -------------------------------------------------


def no_such(kind: str, object_id: str, param: str = "id") -> StripeError:
    """`No such customer: 'cus_x'`. A missing object named in the URL is a 404; one named by a
    parameter (a refund's `charge`, a list cursor) is a 400, as Stripe does."""
    status = 404 if param == "id" else 400
    return StripeError(f"No such {kind}: '{object_id}'", status=status, code="resource_missing", param=param)


def parameter_missing(param: str) -> StripeError:
    return StripeError(f"Missing required param: {param}.", code="parameter_missing", param=param)


def unknown_parameter(param: str) -> StripeError:
    return StripeError(f"Received unknown parameter: {param}", code="parameter_unknown", param=param)


def malformed_body() -> StripeError:
    return StripeError(
        "Invalid request (check that your POST content type is application/x-www-form-urlencoded). "
        f"If you have any questions, we can help at {SUPPORT}."
    )


def unrecognized_url() -> StripeError:
    hint = ""
    if request.path.endswith("/") and request.path != "/":
        hint = (
            " If you are trying to list objects, remove the trailing slash. If you are trying to retrieve an"
            " object, make sure you passed a valid (non-empty) identifier in your code."
        )
    return StripeError(
        f"Unrecognized request URL ({request.method}: {request.path}).{hint} "
        f"Please see {DOCS} or we can help at {SUPPORT}.",
        status=404,
    )


# -- wiring -----------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Route every failure through Stripe's error shape."""

    @app.errorhandler(StripeError)
    def _stripe_error(error: StripeError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        # Stripe answers a wrong method like an unknown path: 404 "Unrecognized request URL".
        if error.code in (404, 405):
            return error_response(unrecognized_url())
        if error.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH") or 0
            return error_response(
                StripeError(f"The request body is too large: the limit is {limit // 1024} KB.", status=413)
            )
        if error.code == 400:
            return error_response(malformed_body())
        status = error.code or 500
        kind = "api_error" if status >= 500 else "invalid_request_error"
        return error_response(StripeError(error.description or error.name, status=status, type=kind))

    @app.errorhandler(Exception)
    def _bug(error: Exception) -> Response:
        # A bug in the fake: say so in Stripe's shape (the SDK raises APIError) and keep the trace.
        log.exception("payments: unhandled error on %s %s", request.method, request.path)
        return error_response(
            StripeError(
                f"An unknown error occurred in the payments sandbox ({type(error).__name__}).",
                status=500,
                type="api_error",
            )
        )
