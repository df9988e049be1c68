"""People and the organisation: `/user`, `/users/{login}`, `/orgs/{org}` and its members."""

from __future__ import annotations

import sqlite3

from flask import Blueprint, Response, g, request

from services.code import objects, store
from services.code.errors import invalid_request, not_found, show
from services.code.pagination import paginate
from services.code.wire import docs, json_response, no_content

bp = Blueprint("accounts", __name__)


def require_org(login: str) -> sqlite3.Row:
    """The organisation, or 404 for any other login."""
    row = store.org()
    if row["login"].lower() != login.lower():
        raise not_found()
    return row


def repo_counts() -> tuple[int, int]:
    public, private = g.db.execute("SELECT sum(private = 0), sum(private = 1) FROM repos").fetchone()
    return public or 0, private or 0


@bp.get("/user")
@docs("users/users#get-the-authenticated-user")
def authenticated() -> Response:
    """Get the authenticated user (the organisation's bot member)."""
    return json_response(objects.full_user(store.user(store.me()), private=True))


@bp.get("/users/<login>")
@docs("users/users#get-a-user")
def get_user(login: str) -> Response:
    """Get a user (or the organisation, as GitHub answers for an organisation's login)."""
    row = store.user(login)
    if row is not None:
        return json_response(objects.full_user(row))
    org = store.org()
    if org["login"].lower() == login.lower():
        public, _ = repo_counts()
        body = objects.full_org(org, public, 0)
        for private_field in ("total_private_repos", "owned_private_repos", "collaborators", "plan",
                              "members_can_create_repositories", "two_factor_requirement_enabled"):
            body.pop(private_field)
        return json_response(body)
    raise not_found()


@bp.get("/orgs/<org>")
@docs("orgs/orgs#get-an-organization")
def get_org(org: str) -> Response:
    """Get an organization."""
    public, private = repo_counts()
    return json_response(objects.full_org(require_org(org), public, private))


@bp.get("/orgs/<org>/members")
@docs("orgs/members#list-organization-members")
def list_members(org: str) -> Response:
    """List organization members (filters: role, filter)."""
    require_org(org)
    role = request.args.get("role", "all")
    if role not in ("all", "admin", "member"):
        raise invalid_request(f"For 'role', {show(role)} is not one of [\"all\", \"admin\", \"member\"].")
    member_filter = request.args.get("filter", "all")
    if member_filter not in ("all", "2fa_disabled", "2fa_insecure"):
        raise invalid_request(f"For 'filter', {show(member_filter)} is not one of [\"all\", \"2fa_disabled\"].")
    people = [m for m in store.members() if role == "all" or m["role"] == role]
    if member_filter != "all":
        people = []  # the organisation requires two-factor authentication
    page, headers = paginate(people)
    return json_response([objects.simple_user(m["login"]) for m in page], headers=headers)


@bp.get("/orgs/<org>/members/<login>")
@docs("orgs/members#check-organization-membership-for-a-user")
def check_member(org: str, login: str) -> Response:
    """Check organization membership for a user (204 or 404)."""
    require_org(org)
    row = store.user(login)
    if row is None or not row["member"]:
        raise not_found("User does not exist or is not a member of the organization")
    return no_content()
