"""`GET /_sandbox/openapi.json`: the subset of Stripe's API this fake serves, built from its routes."""

from __future__ import annotations

from typing import Any

from flask import Flask

from services.common.openapi import Api
from services.common.openapi import document as build

API = Api(
    title="agent-sandbox payments (Stripe-shaped)",
    server="https://api.stripe.com",
    prefixes=("/v1/",),
    description="The Stripe API subset served by the sandbox's payments fake.",
    version="2022-11-15",
    body_type="application/x-www-form-urlencoded",
    error_description='Stripe\'s error object: {"error": {"type", "message", ...}}',
    security_schemes={
        "bearer": {"type": "http", "scheme": "bearer"},
        "basic": {"type": "http", "scheme": "basic"},
    },
)


def document(app: Flask) -> dict[str, Any]:
    return build(app, API)
