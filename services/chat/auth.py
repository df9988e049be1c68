"""Tokens the way Slack reads them, Slack's auth errors, and `auth.test`.

A token comes as `Authorization: Bearer xoxb-...` (what slack_sdk sends, and the only way with a
JSON body) or as a `token` argument in the query string or a form body. Slack answers a missing
token with `not_authed`, a wrong one with `invalid_auth`, and a token of a deleted workspace with
`account_inactive` — the finished episode's case — all with HTTP 200, as Slack does.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import Blueprint, Request, Response

from services.chat.errors import SlackError, error_response
from services.chat.params import request_args
from services.chat.store import workspace
from services.chat.wire import ok
from services.common.binding import AuthFailure

bp = Blueprint("auth", __name__)

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def key_of(request: Request) -> str | None:
    """The token a request carries, or None when it carries none."""
    header = request.headers.get("Authorization", "").strip()
    if header:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer":
            return credentials.strip() or None
        return header  # another scheme: a (wrong) credential, not a missing one
    token = request.args.get("token")
    if not token and request.method == "POST" and request.mimetype in _FORMS:
        if request.mimetype == "multipart/form-data":
            request.get_data(cache=True)  # cached first, so the form parses from it and the ledger keeps it
            token = request.form.get("token")
        else:
            # Parsed by hand: `request.form` would consume the body the binding logs to the ledger.
            body = request.get_data(cache=True)
            try:
                token = dict(parse_qsl(body.decode("utf-8"), max_num_fields=2000)).get("token")
            except (UnicodeDecodeError, ValueError):
                return None
    return token.strip() if token and token.strip() else None


def on_auth_failure(failure: AuthFailure) -> Response:
    """Slack's answer for a missing, wrong or finished-episode token."""
    code = {"missing": "not_authed", "finished": "account_inactive"}.get(failure.kind, "invalid_auth")
    return error_response(SlackError(code))


@bp.route("/api/auth.test", methods=["GET", "POST"])
def auth_test() -> Response:
    """Checks authentication and tells you who you are."""
    request_args()
    w = workspace()
    return ok({
        "url": w.url,
        "team": w.name,
        "user": w.bot_name,
        "team_id": w.id,
        "user_id": w.bot_user,
        "bot_id": w.bot_id,
        "is_enterprise_install": False,
    })
