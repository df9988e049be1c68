"""Stripe's request parameters: form-encoded nested keys, read and checked like Stripe does.

Stripe's v1 API takes `application/x-www-form-urlencoded` bodies (and query strings) whose keys
nest with brackets: `metadata[order_id]=x`, `expand[]=a`, `items[0][price]=p`. `request_params()`
turns them into nested dicts (lists stay dicts keyed "0", "1"...: a metadata key may be "0" too,
so only an accessor that expects a list makes one). `Params` then reads typed values and fails
with Stripe's own error codes and messages.

An empty value means "unset": `description=` sets null, `metadata[k]=` deletes key k and
`metadata=` clears all metadata. Accessors return `MISSING` when a parameter is absent, `None`
when it is being unset (or fail with `parameter_invalid_empty` where it cannot be unset).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any
from urllib.parse import parse_qsl

from flask import request

from services.payments.errors import StripeError, malformed_body, parameter_missing, unknown_parameter

MAX_FIELDS = 2000  # more pairs than any real Stripe call sends; bounds parsing work
MAX_METADATA_KEYS = 50
MAX_DEPTH = 8  # Stripe's deepest parameters nest about five levels
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def request_params() -> dict[str, Any]:
    """The current request's parameters, nested: the query string, then a POST's form body."""
    pairs = _pairs(request.query_string, "query string")
    if request.method == "POST":
        body = request.get_data(cache=True)
        mimetype = request.mimetype
        if mimetype == "multipart/form-data":
            pairs += list(request.form.items(multi=True))
        elif body.strip() and mimetype not in ("", "application/x-www-form-urlencoded"):
            # Stripe's v1 API takes no JSON: answer as Stripe does when a client sends it.
            raise malformed_body()
        else:
            pairs += _pairs(body, "body")
    return nest(pairs)


def _pairs(raw: bytes, where: str) -> list[tuple[str, str]]:
    if not raw:
        return []
    try:
        text = raw.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise malformed_body() from None
    except ValueError:
        raise StripeError(f"Too many parameters in the request {where} (at most {MAX_FIELDS}).") from None


def nest(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """`[("a[b][]", "1"), ("a[b][]", "2")]` -> `{"a": {"b": {"0": "1", "1": "2"}}}`. A repeated
    plain key keeps its last value, as Stripe does."""
    root: dict[str, Any] = {}
    appended: dict[tuple[str, ...], int] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        parts = [match.group(1), *_SEGMENT.findall(match.group(2))] if match else [key]
        if len(parts) > MAX_DEPTH:
            raise StripeError(f"Invalid parameter {parts[0]}: nested more than {MAX_DEPTH} levels.", param=parts[0])
        node, path = root, ()
        for depth, part in enumerate(parts):
            if part == "":  # `name[]`: the next index of this array
                part = str(appended.get(path, 0))
                appended[path] = int(part) + 1
            name = _display(path + (part,))
            if depth == len(parts) - 1:
                if isinstance(node.get(part), dict):
                    raise StripeError(f"Invalid {name}: it is given both as a value and as a hash.", param=name)
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise StripeError(f"Invalid {name}: it is given both as a value and as a hash.", param=name)
                node = child
            path = path + (part,)
    return root


def _display(path: tuple[str, ...]) -> str:
    return path[0] + "".join(f"[{p}]" for p in path[1:])


def _choices(values: Collection[str]) -> str:
    values = list(values)
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + f", or {values[-1]}"


class Params:
    """Typed, Stripe-checked access to a request's parameters. Construct with the names the
    endpoint takes: any other top-level name fails at once with `parameter_unknown`."""

    def __init__(self, data: dict[str, Any], allowed: Iterable[str]) -> None:
        allowed = set(allowed) | {"expand"}
        for key in data:
            if key not in allowed:
                raise unknown_parameter(key)
        self.data = data

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def _scalar(self, name: str, required: bool, kind: str, nullable: bool = True) -> Any:
        value = self.data.get(name, MISSING)
        if value is MISSING:
            if required:
                raise parameter_missing(name)
            return MISSING
        if isinstance(value, dict):
            raise StripeError(f"Invalid {kind}: {name} must be a {kind}, not a hash.", param=name)
        if value == "":
            if required or not nullable:
                raise StripeError(
                    f"You passed an empty string for '{name}'. We assume empty values are an attempt to unset a"
                    f" parameter; however '{name}' cannot be unset. You should remove '{name}' from your request"
                    " or supply a non-empty value.",
                    code="parameter_invalid_empty",
                    param=name,
                )
            return None
        return value

    def string(
        self,
        name: str,
        *,
        required: bool = False,
        nullable: bool = True,
        max_length: int = 5000,
        choices: Collection[str] | None = None,
    ) -> Any:
        value = self._scalar(name, required, "string", nullable)
        if not value:
            return value
        if len(value) > max_length:
            raise StripeError(f"Invalid string: {value[:20]}...; must be at most {max_length} characters", param=name)
        if choices is not None and value not in choices:
            raise StripeError(f"Invalid {name}: must be one of {_choices(choices)}", param=name)
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        nullable: bool = True,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> Any:
        value = self._scalar(name, required, "integer", nullable)
        if not value:
            return value
        if not re.fullmatch(r"-?\d{1,18}", value):
            raise StripeError(f"Invalid integer: {value}", code="parameter_invalid_integer", param=name)
        number = int(value)
        if minimum is not None and number < minimum:
            raise StripeError(f"This value must be greater than or equal to {minimum}.", param=name)
        if maximum is not None and number > maximum:
            raise StripeError(f"This value must be less than or equal to {maximum}.", param=name)
        return number

    def boolean(self, name: str) -> Any:
        value = self._scalar(name, False, "boolean")
        if not value:
            return value
        if value not in ("true", "false"):
            raise StripeError(f"Invalid boolean: {value}", param=name)
        return value == "true"

    def hash(self, name: str, fields: Collection[str], *, data: Any = MISSING) -> Any:
        """A hash of string fields such as `address`: unknown sub-keys fail like unknown params."""
        value = self.data.get(name, MISSING) if data is MISSING else data
        if value is MISSING or value == "":
            return None if value == "" else MISSING
        if not isinstance(value, dict):
            raise StripeError(f"Invalid object: {name} must be a hash.", param=name)
        out = {}
        for key, item in value.items():
            if key not in fields:
                raise unknown_parameter(f"{name}[{key}]")
            if isinstance(item, dict):
                raise StripeError(f"Invalid string: {name}[{key}] must be a string.", param=f"{name}[{key}]")
            out[key] = item or None
        return out

    def metadata(self) -> Any:
        """Changes to metadata: {key: value, or None to delete}; None clears it all."""
        value = self.data.get("metadata", MISSING)
        if value is MISSING or value == "":
            return None if value == "" else MISSING
        if not isinstance(value, dict):
            raise StripeError("Invalid metadata: metadata must be a set of key-value pairs", param="metadata")
        if len(value) > MAX_METADATA_KEYS:
            raise StripeError(f"Invalid metadata: metadata can have at most {MAX_METADATA_KEYS} keys", param="metadata")
        for key, item in value.items():
            param = f"metadata[{key}]"
            if len(key) > 40:
                raise StripeError("Metadata keys can have a maximum length of 40 characters.", param=param)
            if not isinstance(item, str):
                raise StripeError(f"Invalid string: {param} must be a string.", param=param)
            if len(item) > 500:
                raise StripeError("Metadata values can have a maximum length of 500 characters.", param=param)
        return {key: (item or None) for key, item in value.items()}

    def string_list(self, name: str) -> Any:
        value = self.data.get(name, MISSING)
        if value is MISSING:
            return MISSING
        if value == "":
            return []
        # ASCII indexes only: "²".isdigit() is true, and int("²") fails.
        if not isinstance(value, dict) or not all(re.fullmatch(r"[0-9]{1,6}", k) for k in value):
            raise StripeError(f"Invalid array: {name} must be an array.", param=name)
        items = [value[k] for k in sorted(value, key=int)]
        if any(isinstance(item, dict) for item in items):
            raise StripeError(f"Invalid array: {name} must be an array of strings.", param=name)
        return items

    def expand(self) -> list[str]:
        return self.string_list("expand") or []


def merge_metadata(current: dict[str, str], change: Any) -> dict[str, str]:
    """Stripe's metadata update: keys merge, a None value deletes, None as a whole clears."""
    if change is MISSING:
        return current
    if change is None:
        return {}
    merged = {**current, **change}
    return {k: v for k, v in merged.items() if v is not None}
