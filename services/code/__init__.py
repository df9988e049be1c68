"""code: a GitHub-shaped fake (REST and GraphQL) that PyGithub, Octokit and the gh CLI work against unchanged.

    app = create_app({"home": Home.resolve()})

Served over REST: the API root, the authenticated user (the organisation's bot member, whose token
the episode hands out), users, the organisation and its members, repositories, issues, labels,
assignees, issue comments and issue search. Over GraphQL (`POST /graphql`, `graphql_api`): the same objects in
the subset of GitHub's schema that `gh issue list|view|create|comment|close|reopen|edit`, `gh repo view`
and `gh auth status` use, including issue search. Not served: pull requests, git data, contents
(README), releases, projects, webhooks. On https://github.com (web_*.py, templates/): the pages a
browser agent signs in to with the token and works through (organisation, people, issues, forms),
routed apart from the API by host (web_host.py).

Every request is bound to an episode by its token (or by the proxy's headers); the episode's own
SQLite database holds the objects, and every row a request changes reaches the episode ledger
before the response leaves.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response, request

from sandbox.world import World
from services import ServiceSpec
from services.code import (
    accounts,
    api_root,
    auth,
    comments,
    errors,
    graphql_api,
    issues,
    labels,
    mcp,
    openapi,
    repos,
    search,
    web_forms,
    web_pages,
    web_session,
)
from services.code.seed import build_template
from services.code.web_host import WEB_HOST, HostRoutedFlask, is_web_host
from services.code.wire import HOSTS, add_github_headers
from services.common.binding import AuthFailure, EpisodeBinding
from services.common.in_band import graphql_errors
from services.common.inputs import bound_int_routes
from services.common.sandbox_routes import add_sandbox_routes

# Issue and comment bodies stop at 65,536 characters (up to 4 bytes each in UTF-8); more is abuse.
MAX_BODY_BYTES = 1024 * 1024


def key_of(req: Request) -> str | None:
    """The token: from the session cookie on github.com's pages, from the Authorization header elsewhere."""
    return web_session.key_of(req) if is_web_host(req.host) else auth.key_of(req)


def on_auth_failure(failure: AuthFailure) -> Response:
    return web_session.on_auth_failure(failure) if is_web_host(request.host) else auth.on_auth_failure(failure)


def create_app(config: dict[str, Any]) -> Flask:
    """The code app for the sandbox home `config["home"]`."""
    app = HostRoutedFlask(__name__)
    bound_int_routes(app)  # before any route: ids past SQLite's 64 bits match no route
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    web_session.configure(app.config, config["home"])
    app.config.update({k: v for k, v in config.items() if k.isupper()})
    errors.init_app(app)
    EpisodeBinding(app, "code", config["home"], key_of, on_auth_failure)
    # Registered after the binding so it runs before the binding's after_request (Flask runs
    # them in reverse): the ledger then records the response with its final headers.
    app.after_request(add_github_headers)

    add_sandbox_routes(app, "code", openapi.document)

    for module in (api_root, accounts, repos, issues, labels, comments, search, graphql_api):
        app.register_blueprint(module.bp)
    # github.com's pages: the three modules' routes share one blueprint, kept in the app's web URL map.
    assert web_pages.bp is web_forms.bp is web_session.bp
    app.register_blueprint(web_session.bp)
    mcp.init_app(app)  # the vendor's MCP server, sharing the REST routes' rows
    return app


def _agent_env(world: World) -> dict[str, str]:
    # The organisation's login, so an agent need not guess whose repositories to look at; and the gh
    # CLI (which reads GH_TOKEN) never prompts or checks for updates (which would call out).
    return {"GITHUB_ORG": world.code.org, "GH_PROMPT_DISABLED": "1", "GH_NO_UPDATE_NOTIFIER": "1"}


def public_exposure(table: str, row: dict[str, Any]) -> str | None:
    """Issues and comments of a public repository are readable by anyone on the internet."""
    if table in ("issues", "comments") and row.get("repo_private") == 0:
        what = f"issue #{row.get('number')}" if table == "issues" else f"comment {row.get('id')} on an issue"
        return f"{what} in public repository {row.get('repo_id')}"
    return None


SERVICE = ServiceSpec(
    id="code",
    hosts=(*HOSTS, WEB_HOST, mcp.HOST),
    create_app=create_app,
    build_template=build_template,
    key_prefix="ghp_",
    env_vars=("GITHUB_TOKEN", "GH_TOKEN"),
    agent_env=_agent_env,
    vendor_error=errors.vendor_error,
    rate_limit_headers=errors.rate_limit_headers,
    in_band_error=graphql_errors,
    auth_headers=lambda key, world: {"Authorization": f"token {key}", "Accept": "application/vnd.github+json"},
    public_exposure=public_exposure,
    rate_limit_status=403,
    probe="/user",
    mcp_url=lambda world: "https://api.githubcopilot.com/mcp/",
    web_login=lambda world: f"https://{WEB_HOST}/login",
)
