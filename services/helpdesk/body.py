"""Reading a JSON request body the way Zendesk does: malformed JSON is a 400, a wrongly typed or
missing field a 422 RecordInvalid naming the field; attributes it does not know are ignored."""

from __future__ import annotations

from typing import Any

from flask import request

from services.common.inputs import digits, fits_sqlite, parse_json
from services.helpdesk.errors import RecordInvalid, ZendeskError, malformed_json

MISSING: Any = object()


def json_body(*, required: bool = True) -> dict[str, Any]:
    """The request's JSON object; {} for an empty body when it is not required."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise malformed_json()
        return {}
    try:
        data = parse_json(raw)
    except ValueError:  # invalid UTF-8 or JSON, or nested past the parser's limit
        raise malformed_json() from None
    if not isinstance(data, dict):
        raise malformed_json()
    return data


def root(data: dict[str, Any], name: str) -> dict[str, Any]:
    """`{"ticket": {...}}` -> the inner object, or a 400 naming what is missing."""
    value = data.get(name, MISSING)
    if value is MISSING or not isinstance(value, dict):
        raise ZendeskError(400, "InvalidRequest" if value is MISSING else "InvalidValue",
                           f"The request body must be a JSON object with a {name!r} object")
    return value


class Fields:
    """Typed reads of one object's attributes; every problem goes to one RecordInvalid."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors = RecordInvalid()

    def _label(self, name: str) -> str:
        return name.replace("_", " ").capitalize()

    def string(self, name: str, *, max_length: int = 65_535, nullable: bool = True) -> Any:
        value = self.data.get(name, MISSING)
        if value is MISSING or (value is None and nullable):
            return value
        if not isinstance(value, str):
            self.errors.add(name, f"{self._label(name)}: is invalid (expected a string)")
            return MISSING
        if len(value) > max_length:
            self.errors.add(name, f"{self._label(name)}: is too long (maximum is {max_length} characters)", "TooLong")
            return MISSING
        return value

    def choice(self, name: str, choices: tuple[str, ...], *, nullable: bool = True) -> Any:
        value = self.data.get(name, MISSING)
        if value is MISSING or (value is None and nullable):
            return value
        if not isinstance(value, str) or value.lower() not in choices:
            self.errors.add(name, f"{self._label(name)}: {value!r} is not valid (one of {', '.join(choices)})")
            return MISSING
        return value.lower()

    def integer(self, name: str, *, nullable: bool = True) -> Any:
        value = self.data.get(name, MISSING)
        if value is MISSING or (value is None and nullable):
            return value
        if isinstance(value, str) and digits(value):
            value = int(value)
        # An id past SQLite's 64 bits names nothing, and binding it would overflow.
        if isinstance(value, bool) or not isinstance(value, int) or not fits_sqlite(value):
            self.errors.add(name, f"{self._label(name)}: is invalid (expected an integer id)")
            return MISSING
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name, MISSING)
        if value is MISSING or value is None:
            return default
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            self.errors.add(name, f"{self._label(name)}: is invalid (expected true or false)")
            return default
        return value

    def tags(self, name: str = "tags") -> Any:
        value = self.data.get(name, MISSING)
        if value is MISSING:
            return value
        tags = normalize_tags(value)
        if tags is None:
            self.errors.add(name, f"{self._label(name)}: is invalid (expected a list of strings)")
            return MISSING
        return tags

    def done(self) -> None:
        self.errors.raise_if_any()


def normalize_tags(value: Any) -> list[str] | None:
    """Zendesk's tags: lower case, no spaces (a space separates two tags), each once, in order."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    tags: list[str] = []
    for item in value:
        for tag in item.replace(",", " ").split():
            tag = tag.lower()
            if tag not in tags:
                tags.append(tag)
    return tags
