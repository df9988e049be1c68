"""Request bodies the way GitHub reads them: JSON whatever the Content-Type says, an unparseable body
is 400 "Problems parsing JSON", a value of the wrong type breaks the endpoint's schema (422
"Invalid request.\\n\\nFor 'properties/labels', "bug" is not an array."), and keys an endpoint does
not know are ignored."""

from __future__ import annotations

from typing import Any

from flask import request

from services.code.errors import invalid_request, problems_parsing_json, show
from services.common.inputs import parse_json


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def raw_json() -> Any:
    """The parsed body; MISSING when there is none."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return MISSING
    try:
        return parse_json(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is one too
        raise problems_parsing_json() from None


class Body:
    """Typed access to a JSON object body. `Body.parse()` fails at once when the body is not an object."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    def parse(cls) -> Body:
        data = raw_json()
        if data is MISSING:
            return cls({})
        if not isinstance(data, dict):
            raise invalid_request(f"For 'links/0/schema', {show(data)} is not an object.")
        return cls(data)

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def string(self, name: str, *, nullable: bool = True, integer_ok: bool = False) -> Any:
        """A string (or with `integer_ok` an integer, as GitHub takes for titles); MISSING if absent."""
        value = self.data.get(name, MISSING)
        if value is MISSING or (value is None and nullable):
            return value
        if integer_ok and isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            kind = "a string or integer" if integer_ok else "a string"
            raise invalid_request(f"For 'properties/{name}', {show(value)} is not {kind}.")
        return value

    def choice(self, name: str, choices: tuple[str, ...], *, nullable: bool = False) -> Any:
        value = self.string(name, nullable=nullable)
        if value and value not in choices:
            allowed = ", ".join(show(c) for c in choices)
            raise invalid_request(f"For 'properties/{name}', {show(value)} is not one of [{allowed}].")
        return value

    def string_list(self, name: str) -> Any:
        """A list of strings; MISSING if absent."""
        return string_list(self.data.get(name, MISSING), f"properties/{name}")


def string_list(value: Any, where: str) -> Any:
    if value is MISSING:
        return value
    if not isinstance(value, list):
        raise invalid_request(f"For '{where}', {show(value)} is not an array.")
    for item in value:
        if not isinstance(item, str):
            raise invalid_request(f"For 'items', {show(item)} is not a string.")
    return value


def label_names(value: Any, where: str) -> Any:
    """Labels as GitHub takes them: names, or objects with a `name` (what some clients send)."""
    if value is MISSING:
        return value
    if not isinstance(value, list):
        raise invalid_request(f"For '{where}', {show(value)} is not an array.")
    names = []
    for item in value:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            item = item["name"]
        if not isinstance(item, str):
            raise invalid_request(f"For 'items', {show(item)} is not a string or an object with a name.")
        names.append(item)
    return names
