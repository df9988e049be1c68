"""GitHub's error body, for every error the fake answers — including routing and auth.

GitHub answers every failure as `{"message", "documentation_url", "status"}`; a failed validation
adds `errors: [{"resource", "field", "code"}]`, a body that breaks the endpoint's schema says so in
the message ("Invalid request.\\n\\nFor 'properties/labels', "bug" is not an array."). PyGithub picks
its exception from the status and the message (401 "Bad credentials" -> BadCredentialsException,
404 "Not Found" -> UnknownObjectException, 403 "API rate limit exceeded..." -> RateLimitExceeded).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from services.code.wire import DOCS, docs_url, dumps, json_response

log = logging.getLogger(__name__)


class GitHubError(Exception):
    """An error to answer in GitHub's shape. `errors` is the Validation Failed list."""

    def __init__(
        self,
        message: str,
        status: int = 422,
        *,
        errors: list[dict[str, Any]] | None = None,
        docs: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors
        self.docs = docs
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        body["documentation_url"] = self.docs or docs_url()
        body["status"] = str(self.status)
        return body


def error_response(error: GitHubError) -> Response:
    return json_response(error.body(), error.status, error.headers)


def vendor_error(status: int, message: str) -> tuple[dict[str, str], bytes]:
    """GitHub's answer for `status`, for injected faults. A 403 or 429 is a rate limit, worded so
    PyGithub raises RateLimitExceededException (and Octokit's throttling plugin waits)."""
    headers = {"Content-Type": "application/json; charset=utf-8", "X-GitHub-Request-Id": "0000:0000:FA17:FA17:0000"}
    if status in (403, 429):
        message = (
            "API rate limit exceeded for user ID 0. If you reach out to GitHub Support for help, please include"
            " the request ID 0000:0000:FA17:FA17:0000 and timestamp 2026-01-15 09:00:00 UTC."
        )
        headers.update(rate_limit_headers(60))
    body = {"message": message or _REASONS.get(status, "Error"), "documentation_url": DOCS, "status": str(status)}
    if status in (403, 429):
        body["documentation_url"] = (
            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"
        )
    return headers, dumps(body)


def rate_limit_headers(retry_after: int) -> dict[str, str]:
    """A spent quota: GitHub's clients wait for X-RateLimit-Reset, or Retry-After when given."""
    from sandbox.clock import EPISODE_START

    return {
        "Retry-After": str(retry_after),
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Used": "5000",
        "X-RateLimit-Reset": str(EPISODE_START + retry_after),
        "X-RateLimit-Resource": "core",
    }


_REASONS = {400: "Bad Request", 401: "Requires authentication", 403: "Forbidden", 404: "Not Found",
            409: "Conflict", 410: "Gone", 413: "Payload Too Large", 415: "Unsupported Media Type",
            422: "Validation Failed", 500: "Server Error", 502: "Server Error", 503: "Service Unavailable"}


# -- the errors more than one resource raises -------------------------------------------------


def not_found(message: str = "Not Found") -> GitHubError:
    return GitHubError(message, 404)


def validation_failed(resource: str, field: str, code: str, **extra: Any) -> GitHubError:
    """`Validation Failed` with one entry: code missing_field | invalid | already_exists | custom."""
    return GitHubError("Validation Failed", 422, errors=[{"resource": resource, "code": code, "field": field, **extra}])


def too_long(resource: str, field: str, limit: int) -> GitHubError:
    return validation_failed(resource, field, "custom", message=f"{field} is too long (maximum is {limit} characters)")


def invalid_request(detail: str) -> GitHubError:
    """A body that breaks the endpoint's JSON schema (a wrong type, a missing required key)."""
    return GitHubError(f"Invalid request.\n\n{detail}", 422)


def problems_parsing_json() -> GitHubError:
    return GitHubError("Problems parsing JSON", 400)


def show(value: Any) -> str:
    """A value as GitHub's schema messages quote it: `"bug"`, `1`, `nil`."""
    return "nil" if value is None else json.dumps(value, ensure_ascii=False)


# -- wiring -----------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Route every failure through GitHub's error shape."""

    @app.errorhandler(GitHubError)
    def _github_error(error: GitHubError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        # GitHub answers an unknown path and a wrong method alike: 404 Not Found.
        if error.code in (404, 405):
            return error_response(GitHubError("Not Found", 404, docs=DOCS))
        if error.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH") or 0
            return error_response(
                GitHubError(f"Payload too large: the request body may be at most {limit // 1024} KB.", 413)
            )
        if error.code == 400:
            return error_response(problems_parsing_json())
        status = error.code or 500
        return error_response(GitHubError(_REASONS.get(status, error.name), status))

    @app.errorhandler(Exception)
    def _bug(error: Exception) -> Response:
        # A bug in the fake: GitHub's 500 shape, and the trace in the log.
        log.exception("code: unhandled error on %s %s", request.method, request.path)
        return error_response(GitHubError(f"Server Error ({type(error).__name__} in the code sandbox)", 500))
