"""How an effect's `match` compares with a changed row.

A plain value must equal the column. A mapping applies one operator, for columns that are not a
single value (a GitHub issue's labels are a JSON list) or text an agent writes in its own words:

    match:
      labels: {contains: bug}              # a JSON-list column holds "bug"; a text column contains it
      body: {contains: ORD-0710080}
      body: {not_contains: "fingerprint"}
      status: {one_of: [pending, open]}
      body: {matches: "(?i)which (order|account)"}   # a Python regular expression, searched

Rows in the ledger hold the fakes' columns as they are stored (lists as JSON text), so the
operators look inside JSON text where that is what a column holds.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

OPERATORS = ("contains", "not_contains", "one_of", "matches")


def value_matches(actual: Any, wanted: Any) -> bool:
    if not isinstance(wanted, dict):
        return actual == wanted
    (operator, operand), = wanted.items()
    if operator == "one_of":
        return actual in operand
    if operator == "matches":
        # Numbers are matched on their text, as they read in the ledger's reasons.
        text = actual if isinstance(actual, str) else None if actual is None else str(actual)
        return text is not None and _regex(str(operand)).search(text) is not None
    found = _contains(actual, operand)
    return found if operator == "contains" else not found


def row_matches(row: dict[str, Any], match: dict[str, Any]) -> bool:
    return all(value_matches(row.get(key), wanted) for key, wanted in match.items())


def check_operator(wanted: Any) -> str | None:
    """None when `wanted` is a usable match value, else what is wrong with it (for task errors)."""
    if not isinstance(wanted, dict):
        return None
    if len(wanted) != 1:
        return f"a match operator is a mapping of one key ({', '.join(OPERATORS)}), got {sorted(wanted)}"
    (operator, operand), = wanted.items()
    if operator not in OPERATORS:
        return f"unknown match operator {operator!r}; use one of {', '.join(OPERATORS)}"
    if operator == "one_of" and not isinstance(operand, list):
        return "one_of takes a list of values"
    if operator == "matches":
        try:
            _regex(str(operand))
        except re.error as exc:
            return f"matches: {operand!r} is not a regular expression ({exc})"
    return None


def _contains(actual: Any, item: Any) -> bool:
    if isinstance(actual, str):
        listed = _json_list(actual)
        if listed is not None:
            return item in listed
        return str(item) in actual
    if isinstance(actual, list):
        return item in actual
    return False


def _json_list(text: str) -> list[Any] | None:
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, list) else None


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
