"""team.info: the workspace the bot belongs to."""

from __future__ import annotations

from flask import Blueprint, Response

from services.chat.errors import SlackError
from services.chat.params import request_args
from services.chat.store import workspace
from services.chat.wire import ok

bp = Blueprint("team", __name__)


@bp.route("/api/team.info", methods=["GET", "POST"])
def info() -> Response:
    """Gets information about the workspace."""
    args = request_args()
    w = workspace()
    asked = args.string("team")
    if asked and asked.strip() != w.id:
        raise SlackError("team_not_found")
    return ok({"team": {
        "id": w.id,
        "name": w.name,
        "url": w.url,
        "domain": w.domain,
        "email_domain": w.email_domain,
        "icon": {"image_default": True, **{f"image_{n}": f"https://a.slack-edge.com/80588/img/avatars-teams/ava_0001-{n}.png"
                                           for n in (34, 44, 68, 88, 102, 132, 230)}},
        "avatar_base_url": "https://ca.slack-edge.com/",
        "is_verified": False,
    }})
