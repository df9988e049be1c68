"""Stripe's Search API: `GET /v1/<resource>/search?query=...` over customers, charges, intents.

The query language, as Stripe documents it: clauses `field:value` (exact, case-insensitive),
`field~value` (substring, at least 3 characters), `field>n` / `>=` / `<` / `<=` (numbers),
`metadata['key']:value`, `-field:value` (negation), `field:null`; joined by spaces or `AND`,
or by `OR`, but not both in one query; at most 10 clauses. Results are newest first and paged
with an opaque `page` token (`next_page`).

The sandbox's worlds are small (hundreds of rows), so matching runs in Python over every row.
"""

from __future__ import annotations

import base64
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import g

from services.payments import objects
from services.payments.errors import StripeError, parameter_missing
from services.payments.forms import Params
from services.payments.store import load

SEARCH_PARAMS = ("query", "limit", "page")
MAX_CLAUSES = 10
_CLAUSE = re.compile(
    r"""(?P<neg>-)?(?P<field>metadata\[(?:'[^']*'|"[^"]*")\]|[a-z_]+(?:\.[a-z_0-9]+)*)\s*"""
    r"""(?P<op>:|~|>=|<=|>|<)\s*(?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s'"]+)"""
)
_JOIN = re.compile(r"\s+(?:(AND|OR)\s+)?", re.IGNORECASE)

# resource -> field -> how to read it from a row (metadata is always searchable)
Fields = dict[str, Callable[[sqlite3.Row], Any]]
FIELDS: dict[str, Fields] = {
    "customer": {
        "created": lambda r: r["created"],
        "email": lambda r: r["email"],
        "name": lambda r: r["name"],
        "phone": lambda r: r["phone"],
    },
    "charge": {
        "amount": lambda r: r["amount"],
        "created": lambda r: r["created"],
        "currency": lambda r: r["currency"],
        "customer": lambda r: r["customer"],
        "payment_method_details.card.last4": lambda r: load(r["card"])["last4"],
        "refunded": lambda r: "true" if r["refunded"] else "false",
        "status": lambda r: r["status"],
    },
    "payment_intent": {
        "amount": lambda r: r["amount"],
        "created": lambda r: r["created"],
        "currency": lambda r: r["currency"],
        "customer": lambda r: r["customer"],
        "status": lambda r: r["status"],
    },
}
# The fields >, >=, < and <= compare (metadata values are strings that may hold numbers).
NUMERIC_FIELDS = ("amount", "created")
RESOURCE_NAMES = {"customer": "customers", "charge": "charges", "payment_intent": "payment_intents"}


@dataclass(frozen=True)
class Clause:
    field: str
    op: str
    value: str | None  # None: the literal `null`
    negated: bool
    metadata_key: str | None


def _unquote(text: str) -> str | None:
    if text[0] in "'\"":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return None if text == "null" else text


def parse(kind: str, query: str) -> tuple[list[Clause], str]:
    """The clauses of `query` and how they join ("AND" or "OR")."""
    clauses: list[Clause] = []
    joins: set[str] = set()
    pos, text = 0, query.strip()
    while True:
        match = _CLAUSE.match(text, pos)
        if match is None:
            raise _invalid(f"could not parse the query at position {pos}: '{text[pos : pos + 20]}'")
        field = match["field"]
        metadata_key = _unquote(field[len("metadata[") : -1]) if field.startswith("metadata[") else None
        if metadata_key is None and field not in FIELDS[kind]:
            name = RESOURCE_NAMES[kind]
            raise _invalid(
                f"Field '{field}' is an unsupported search field for resource {name}. See"
                f" https://stripe.com/docs/search#query-fields-for-{name.replace('_', '-')} for a list of"
                " supported fields.",
                raw=True,
            )
        clause = Clause(field, match["op"], _unquote(match["value"]), bool(match["neg"]), metadata_key)
        if clause.op == "~" and (clause.value is None or len(clause.value) < 3):
            raise _invalid("a substring match (~) needs a value of at least 3 characters")
        if clause.op in (">", ">=", "<", "<=") and not _is_number(clause.value):
            raise _invalid(f"the {clause.op} operator needs a number, got {match['value']}")
        if clause.op in (">", ">=", "<", "<=") and metadata_key is None and field not in NUMERIC_FIELDS:
            raise _invalid(f"the {clause.op} operator compares numbers, and '{field}' is not a numeric field"
                           f" (use it on {' or '.join(NUMERIC_FIELDS)}, or use ':' or '~')")
        clauses.append(clause)
        pos = match.end()
        if pos >= len(text):
            break
        join = _JOIN.match(text, pos)
        if join is None:
            raise _invalid(f"expected AND or OR at position {pos}")
        joins.add((join.group(1) or "AND").upper())
        pos = join.end()
    if len(joins) > 1:
        raise _invalid("a query can use AND or OR, but not both")
    if len(clauses) > MAX_CLAUSES:
        raise _invalid(f"a query can have at most {MAX_CLAUSES} clauses")
    return clauses, joins.pop() if joins else "AND"


