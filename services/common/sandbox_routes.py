"""The routes every fake serves for the sandbox itself, under `/_sandbox/` (the proxy never lets an
agent reach them): health, for supervisors and compose healthchecks, and the OpenAPI document of
the vendor subset the fake serves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask


def add_sandbox_routes(app: Flask, service_id: str, openapi_document: Callable[[Flask], dict[str, Any]]) -> None:
    @app.get("/_sandbox/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "service": service_id}

    @app.get("/_sandbox/openapi.json")
    def openapi() -> dict[str, Any]:
        return openapi_document(app)
