"""`GET /_sandbox/openapi.json`: the subset of Zendesk's Support API this fake serves, built from its routes."""

from __future__ import annotations

from typing import Any

from flask import Flask

from services.common.openapi import Api
from services.common.openapi import document as build

API = Api(
    title="agent-sandbox helpdesk (Zendesk-shaped)",
    server="https://{subdomain}.zendesk.com",
    prefixes=("/api/v2/",),
    description="The Zendesk Support API v2 subset served by the sandbox's helpdesk fake (every path also"
    " answers without `.json`). The agent UI under /agent/ is HTML and not listed.",
    version="v2",
    error_description='Zendesk\'s error body: {"error", "description", "details"?}',
    security_schemes={
        "basic": {"type": "http", "scheme": "basic", "description": "{email}/token:{api_token}"},
        "bearer": {"type": "http", "scheme": "bearer"},
    },
)


def document(app: Flask) -> dict[str, Any]:
    return build(app, API)
