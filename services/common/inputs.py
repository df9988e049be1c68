"""Reading hostile input safely: the checks every fake needs before a value reaches SQLite or Python's
parsers. The agent under test may send anything; each helper here turns what would be a 500 (an
OverflowError, a RecursionError, a ValueError from a decoder) into a plain "this is malformed"
that the fake answers with its vendor's own 4xx.

- `SQLITE_MAX`, `sqlite_int`, `digits`: SQLite integers are 64-bit; Python's are not, and `str.isdigit`
  is true for "²" and "١", which `int()` refuses or reads as another number.
- `SqliteIntConverter`: the `<int:...>` route converter, bounded, so `/tickets/<30 digits>` is an
  unknown route (the vendor's 404) rather than an OverflowError deep in a handler.
- `parse_json`: `json.loads` that fails with ValueError for every malformed body, 50,000-deep ones too.
- `decode_basic`: a Basic header's "user:secret", or None for anything that is not one.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

SQLITE_MAX = 2**63 - 1
SQLITE_MIN = -(2**63)
_DIGITS = re.compile(r"[0-9]{1,19}")
_SIGNED = re.compile(r"-?[0-9]{1,19}")


def fits_sqlite(value: int) -> bool:
    """Can SQLite store `value` as an INTEGER? (Binding one that it cannot raises OverflowError.)"""
    return SQLITE_MIN <= value <= SQLITE_MAX


def digits(text: str) -> bool:
    """ASCII digits that make an integer SQLite can store: "42" yes; "²", "١", "-1", 30 digits no."""
    return _DIGITS.fullmatch(text) is not None and int(text) <= SQLITE_MAX


def sqlite_int(text: str, *, signed: bool = False) -> int | None:
    """`text` as an integer SQLite can store, or None when it is not one (callers answer their 4xx)."""
    if (_SIGNED if signed else _DIGITS).fullmatch(text.strip()) is None:
        return None
    value = int(text)
    return value if fits_sqlite(value) else None


class SqliteIntConverter(IntegerConverter):
    """`<int:...>` bounded to SQLite's integers: a larger id matches no route, so the request gets
    the vendor's unknown-route 404 instead of overflowing when the handler binds it."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", SQLITE_MAX)
        super().__init__(map, *args, **kwargs)


def bound_int_routes(app: Flask) -> None:
    """Install the bounded `int` converter; call before registering any blueprint."""
    app.url_map.converters["int"] = SqliteIntConverter


def parse_json(raw: bytes | str) -> Any:
    """`json.loads`, with every kind of malformed input a ValueError: invalid UTF-8, numbers past
    Python's 4,300-digit limit, and nesting deeper than the parser's recursion limit (a
    RecursionError otherwise, which no caller expects from bad input)."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"JSON is not valid UTF-8: {error}") from None


def decode_basic(credentials: str) -> str | None:
    """`Basic <base64 of user:secret>` -> "user:secret"; None when `credentials` is not valid base64
    of UTF-8 text. Headers arrive as latin-1, so any character can be there, and `b64decode` raises
    ValueError (not binascii.Error) for one outside ASCII."""
    try:
        return base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError too
        return None
