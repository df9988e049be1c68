"""Schema drift in JSON responses: the API answers, but not quite in the shape the agent expects.

Operations (a `drift` action's `ops`, applied in order):

    rename:    {field: email, to: email_address}    the key is renamed
    hide:      email                                the key is gone
    add:       {risk_score: 0.7}                    a new key appears
    retype:    {field: amount, to: string}          the value changes type (string, number, integer,
                                                    boolean, null, list, object)
    page_size: 2                                    lists are cut to 2 items (`has_more` turns true)
    reorder:   reverse | shuffle                    lists come back in another order (seeded)

Where: a plain name (`email`) means that key at any depth. A dotted path starts at the root and
may step into every item of a list or every value of a mapping with `*` or a trailing `[]`:
`data[].customer.email`, `tickets.*.subject`. `add` puts its keys at the root object and in each
object of the root's lists (the page of a list answer). `page_size` and `reorder` act on the
root's lists (`data`, `tickets`, `messages`, or a bare JSON array).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

Json = Any


def apply(ops: tuple[dict[str, Any], ...], data: Json, draw: Callable[[str], float]) -> tuple[Json, list[str]]:
    """Apply `ops` to the parsed body `data`; returns the new body and what changed, in words."""
    changes: list[str] = []
    for op in ops:
        (name, arg), = op.items()
        data, done = _OPS[name](data, arg, draw)
        changes += done
    return data, changes


def apply_to_body(ops: tuple[dict[str, Any], ...], body: bytes, draw: Callable[[str], float]
                  ) -> tuple[bytes, list[str]] | None:
    """The drifted body, or None if `body` is not JSON (drift leaves non-JSON answers alone)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    data, changes = apply(ops, data, draw)
    return json.dumps(data).encode(), changes


# -- where a field is ----------------------------------------------------------------------------


def _walk(data: Json) -> Iterator[dict[str, Any]]:
    """Every mapping in `data`, depth first."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))


def _slots(data: Json, field: str) -> list[tuple[dict[str, Any], str]]:
    """(mapping, key) pairs that `field` names in `data` (see the module doc)."""
    if "." not in field and not field.endswith("[]"):
        return [(node, field) for node in _walk(data) if field in node]
    *steps, last = _split(field)
    nodes = [data]
    for step in steps:
        nodes = [child for node in nodes for child in _step(node, step)]
    return [(node, last) for node in nodes if isinstance(node, dict) and last in node]


def _split(path: str) -> list[str]:
    steps = []
    for part in path.split("."):
        if part.endswith("[]"):
            steps += [part[:-2], "*"] if part[:-2] else ["*"]
        else:
            steps.append(part)
    return steps


def _step(node: Json, step: str) -> list[Json]:
    if step == "*":
        if isinstance(node, list):
            return list(node)
        return list(node.values()) if isinstance(node, dict) else []
    return [node[step]] if isinstance(node, dict) and step in node else []


def _root_lists(data: Json) -> list[tuple[Any, Any]]:
    """(container, key) of each list at the root: a bare array, or the list values of the root."""
    if isinstance(data, list):
        return [(None, None)]
    if isinstance(data, dict):
        return [(data, k) for k, v in data.items() if isinstance(v, list)]
    return []


# -- the operations --------------------------------------------------------------------------------


def _rename(data: Json, arg: dict[str, str], draw) -> tuple[Json, list[str]]:
    slots = _slots(data, arg["field"])
    for node, key in slots:
        node[arg["to"]] = node.pop(key)
    return data, [f"renamed {arg['field']} to {arg['to']} ({len(slots)}x)"] if slots else []


def _hide(data: Json, field: str, draw) -> tuple[Json, list[str]]:
    slots = _slots(data, field)
    for node, key in slots:
        node.pop(key, None)
    return data, [f"hid {field} ({len(slots)}x)"] if slots else []


def _add(data: Json, fields: dict[str, Any], draw) -> tuple[Json, list[str]]:
    targets = [data] if isinstance(data, dict) else []
    for container, key in _root_lists(data):
        items = data if container is None else container[key]
        targets += [item for item in items if isinstance(item, dict)]
    for node in targets:
        node.update(fields)
    return data, [f"added {', '.join(fields)} ({len(targets)}x)"] if targets else []


def _retype(data: Json, arg: dict[str, str], draw) -> tuple[Json, list[str]]:
    slots = _slots(data, arg["field"])
    for node, key in slots:
        node[key] = _convert(node[key], arg["to"])
    return data, [f"retyped {arg['field']} to {arg['to']} ({len(slots)}x)"] if slots else []


def _convert(value: Any, to: str) -> Any:
    if to == "string":
        return value if isinstance(value, str) else json.dumps(value)
    if to in ("number", "integer"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return 0
        return int(number) if to == "integer" else number + 0.0
    if to == "boolean":
        return bool(value)
    if to == "null":
        return None
    if to == "list":
        return value if isinstance(value, list) else [value]
    return value if isinstance(value, dict) else {"value": value}


def _page_size(data: Json, size: int, draw) -> tuple[Json, list[str]]:
    changes = []
    for container, key in _root_lists(data):
        items = data if container is None else container[key]
        if len(items) > size:
            changes.append(f"cut {key or 'the list'} from {len(items)} to {size} items")
            if container is None:
                data = items[:size]
            else:
                container[key] = items[:size]
                if "has_more" in container:
                    container["has_more"] = True
    return data, changes


def _reorder(data: Json, how: str, draw) -> tuple[Json, list[str]]:
    changes = []
    for container, key in _root_lists(data):
        items = list(data if container is None else container[key])
        if len(items) < 2:
            continue
        if how == "reverse":
            items.reverse()
        else:  # a seeded Fisher-Yates: the same firing shuffles the same way
            for i in range(len(items) - 1, 0, -1):
                j = int(draw(f"shuffle-{key}-{i}") * (i + 1))
                items[i], items[j] = items[j], items[i]
        if container is None:
            data = items
        else:
            container[key] = items
        changes.append(f"{'reversed' if how == 'reverse' else 'shuffled'} {key or 'the list'}")
    return data, changes


_OPS = {"rename": _rename, "hide": _hide, "add": _add, "retype": _retype, "page_size": _page_size,
        "reorder": _reorder}
