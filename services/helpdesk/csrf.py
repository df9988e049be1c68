"""CSRF tokens for the agent UI's forms: a hostile page's cross-site form must not act.

The token is an HMAC of the session's token and user under the app's secret key: tied to the
session, the same for every form of it (no state to keep), and not computable without the key.
It is derived, not drawn at random, so a replayed episode renders the same pages.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, session

from services.helpdesk.auth import SESSION_TOKEN, SESSION_USER

FIELD = "csrf_token"


def token() -> str:
    """The signed-in session's CSRF token ("" when no one is signed in)."""
    if SESSION_TOKEN not in session:
        return ""
    message = f"{session.get(SESSION_TOKEN)}:{session.get(SESSION_USER)}".encode()
    return hmac.new(str(current_app.config["SECRET_KEY"]).encode(), message, hashlib.sha256).hexdigest()


def valid(given: str | None) -> bool:
    expected = token()
    return bool(expected) and hmac.compare_digest(expected, given or "")
