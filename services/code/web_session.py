"""Signing in to github.com's pages: the session cookie, the CSRF token, and what a page without a
valid session gets (the sign-in page, with `?next=` back to where the browser was going).

    GET  /login           form#login-form: input#api-token (the episode's GITHUB_TOKEN), button#sign-in
    POST /login           -> signed session cookie, 303 to `next` (a relative path) or the organisation
    POST /logout          -> session cleared, 303 to /login

The session holds the token; the binding (services/common/binding.py) reads it back through
`key_of`, so a web request is bound to its episode exactly as an API call with that token is.
Every form carries `csrf_token`, an HMAC of the session's token under the app's secret key: a
hostile page elsewhere can make the browser post, but cannot know the value.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from urllib.parse import quote

from flask import Blueprint, Request, Response, current_app, g, redirect, render_template, request, session
from werkzeug.exceptions import Forbidden, HTTPException

from sandbox.home import Home, proxy_secret
from services.code import store
from services.code.errors import GitHubError
from services.code.wire import request_id
from services.common.binding import AuthFailure

bp = Blueprint("web", __name__)
log = logging.getLogger(__name__)

LOGIN_PATH = "/login"
SESSION_TOKEN = "token"
COOKIE_NAME = "_gh_sess"
LOGIN_MESSAGES = {
    "missing": "Enter your personal access token.",
    "invalid": "Incorrect personal access token.",
    "finished": "This sandbox episode is finished: start a new episode to sign in.",
}


def configure(app_config: dict, home: Home) -> None:
    """The session cookie's settings: signed with a key every worker of this home derives alike."""
    app_config["SECRET_KEY"] = hashlib.sha256(f"code-web:{proxy_secret(home)}".encode()).hexdigest()
    app_config["SESSION_COOKIE_NAME"] = COOKIE_NAME
    app_config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app_config["SESSION_COOKIE_HTTPONLY"] = True


def key_of(req: Request) -> str | None:
    """The token of a github.com request: the sign-in form's on POST /login, else the session's."""
    if req.path == LOGIN_PATH and req.method == "POST":
        return req.form.get("api_token", "").strip() or None
    return session.get(SESSION_TOKEN)


def csrf_token() -> str:
    token = session.get(SESSION_TOKEN, "")
    return hmac.new(current_app.secret_key.encode(), f"csrf:{token}".encode(), hashlib.sha256).hexdigest()


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site (one leading "/", not "//host"), else None: no open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def landing() -> str:
    return f"/{store.org()['login']}"


def page(template: str, status: int = 200, **context: object) -> Response:
    """A page of the site, with what every page shows: the signed-in actor and the forms' CSRF token."""
    actor = store.user(store.me()) if getattr(g, "episode", None) is not None else None
    html = render_template(template, actor=actor, csrf_token=csrf_token() if actor else "",
                           org_login=store.org()["login"] if actor else "", **context)
    return Response(html, status=status, mimetype="text/html")


def _login_page(status: int, error: str | None, next_path: str | None) -> Response:
    html = render_template("login.html", actor=None, error=error, next_path=next_path or "")
    return Response(html, status=status, mimetype="text/html")


def on_auth_failure(failure: AuthFailure) -> Response:
    """No valid session: the sign-in page itself, a 401 for a wrong token, else 303 to sign in."""
    next_path = safe_next(request.values.get("next"))
    if request.path == LOGIN_PATH:
        if request.method == "GET":
            session.clear()
            return _login_page(200, None if failure.kind == "missing" else LOGIN_MESSAGES[failure.kind], next_path)
        return _login_page(401, LOGIN_MESSAGES[failure.kind], next_path)
    session.clear()  # a stale or finished session: sign in again
    here = request.full_path.rstrip("?") if request.method == "GET" else request.path
    if request.path == "/logout":
        return redirect(LOGIN_PATH, code=303)
    return redirect(f"{LOGIN_PATH}?next={quote(here, safe='/')}", code=303)


@bp.before_request
def check_csrf() -> None:
    """Every signed-in POST carries the session's CSRF token (the sign-in form has no session yet)."""
    if request.method != "POST" or request.path == LOGIN_PATH:
        return
    sent = request.form.get("csrf_token", "")
    if not hmac.compare_digest(sent.encode(), csrf_token().encode()):
        raise Forbidden("This form is missing its CSRF token or the token is stale: reload the page and submit again.")


@bp.after_request
def web_headers(response: Response) -> Response:
    # Pages change with every write: the browser must ask again rather than reuse one (no API ETag caching).
    response.headers["Cache-Control"] = "max-age=0, private, must-revalidate"
    response.headers["X-Frame-Options"] = "deny"
    response.headers["X-GitHub-Request-Id"] = request_id()
    return response


@bp.get(LOGIN_PATH)
def login_form() -> Response:
    return _login_page(200, None, safe_next(request.args.get("next")))


@bp.post(LOGIN_PATH)
def login() -> Response:
    # The binding has already checked the token names this live episode of the code fake.
    session.clear()
    session[SESSION_TOKEN] = key_of(request)
    return redirect(safe_next(request.form.get("next")) or landing(), code=303)


@bp.post("/logout")
def logout() -> Response:
    session.clear()
    return redirect(LOGIN_PATH, code=303)


@bp.get("/")
def home() -> Response:
    return redirect(landing(), code=303)


@bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def no_such_page(anything: str) -> Response:
    """Anything else on github.com is GitHub's 404 page, never an API answer."""
    raise GitHubError("Not Found", 404)


@bp.errorhandler(GitHubError)
def _github_error(error: GitHubError) -> Response:
    """The same errors the API raises (a repository or issue that does not exist), as a page."""
    return page("error.html", error.status, code=error.status, message=error.message)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return page("error.html", error.code or 500, code=error.code, message=error.description)


@bp.errorhandler(Exception)
def _bug(error: Exception) -> Response:
    """A bug in the fake, on a page: a browser gets HTML, never the API's JSON; the trace goes to the log."""
    log.exception("code web: unhandled error on %s %s", request.method, request.path)
    return page("error.html", 500, code=500, message=f"Server Error ({type(error).__name__} in the code sandbox)")
