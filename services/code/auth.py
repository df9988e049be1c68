"""Tokens the way GitHub reads them, and GitHub's 401s.

GitHub takes a token as `Authorization: token ghp_...` (PyGithub, the gh CLI) or `Authorization:
Bearer ghp_...` (Octokit, the docs' curl examples), and as the password of HTTP Basic auth (git).
"""

from __future__ import annotations

import re

from flask import Request, Response, request

from services.code.errors import GitHubError, error_response
from services.code.wire import DOCS
from services.common.binding import AuthFailure
from services.common.inputs import decode_basic

_REPO_PATH = re.compile(r"^/repos/[^/]+/[^/]+")
GRAPHQL_AUTH_DOCS = "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"


def key_of(req: Request) -> str | None:
    """The token a request carries, or None when it carries none."""
    header = req.headers.get("Authorization", "").strip()
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() in ("token", "bearer"):
        return credentials or None
    if scheme.lower() == "basic":
        decoded = decode_basic(credentials)
        if decoded is None:
            return credentials or None  # not base64: still a (wrong) credential, not a missing one
        user, _, password = decoded.partition(":")
        return password or user or None
    return header  # an unknown scheme: a bad credential, as GitHub says


def on_auth_failure(failure: AuthFailure) -> Response:
    """GitHub's answer to a request without usable credentials.

    A wrong token (or one of a finished episode) is 401 "Bad credentials". With no token at all,
    GitHub serves public data anonymously; the sandbox cannot (the token is what names the episode),
    so it answers as GitHub does for what an anonymous caller may not see: 404 for a repository
    path (GitHub hides private repositories behind 404), 401 "Requires authentication" elsewhere."""
    if failure.kind == "missing":
        if request.path in ("/graphql", "/api/graphql"):
            # GitHub's GraphQL API serves nobody anonymously, and says so in its own words.
            error = GitHubError("This endpoint requires you to be authenticated.", 401, docs=GRAPHQL_AUTH_DOCS)
        elif request.method == "GET" and _REPO_PATH.match(request.path):
            error = GitHubError("Not Found", 404, docs=DOCS)
        else:
            error = GitHubError("Requires authentication", 401, docs=DOCS)
    else:
        error = GitHubError("Bad credentials", 401, docs=DOCS)
    response = error_response(error)
    if failure.kind == "finished":
        # The body stays GitHub's (PyGithub maps it to BadCredentialsException); the reason goes here.
        response.headers["X-Sandbox-Reason"] = f"episode {failure.episode} is finished; start a new episode"
    return response
