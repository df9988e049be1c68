"""API keys the way Stripe reads them, and Stripe's 401s.

Stripe takes the secret key as a Bearer token (`Authorization: Bearer sk_test_...`, what the
SDKs send) or as the username of HTTP Basic auth with an empty password (`curl -u sk_test_...:`).
"""

from __future__ import annotations

import re

from flask import Request, Response

from services.common.binding import AuthFailure
from services.common.inputs import decode_basic
from services.payments.errors import DOCS, SUPPORT, StripeError, error_response

_PREFIX = re.compile(r"^(?:sk|rk|pk)_(?:test|live)_")


def key_of(request: Request) -> str | None:
    """The API key a request carries, or None when it carries none."""
    header = request.headers.get("Authorization", "").strip()
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() == "basic":
        decoded = decode_basic(credentials)
        if decoded is None:
            return credentials or None  # not base64: still a (wrong) credential, not a missing one
        return decoded.partition(":")[0] or None
    return header  # an unknown scheme: reported as an invalid key, like Stripe


def masked(key: str) -> str:
    """`sk_test_****abcd`: the key's kind and its last four characters, never the secret."""
    match = _PREFIX.match(key)
    prefix = match.group(0) if match else ""
    return f"{prefix}****{key[-4:]}" if len(key) > 4 else f"{prefix}****"


def on_auth_failure(failure: AuthFailure) -> Response:
    """Stripe's 401 for a missing, wrong or finished-episode key."""
    if failure.kind == "missing":
        error = StripeError(
            "You did not provide an API key. You need to provide your API key in the Authorization header,"
            " using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See"
            f" {DOCS}/api#authentication for details, or we can help at {SUPPORT}.",
            status=401,
        )
    elif failure.kind == "finished":
        error = StripeError(
            f"Expired API Key provided: {masked(failure.key or '')}. This key belongs to sandbox episode"
            f" '{failure.episode}', which is finished; start a new episode to make more requests.",
            status=401,
            code="api_key_expired",
        )
    else:
        error = StripeError(f"Invalid API Key provided: {masked(failure.key or '')}", status=401)
    response = error_response(error)
    response.headers["WWW-Authenticate"] = 'Basic realm="Stripe"'
    return response
