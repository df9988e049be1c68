"""`GET /_sandbox/openapi.json`: the subset of GitHub's REST API this fake serves, built from its routes."""

from __future__ import annotations

from typing import Any

from flask import Flask

from services.common.openapi import Api
from services.common.openapi import document as build

API = Api(
    title="agent-sandbox code (GitHub-REST-shaped)",
    server="https://api.github.com",
    prefixes=("/user", "/users/", "/orgs/", "/repos/", "/search/"),
    description="The GitHub REST API subset served by the sandbox's code fake: the organisation, its members and"
    " repositories, issues (and their search), labels, assignees and issue comments.",
    version="2022-11-28",
    error_description='GitHub\'s error body: {"message", "documentation_url", "status", "errors"?}',
    security_schemes={
        "token": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "token ghp_..."},
        "bearer": {"type": "http", "scheme": "bearer"},
    },
)


def document(app: Flask) -> dict[str, Any]:
    return build(app, API)
