"""`GET /_sandbox/openapi.json`: the subset of Slack's Web API this fake serves, built from its routes."""

from __future__ import annotations

from typing import Any

from flask import Flask

from services.common.openapi import Api
from services.common.openapi import document as build

API = Api(
    title="agent-sandbox chat (Slack-shaped)",
    server="https://slack.com",
    prefixes=("/api/",),
    description="The Slack Web API subset served by the sandbox's chat fake. Every method takes GET or POST"
    " (query string, form body, or JSON body with the token in the Authorization header).",
    version="1",
    body_type="application/x-www-form-urlencoded",
    error_description='Slack\'s error answer: {"ok": false, "error": "<code>"} (HTTP 200 for API errors)',
    security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
)


def document(app: Flask) -> dict[str, Any]:
    return build(app, API)
