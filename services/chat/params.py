"""A Web API method's arguments, read the ways Slack takes them and checked like Slack does.

Slack takes arguments in the query string (GET or POST), in a form body
(`application/x-www-form-urlencoded` or `multipart/form-data`), or in a JSON body
(`application/json; charset=utf-8`, token then only in the Authorization header). Unknown argument
names are ignored, as Slack ignores them. A required argument that is absent is `invalid_arguments`
("[ERROR] missing required field: channel"); one that is present but empty or names nothing gets
the method's own error (`channel_not_found`...), which is the caller's business (see `Args.string`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from flask import request

from services.chat.errors import SlackError, invalid_argument, missing_argument
from services.chat.wire import warn
from services.common.inputs import parse_json

MAX_FIELDS = 1000
_NAME = re.compile(r"^[A-Za-z0-9_]{1,100}$")
_CHARSETS = ("utf-8", "utf8", "iso-8859-1", "latin1", "latin-1")


def _pairs(raw: bytes, charset: str = "utf-8") -> list[tuple[str, str]]:
    if not raw:
        return []
    try:
        text = raw.decode(charset)
        return parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise SlackError("invalid_form_data") from None


def _body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    mimetype = request.mimetype
    charset = request.mimetype_params.get("charset")
    if charset is not None and charset.strip().lower() not in _CHARSETS:
        raise SlackError("invalid_charset")
    if mimetype == "application/json":
        if not charset:
            warn("missing_charset")
        if not raw.strip():
            return {}
        try:
            data = parse_json(raw.decode(charset or "utf-8"))
        except ValueError:  # not text in its charset, not JSON, or nested past the parser's limit
            raise SlackError("invalid_json") from None
        if not isinstance(data, dict):
            raise SlackError("json_not_object")
        return data
    if mimetype == "application/x-www-form-urlencoded":
        if charset:
            warn("superfluous_charset")
        return dict(_pairs(raw, "latin-1" if charset and charset.lower() != "utf-8" else "utf-8"))
    if mimetype == "multipart/form-data":
        return dict(request.form.items())
    if not raw.strip():
        return {}
    raise SlackError("missing_post_type" if not mimetype else "invalid_post_type")


def request_args() -> Args:
    """The current request's arguments: the query string, then a POST's body (later wins)."""
    data: dict[str, Any] = dict(_pairs(request.query_string))
    if request.method == "POST":
        data.update(_body())
    for name in data:
        if "[" in name:
            raise SlackError("invalid_array_arg", messages=[f"[ERROR] array argument not allowed: {name[:100]}"])
        if not _NAME.match(name):
            raise SlackError("invalid_arg_name", messages=[f"[ERROR] invalid argument name: {name[:100]}"])
    data.pop("token", None)
    return Args(data)


class Args:
    """Typed access to a method's arguments with Slack's errors. Form values are strings; a JSON
    body may carry numbers, booleans and arrays, which the accessors accept where Slack does."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def string(self, name: str, *, required: bool = False) -> str | None:
        """The value as a string (maybe empty), None when absent; absent and required fails."""
        value = self.data.get(name)
        if value is None:
            if required:
                raise missing_argument(name)
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise invalid_argument(name, "a string")
        return value if isinstance(value, str) else repr(value)

    def integer(self, name: str) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise invalid_argument(name, "an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,12}\s*", value):
            return int(value)
        raise invalid_argument(name, "an integer")

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes"):
            return True
        if text in ("0", "false", "no"):
            return False
        raise invalid_argument(name, "a boolean")

    def json_array(self, name: str, error: str) -> list[Any] | None:
        """`blocks` / `attachments`: a JSON array, as a JSON value or as a string of JSON (form).
        Anything else is the method's own error (`invalid_blocks`, `invalid_attachments`)."""
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = parse_json(value)
            except ValueError:
                raise SlackError(error, messages=[f"[ERROR] {name} must be a JSON array"]) from None
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise SlackError(error, messages=[f"[ERROR] {name} must be an array of objects"])
        return value