def _invalid(message: str, raw: bool = False) -> StripeError:
    return StripeError(message if raw else f"Invalid search query: {message}.", param="query")


def _is_number(value: str | None) -> bool:
    # ASCII digits, and few enough for any real amount or time (`\d` would take "١", and `int()`
    # refuses more than 4,300 digits).
    return value is not None and re.fullmatch(r"-?[0-9]{1,19}", value) is not None


def _number(actual: Any) -> int | None:
    """A field's value as a number to compare; None for a metadata value that is not one (no match)."""
    if isinstance(actual, int):
        return actual
    text = str(actual).strip()
    return int(text) if re.fullmatch(r"-?[0-9]{1,4000}", text) else None  # int() stops at 4,300 digits


def _matches(kind: str, row: sqlite3.Row, clause: Clause) -> bool:
    if clause.metadata_key is not None:
        actual = load(row["metadata"]).get(clause.metadata_key)
    else:
        actual = FIELDS[kind][clause.field](row)
    if clause.value is None:
        result = actual is None
    elif actual is None:
        result = False
    elif clause.op == ":":
        result = str(actual).lower() == clause.value.lower()
    elif clause.op == "~":
        result = clause.value.lower() in str(actual).lower()
    else:
        number, bound = _number(actual), int(clause.value)
        result = number is not None and {
            ">": number > bound, ">=": number >= bound, "<": number < bound, "<=": number <= bound
        }[clause.op]
    return result != clause.negated


def search_page(kind: str, url: str, params: Params, *, where: str = "") -> dict[str, Any]:
    table, render = objects.RENDER[kind]
    query = params.string("query", max_length=10_000)
    if not query:
        raise parameter_missing("query")
    with_total = "total_count" in params.expand()
    expand = [p.removeprefix("data.") for p in params.expand() if p != "total_count"]
    bad = next((p for p in params.expand() if p != "total_count" and not p.startswith("data.")), None)
    if bad:
        raise StripeError(f"This property cannot be expanded ({bad}).", param="expand")
    objects.check_expand(kind, expand, prefix="data.")
    limit = params.integer("limit", minimum=1, maximum=100) or 10
    offset = _offset(params.string("page", max_length=200))
    clauses, join = parse(kind, query)
    test = all if join == "AND" else any
    sql = f"SELECT * FROM {table}" + (f" WHERE {where}" if where else "") + " ORDER BY created DESC, id DESC"
    found = [row for row in g.db.execute(sql) if test(_matches(kind, row, c) for c in clauses)]
    page = found[offset : offset + limit]
    has_more = offset + limit < len(found)
    result: dict[str, Any] = {
        "object": "search_result",
        "data": [render(r, expand) for r in page],
        "has_more": has_more,
        "next_page": _token(offset + limit) if has_more else None,
        "url": url,
    }
    if with_total:
        result["total_count"] = len(found)
    return result


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix == "offset" and number.isdigit():
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise StripeError(f"Invalid page token: '{token}'. Use the next_page value of a search result.", param="page")
