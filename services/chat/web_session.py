"""Who a web-client request is, for Slack's browser pages on https://app.slack.com.

The pages sign in with the episode's bot token (`xoxb-...`, what `sandbox env` prints as
SLACK_BOT_TOKEN): POST /login puts it in a signed Flask session cookie (`d`, Slack's cookie name),
and the episode binding then finds the episode from the cookie as it does from an API token. A page
without a valid session sends the browser to /login?next=<the page>. Writes carry a CSRF token tied
to the session (an HMAC of the token under the app's secret), so a hostile agent's cross-site form
cannot act with someone else's cookie.

Web paths answer only on the web host: on slack.com (the API host) /login and /client/... are
Slack's `unknown_method`, and every /api/ method keeps its meaning on both hosts.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from flask import Flask, Request, Response, current_app, redirect, render_template, request, session
from werkzeug.exceptions import NotFound

from sandbox.home import Home, proxy_secret
from services.chat import auth
from services.common.binding import AuthFailure

WEB_HOST = "app.slack.com"
LOGIN_PATH = "/login"
SESSION_TOKEN = "token"
CSRF_FIELD = "csrf_token"


def is_web_path(path: str) -> bool:
    return path in (LOGIN_PATH, "/logout", "/client") or path.startswith("/client/")


def on_web_host() -> bool:
    return request.host.split(":")[0].lower() == WEB_HOST


def configure(app: Flask, home: Home) -> None:
    """The session cookie: signed with a key every worker of this home derives alike."""
    app.config["SECRET_KEY"] = hashlib.sha256(f"chat-web:{proxy_secret(home)}".encode()).hexdigest()
    app.config["SESSION_COOKIE_NAME"] = "d"
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = True  # the browser reaches app.slack.com over https only


def route_by_host() -> Response | None:
    """Before auth: web paths exist only on the web host; an unknown path there is an HTML 404."""
    if is_web_path(request.path) and not on_web_host():
        raise NotFound()
    if on_web_host() and isinstance(request.routing_exception, NotFound) and not request.path.startswith("/api/"):
        return error_page(404, f"There is no page at {request.path}: start from the channel list.")
    return None


def key_of(request: Request) -> str | None:
    """The token of a request: the session's (or the sign-in form's) on web paths, else the API's."""
    if not is_web_path(request.path):
        return auth.key_of(request)
    if request.path == LOGIN_PATH and request.method == "POST":
        return request.form.get("api_token", "").strip() or None
    return session.get(SESSION_TOKEN)


def on_auth_failure(failure: AuthFailure) -> Response:
    """Slack's JSON error for the API; for the pages, the sign-in form (401 after a wrong token)
    or a redirect to it that comes back here once signed in."""
    if not is_web_path(request.path):
        return auth.on_auth_failure(failure)
    if request.path == LOGIN_PATH:
        if request.method == "GET":
            return login_page(next_path=safe_next(request.args.get("next")))
        message = {
            "missing": "Enter the bot token (xoxb-...) that `sandbox env` prints as SLACK_BOT_TOKEN.",
            "finished": "This sandbox episode is finished: start a new episode to sign in.",
        }.get(failure.kind, "That token is not valid for this workspace: use the episode's SLACK_BOT_TOKEN.")
        return login_page(401, error=message, next_path=safe_next(request.form.get("next")))
    session.clear()  # a stale, forged or finished session: sign in again
    here = request.full_path.rstrip("?") if request.query_string else request.path
    if request.method != "GET":  # a form post cannot be replayed by a redirect: come back to its page
        here = request.path.removesuffix("/reactions")
    return redirect(f"{LOGIN_PATH}?next={quote(here, safe='/')}", code=303)


def safe_next(value: str | None) -> str | None:
    """`next` if it is a path on this host ("/client/..."), else None: never an absolute URL or a
    scheme-relative "//evil" (no open redirect), nor anything with control characters."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(ord(c) < 32 or c == "\\" for c in value):
        return None
    return value


def csrf_token() -> str:
    """The CSRF token of the signed-in session ("" when there is none)."""
    token = session.get(SESSION_TOKEN)
    if not token:
        return ""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"csrf\x1f{token}".encode(), hashlib.sha256).hexdigest()[:40]


def check_csrf() -> Response | None:
    """After auth: a web form post (other than the sign-in) must carry the session's CSRF token."""
    if request.method != "POST" or not is_web_path(request.path) or request.path == LOGIN_PATH:
        return None
    sent = request.form.get(CSRF_FIELD, "")
    expected = csrf_token()
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return error_page(403, "This form has no valid CSRF token: reload the page and submit its form again.")
    return None


def login_page(status: int = 200, *, error: str | None = None, next_path: str | None = None) -> Response:
    html = render_template("login.html", error=error, next_path=next_path, actor=None, team_id=None,
                           sidebar=[], csrf_token="")
    return Response(html, status=status, mimetype="text/html")


def error_page(status: int, message: str) -> Response:
    """An error page for requests not (yet) bound to an episode: no actor, no channels to list."""
    signed_in = bool(session.get(SESSION_TOKEN))
    html = render_template("error.html", status=status, message=message, actor=None, team_id=None, sidebar=[],
                csrf_token=csrf_token() if signed_in else "")
    return Response(html, status=status, mimetype="text/html")
