"""Zendesk answers every API path with and without `.json`: register both."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, request

from services.common.inputs import SQLITE_MAX, digits
from services.helpdesk.errors import ZendeskError


def api_route(bp: Blueprint, rule: str, methods: tuple[str, ...] = ("GET",)) -> Callable:
    def register(view: Callable) -> Callable:
        bp.add_url_rule(rule + ".json", view_func=view, methods=list(methods))
        bp.add_url_rule(rule, view_func=view, methods=list(methods))
        return view

    return register


def id_list(name: str = "ids", *, limit: int = 100) -> list[int]:
    """`?ids=1,2,3` -> [1, 2, 3]; a 400 for a value that is not a list of ids."""
    raw = request.args.get(name, "")
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts or not all(digits(p) for p in parts):
        raise ZendeskError(400, "InvalidValue", f"{name} must be a comma-separated list of ids"
                           f" (each 0-9 digits, at most {SQLITE_MAX}), got {raw[:100]!r}")
    if len(parts) > limit:
        raise ZendeskError(400, "TooManyValues", f"{name} takes at most {limit} ids")
    return [int(p) for p in parts]
