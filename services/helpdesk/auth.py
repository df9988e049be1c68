"""Credentials the way Zendesk reads them, and Zendesk's 401.

- HTTP Basic `{email}/token:{api_token}`: what zenpy and curl send for an API token. The token is
  the account's (the episode's key); the email names the agent the request acts as.
- `Authorization: Bearer {token}`: an OAuth access token; it acts as the sandbox's own agent.
- The agent UI's signed session cookie, which holds the token the agent logged in with.

The binding (services/common/binding.py) checks the token names a live episode; `check_actor`
then resolves who is acting (`g.actor`, a users row) and refuses an email that is not an agent's.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Request, Response, g, redirect, render_template, request, session

from services.common.binding import AuthFailure
from services.common.inputs import decode_basic
from services.helpdesk.errors import AUTH_FAILED, ZendeskError, error_response
from services.helpdesk.store import account

SESSION_TOKEN = "token"
SESSION_USER = "user_id"
LOGIN_PATH = "/agent/login"


def _basic(header: str) -> tuple[str, str] | None:
    decoded = decode_basic(header)
    if decoded is None:
        return None
    user, sep, secret = decoded.partition(":")
    return (user, secret) if sep else None


def key_of(request: Request) -> str | None:
    """The API token a request carries, or None when it carries none."""
    header = request.headers.get("Authorization", "").strip()
    if header:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer":
            return credentials.strip() or None
        if scheme.lower() == "basic":
            pair = _basic(credentials)
            return (pair[1] or None) if pair else credentials.strip() or None
        return header  # an unknown scheme: a wrong credential, not a missing one
    if request.path.startswith("/agent"):
        if request.path == LOGIN_PATH and request.method == "POST":
            return request.form.get("api_token", "").strip() or None
        return session.get(SESSION_TOKEN)
    return None


def _agent_by_email(email: str):
    return g.db.execute(
        "SELECT * FROM users WHERE lower(email)=lower(?) AND role IN ('agent', 'admin') AND active=1", (email,)
    ).fetchone()


def check_actor() -> Response | None:
    """Who acts for this (already bound) request: `g.actor`. A 401 for an email that is not an
    active agent's, or for a password instead of a token (Zendesk no longer takes passwords)."""
    g.actor = None
    if getattr(g, "episode", None) is None:
        return None
    header = request.headers.get("Authorization", "").strip()
    if header:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer":
            g.actor = g.db.execute("SELECT * FROM users WHERE id=?", (int(account("agent_id")),)).fetchone()
        else:
            pair = _basic(credentials)
            if pair and pair[0].endswith("/token"):
                g.actor = _agent_by_email(pair[0].removesuffix("/token"))
    elif request.path == LOGIN_PATH and request.method == "POST":
        return None  # the login view checks the email itself
    elif request.path.startswith("/agent"):
        user_id = session.get(SESSION_USER)
        g.actor = g.db.execute("SELECT * FROM users WHERE id=? AND role IN ('agent', 'admin')", (user_id,)).fetchone()
    if g.actor is None:
        return on_auth_failure(AuthFailure("invalid", episode=g.episode.id))
    return None


def on_auth_failure(failure: AuthFailure) -> Response:
    """Zendesk's 401 for missing or wrong credentials or a finished episode; the agent UI answers
    with its login page instead."""
    if request.path.startswith("/agent"):
        return _ui_auth_failure(failure)
    response = error_response(ZendeskError(401, AUTH_FAILED))
    response.headers["WWW-Authenticate"] = 'Basic realm="Web Password"'
    return response


def _ui_auth_failure(failure: AuthFailure) -> Response:
    if request.path == LOGIN_PATH:
        if request.method == "GET":
            page = render_template("login.html", error=None, email="", next=request.args.get("next", ""))
            return Response(page, mimetype="text/html")
        message = {
            "missing": "Enter your email and API token.",
            "finished": "This sandbox episode is finished: start a new episode to sign in.",
        }.get(failure.kind, "Invalid email or API token.")
        html = render_template("login.html", error=message, email=request.form.get("email", ""),
                               next=request.form.get("next", ""))
        return Response(html, status=401, mimetype="text/html")
    session.clear()  # a stale or finished session: sign in again, then back to this page
    here = request.full_path.rstrip("?") if request.method == "GET" else request.path
    return redirect(f"{LOGIN_PATH}?{urlencode({'next': here})}", code=303)
