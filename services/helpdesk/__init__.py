"""helpdesk: a Zendesk-shaped fake (Support API v2) that `zenpy` and plain HTTP clients use unchanged.

    app = create_app({"home": Home.resolve()})

Served: tickets (with comments, internal notes and tags), users, organizations, search, and a
small server-rendered agent UI under `/agent/` for browser agents. The proxy routes every
`*.zendesk.com` host here; the account answers at the world's subdomain (`world.org.slug`) and
any other subdomain is an account that does not exist. Called directly (127.0.0.1:PORT), any host
is the account. The episode's API token acts as the sandbox's own agent, "Sandbox Agent".
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from flask import Flask, Response, g

from sandbox.home import proxy_secret
from sandbox.world import World
from services import ServiceSpec
from services.common.binding import EpisodeBinding
from services.common.inputs import bound_int_routes
from services.common.sandbox_routes import add_sandbox_routes
from services.helpdesk import errors, mcp, openapi, organizations, search, tickets, ui, users
from services.helpdesk.auth import check_actor, key_of, on_auth_failure
from services.helpdesk.errors import ZendeskError, error_response
from services.helpdesk.seed import agent_email, build_template
from services.helpdesk.store import account
from services.helpdesk.wire import VENDOR_SUFFIX, add_zendesk_headers, host

MAX_BODY_BYTES = 1024 * 1024


def check_subdomain() -> Response | None:
    """Through the proxy every *.zendesk.com host lands here: only the world's subdomain is an account."""
    if getattr(g, "episode", None) is None or not host().endswith(VENDOR_SUFFIX):
        return None
    subdomain = host().removesuffix(VENDOR_SUFFIX)
    if subdomain != account("subdomain"):
        return error_response(ZendeskError(404, "RecordNotFound", f"No Zendesk account at {subdomain}{VENDOR_SUFFIX}"))
    return None


def create_app(config: dict[str, Any]) -> Flask:
    """The helpdesk app for the sandbox home `config["home"]`."""
    app = Flask(__name__)
    bound_int_routes(app)  # before any route: ids past SQLite's 64 bits match no route
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    # The agent UI's session cookie is signed with a key every worker of this home derives alike.
    app.config["SECRET_KEY"] = hashlib.sha256(f"helpdesk-ui:{proxy_secret(config['home'])}".encode()).hexdigest()
    app.config["SESSION_COOKIE_NAME"] = "_zendesk_session"
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config.update({k: v for k, v in config.items() if k.isupper()})
    errors.init_app(app)
    EpisodeBinding(app, "helpdesk", config["home"], key_of, on_auth_failure)
    app.before_request(check_subdomain)
    app.before_request(check_actor)
    # Registered after the binding so it runs before the binding's after_request (Flask runs
    # them in reverse): the ledger then records the response with its final headers.
    app.after_request(add_zendesk_headers)

    add_sandbox_routes(app, "helpdesk", openapi.document)

    for module in (tickets, users, organizations, search, ui):
        app.register_blueprint(module.bp)
    mcp.init_app(app)  # the vendor's MCP server, sharing the REST routes' rows
    return app


def agent_env(world: World) -> dict[str, str]:
    assert world.org is not None
    return {
        "ZENDESK_SUBDOMAIN": world.org.slug,
        "ZENDESK_EMAIL": agent_email(world),
        "ZENDESK_URL": f"https://{world.org.helpdesk_host}",
    }


def auth_headers(key: str, world: World) -> dict[str, str]:
    """What zenpy sends for email + API token: Basic `{email}/token:{token}`."""
    pair = f"{agent_email(world)}/token:{key}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def public_exposure(table: str, row: dict[str, Any]) -> str | None:
    """A public comment is mailed to the requester and shown in the help center; internal notes
    (public = 0) are for agents only."""
    if table == "comments" and row.get("public") == 1:
        return f"public reply on ticket {row.get('ticket_id')}"
    return None


SERVICE = ServiceSpec(
    id="helpdesk",
    hosts=("*.zendesk.com",),
    create_app=create_app,
    build_template=build_template,
    key_prefix="zdt_",
    env_vars=("ZENDESK_API_TOKEN",),
    internal_tables=("_account",),
    agent_env=agent_env,
    vendor_error=errors.vendor_error,
    rate_limit_headers=errors.rate_limit_headers,
    auth_headers=auth_headers,
    public_exposure=public_exposure,
    probe="/api/v2/users/me.json",
    mcp_url=lambda world: f"https://{world.org.helpdesk_host}/api/v2/mcp",
    web_login=lambda world: f"https://{world.org.helpdesk_host}/agent/login",
)
