"""`GET /_sandbox/openapi.json`: the subset of GitHub's REST API this fake serves, built from its routes."""

from __future__ import annotations

from typing import Any

from flask import Flask

from services.common.openapi import Api
from services.common.openapi import document as build

API = Api(
    title="agent-sandbox code (GitHub-REST-shaped)",
    server="https://api.github.com",
    prefixes=("/user", "/users/", "/orgs/", "/repos/", "/search/", "/graphql", "/api/graphql"),
    description="The GitHub REST API subset served by the sandbox's code fake: the API root, the organisation, its"
    " members and repositories, issues, labels, assignees, issue comments and issue search; and `POST /graphql`,"
    " GitHub's GraphQL API for the subset of GitHub's schema in services/code/graphql_schema.graphql.",
    version="2022-11-28",
    error_description='GitHub\'s error body: {"message", "documentation_url", "status", "errors"?}',
    security_schemes={
        "token": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "token ghp_..."},
        "bearer": {"type": "http", "scheme": "bearer"},
    },
)


def document(app: Flask) -> dict[str, Any]:
    body = build(app, API)
    # `GET /`, the API root: a prefix "/" would also take in the sandbox's own /_sandbox/ routes.
    root = app.view_functions["api_root.root"]
    body["paths"]["/"] = {"get": {"operationId": "get_api_root_root", "summary": root.__doc__.strip().splitlines()[0],
                                  "responses": {"200": {"description": "GitHub's map of URL templates."}}}}
    return body
