"""`GET /_sandbox/openapi.json` for any fake: the subset of a vendor's API it serves, built from the
app's own routes, so the document can never list an endpoint the fake lacks (or miss one it has).

    document(app, Api(title=..., server="https://api.github.com", prefixes=("/repos", "/orgs")))
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
_METHODS_WITH_BODY = {"POST", "PUT", "PATCH"}


@dataclass(frozen=True)
class Api:
    title: str
    server: str  # the vendor's base URL, e.g. https://api.stripe.com
    prefixes: tuple[str, ...]  # route prefixes that belong to the vendor API (not /_sandbox/)
    description: str = ""
    version: str = "1"
    body_type: str = "application/json"
    error_description: str = "The vendor's error body."
    security_schemes: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {"bearer": {"type": "http", "scheme": "bearer"}}
    )


def vendor_rules(app: Flask, api: Api) -> list[tuple[str, str, str]]:
    """(openapi path, METHOD, endpoint) for every vendor route the app serves."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(api.prefixes):
            continue
        path = _PARAM.sub(r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            found.append((path, method, rule.endpoint))
    return sorted(found)


def document(app: Flask, api: Api) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for path, method, endpoint in vendor_rules(app, api):
        view = app.view_functions[endpoint]
        names = _PARAM.findall(path.replace("{", "<").replace("}", ">"))
        operation: dict[str, Any] = {
            "operationId": f"{method.lower()}_{endpoint.replace('.', '_')}",
            "summary": (view.__doc__ or endpoint).strip().splitlines()[0],
            "responses": {
                "200": {"description": "The object or list, shaped like the vendor's."},
                "default": {"description": api.error_description},
            },
        }
        if names:
            operation["parameters"] = [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
            ]
        if method in _METHODS_WITH_BODY:
            operation["requestBody"] = {"content": {api.body_type: {"schema": {"type": "object"}}}}
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": api.title, "version": api.version, "description": api.description},
        "servers": [{"url": api.server}],
        "security": [{name: []} for name in api.security_schemes],
        "components": {"securitySchemes": api.security_schemes},
        "paths": paths,
    }
