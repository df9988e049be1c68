"""`GET /_sandbox/openapi.json`: the subset of Stripe's API this fake serves, built from its routes,
so the document can never list an endpoint the fake lacks (or miss one it has)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def document(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/v1/"):
            continue
        path = _PARAM.sub(r"{\1}", rule.rule)
        names = _PARAM.findall(rule.rule)
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict[str, Any] = {
                "operationId": f"{method.lower()}_{rule.endpoint.replace('.', '_')}",
                "summary": (view.__doc__ or rule.endpoint).strip().splitlines()[0],
                "responses": {
                    "200": {"description": "The object or list, shaped like Stripe's."},
                    "default": {"description": 'Stripe\'s error object: {"error": {"type", "message", ...}}'},
                },
            }
            if names:
                operation["parameters"] = [
                    {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
                ]
            if method == "POST":
                operation["requestBody"] = {
                    "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}
                }
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "agent-sandbox payments (Stripe-shaped)",
            "version": "2022-11-15",
            "description": "The Stripe API subset served by the sandbox's payments fake.",
        },
        "servers": [{"url": "https://api.stripe.com"}],
        "security": [{"bearer": []}, {"basic": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
            }
        },
        "paths": paths,
    }
