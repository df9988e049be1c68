"""The dashboard's sign-in, session and CSRF: how a browser agent reaches https://dashboard.stripe.com.

    GET  /login[?next=/test/payments/ch_...]   the sign-in form (the episode's sk_test key)
    POST /login                                -> signed session cookie, 303 to `next` or the payments list
    POST /logout                               (CSRF-checked)

The session cookie holds the key the browser signed in with; the binding (services/common/binding.py)
reads it like an API key, so a page request is bound to its episode, written to the ledger and
refused once the episode is finished, exactly as an API call is. Pages answer only on the dashboard
host and the API only on its own hosts (`keep_hosts_apart`): the same path keeps one meaning per host.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from urllib.parse import quote

from flask import Blueprint, Flask, Request, Response, current_app, g, redirect, render_template, request, session

from sandbox.world import world
from services.common.binding import AuthFailure
from services.payments.auth import masked
from services.payments.errors import error_response, unrecognized_url

DASHBOARD_HOST = "dashboard.stripe.com"
LOGIN_PATH = "/login"
LANDING_PATH = "/test/payments"
SESSION_KEY = "key"
COOKIE_NAME = "__stripe_dashboard_session"
WEB_BLUEPRINTS = ("web_auth", "web_pages", "web_refund")

bp = Blueprint("web_auth", __name__)


def on_dashboard() -> bool:
    return request.host.split(":")[0].lower() == DASHBOARD_HOST


def init_app(app: Flask, secret: str) -> None:
    """Session settings for the dashboard, and the host gate. `secret` is the home's proxy secret, so
    every worker of one home signs and checks the cookie alike."""
    app.config["SECRET_KEY"] = hashlib.sha256(f"payments-dashboard:{secret}".encode()).hexdigest()
    app.config["SESSION_COOKIE_NAME"] = COOKIE_NAME
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"  # a cross-site form POST carries no cookie
    app.before_request(keep_hosts_apart)
    app.before_request(check_csrf)
    app.register_blueprint(bp)


def web_key_of(api_key_of: Callable[[Request], str | None]) -> Callable[[Request], str | None]:
    """The binding's key reader: the session's key (or the sign-in form's) on the dashboard host,
    the Authorization header elsewhere."""

    def key_of(req: Request) -> str | None:
        if not on_dashboard():
            return api_key_of(req)
        if req.path == LOGIN_PATH and req.method == "POST":
            return req.form.get("api_token", "").strip() or None
        return session.get(SESSION_KEY)

    return key_of


def web_auth_failure(api_failure: Callable[[AuthFailure], Response]) -> Callable[[AuthFailure], Response]:
    """The binding's refusal: Stripe's 401 JSON for the API; the sign-in page for the dashboard."""

    def on_auth_failure(failure: AuthFailure) -> Response:
        return _sign_in_again(failure) if on_dashboard() else api_failure(failure)

    return on_auth_failure


def _sign_in_again(failure: AuthFailure) -> Response:
    if request.path == LOGIN_PATH:
        if request.method == "GET":
            return login_page(None)
        message = {
            "missing": "Enter your secret API key (sk_test_...).",
            "finished": "This sandbox episode is finished: start a new episode to sign in.",
        }.get(failure.kind, f"Invalid API key provided: {masked(failure.key or '')}.")
        return login_page(message, 401)
    session.clear()  # no session, a stale one or a finished episode's: sign in, then come back here
    return redirect(f"{LOGIN_PATH}?next={quote(request.full_path.rstrip('?'), safe='')}", code=303)


def login_page(error: str | None, status: int = 200) -> Response:
    html = render_template("login.html", error=error, next=safe_next(request.values.get("next")))
    return Response(html, status=status, mimetype="text/html")


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this host ("/test/..."), else None: never an absolute or
    scheme-relative URL ("//evil.example", "/\\evil.example"), so sign-in cannot redirect off-site."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(c in target for c in "\\\r\n\t") or any(ord(c) < 32 for c in target):
        return None
    return target


def csrf_token() -> str:
    """The hidden form field that proves a POST came from a page this session loaded: an HMAC of the
    session's key, which a cross-site page cannot compute."""
    key = session.get(SESSION_KEY, "")
    return hmac.new(current_app.config["SECRET_KEY"].encode(), f"csrf:{key}".encode(), "sha256").hexdigest()[:40]


def check_csrf() -> Response | None:
    """Every dashboard POST but the sign-in must carry this session's `csrf_token`: else 403."""
    if not on_dashboard() or request.method != "POST" or request.path == LOGIN_PATH or g.get("episode") is None:
        return None
    sent = request.form.get("csrf_token", "")
    if hmac.compare_digest(sent.encode(), csrf_token().encode()):
        return None
    html = render_template("error.html", actor=actor(), status=403,
                           message="This form has expired or did not come from the dashboard (missing or wrong"
                                   " CSRF token). Reload the page and submit it again.")
    return Response(html, status=403, mimetype="text/html")


def keep_hosts_apart() -> Response | None:
    """Dashboard pages only on the dashboard host; the API and MCP routes only on their own hosts."""
    if request.path.startswith("/_sandbox/"):
        return None
    web_route = request.blueprint in WEB_BLUEPRINTS
    if on_dashboard():
        if request.path == "/" and request.method == "GET":
            return redirect(LANDING_PATH, code=303)
        if not web_route:
            html = render_template("error.html", actor=actor(), status=404,
                                   message=f"No dashboard page at {request.path}. Start from Payments or Customers.")
            return Response(html, status=404, mimetype="text/html")
    elif web_route:
        return error_response(unrecognized_url())  # returned, not raised: the pages' handlers answer in HTML
    return None


def actor() -> str | None:
    """Who the pages say is signed in: the world's company (the Stripe account) in test mode. Not the
    key, masked or not: it differs per episode, and the pages of one seed should read alike."""
    episode = g.get("episode")
    if episode is None or not session.get(SESSION_KEY):
        return None
    return f"{world(episode.seed).facts['company']['name']} · Test mode"


@bp.get(LOGIN_PATH)
def login_form() -> Response:
    return login_page(None)


@bp.post(LOGIN_PATH)
def login() -> Response:
    # The binding has already checked the key names this live episode's payments account.
    session.clear()
    session[SESSION_KEY] = request.form.get("api_token", "").strip()
    return redirect(safe_next(request.form.get("next")) or LANDING_PATH, code=303)


@bp.post("/logout")
def logout() -> Response:
    session.clear()
    return redirect(LOGIN_PATH, code=303)
