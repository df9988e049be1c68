"""Users: list, info, lookupByEmail, profile.get. Every member of the workspace is visible to the bot; the
profile carries the work email only (the bot has users:read.email), never a personal address."""

from __future__ import annotations

from flask import Blueprint, Response, g

from services.chat import objects, pagination
from services.chat.errors import SlackError
from services.chat.params import request_args
from services.chat.store import workspace
from services.chat.wire import ok

bp = Blueprint("users", __name__)


@bp.route("/api/users.list", methods=["GET", "POST"])
def list_all() -> Response:
    """Lists all users in the workspace (all at once without a limit)."""
    args = request_args()
    limit = pagination.limit(args, pagination.USERS)
    start = pagination.decode(args, "user")
    locale = args.boolean("include_locale")
    rows = g.db.execute(
        "SELECT * FROM users WHERE id >= ? ORDER BY id LIMIT ?", (start or "", limit + 1 if limit else -1)
    ).fetchall()
    more = rows[limit]["id"] if limit and len(rows) > limit else None
    page = rows[:limit] if limit else rows
    return ok({
        "members": [objects.user(r, locale=locale) for r in page],
        "cache_ts": workspace().created,
        **pagination.metadata("user", more),
    })


@bp.route("/api/users.info", methods=["GET", "POST"])
def info() -> Response:
    """Gets information about a user."""
    args = request_args()
    user_id = (args.string("user", required=True) or "").strip()
    row = g.db.execute("SELECT * FROM users WHERE id=?", (user_id,)).fetchone()
    if row is None:
        raise SlackError("user_not_found")
    return ok({"user": objects.user(row, locale=args.boolean("include_locale"))})


@bp.route("/api/users.lookupByEmail", methods=["GET", "POST"])
def lookup_by_email() -> Response:
    """Finds a user by their work email address."""
    args = request_args()
    email = (args.string("email", required=True) or "").strip().lower()
    row = g.db.execute("SELECT * FROM users WHERE lower(email)=? AND deleted=0", (email,)).fetchone()
    if row is None:
        raise SlackError("users_not_found")
    return ok({"user": objects.user(row)})


@bp.route("/api/users.profile.get", methods=["GET", "POST"])
def profile_get() -> Response:
    """Retrieves a user's profile (the calling bot's own without `user`); the official Slack MCP
    server's `slack_get_user_profile` calls it with `include_labels`, which changes nothing here:
    no profile has custom fields."""
    args = request_args()
    user_id = (args.string("user") or "").strip() or workspace().bot_user
    row = g.db.execute("SELECT * FROM users WHERE id=?", (user_id,)).fetchone()
    if row is None:
        raise SlackError("user_not_found")
    profile = objects.user(row)["profile"]
    profile.pop("team")  # users.profile.get's profile does not repeat the team, users.list's does
    return ok({"profile": profile})
