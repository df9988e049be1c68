"""Schema drift on JSON bodies: each operation, field paths, and leaving non-JSON alone."""

from __future__ import annotations

import copy
import json

from sandbox.faults.drift import apply, apply_to_body

PAGE = {
    "object": "list",
    "has_more": False,
    "data": [
        {"id": "cus_1", "email": "a@x.io", "amount": 100, "address": {"email": "inner@x.io"}},
        {"id": "cus_2", "email": "b@x.io", "amount": 250, "address": None},
        {"id": "cus_3", "email": "c@x.io", "amount": 75, "address": None},
    ],
}


def run(*ops, data=PAGE, draw=lambda salt: 0.5):
    return apply(tuple(ops), copy.deepcopy(data), draw)


def test_rename_anywhere_or_by_path():
    out, changes = run({"rename": {"field": "email", "to": "email_address"}})
    assert [c.get("email_address") for c in out["data"]] == ["a@x.io", "b@x.io", "c@x.io"]
    assert out["data"][0]["address"] == {"email_address": "inner@x.io"}
    assert changes == ["renamed email to email_address (4x)"]
    out, _ = run({"rename": {"field": "data[].email", "to": "mail"}})
    assert out["data"][0]["address"] == {"email": "inner@x.io"} and out["data"][0]["mail"] == "a@x.io"


def test_hide_add_and_retype():
    out, _ = run({"hide": "data.*.amount"}, {"add": {"risk": "high"}}, {"retype": {"field": "id", "to": "integer"}})
    assert all("amount" not in c and c["risk"] == "high" for c in out["data"])
    assert out["risk"] == "high"  # the root too
    assert [c["id"] for c in out["data"]] == [0, 0, 0]  # "cus_1" is no number
    out, changes = run({"retype": {"field": "amount", "to": "string"}})
    assert [c["amount"] for c in out["data"]] == ["100", "250", "75"]
    assert changes == ["retyped amount to string (3x)"]


def test_smaller_pages_and_reordered_lists():
    out, changes = run({"page_size": 2})
    assert [c["id"] for c in out["data"]] == ["cus_1", "cus_2"] and out["has_more"] is True
    assert changes == ["cut data from 3 to 2 items"]
    out, _ = run({"reorder": "reverse"})
    assert [c["id"] for c in out["data"]] == ["cus_3", "cus_2", "cus_1"]
    draws = iter([0.0, 0.0])
    out, _ = run({"reorder": "shuffle"}, draw=lambda salt: next(draws))
    assert [c["id"] for c in out["data"]] == ["cus_2", "cus_3", "cus_1"]
    bare, _ = run({"page_size": 1}, data=[1, 2, 3])
    assert bare == [1]


def test_a_missing_field_changes_nothing_and_non_json_is_left_alone():
    out, changes = run({"hide": "nothing_here"})
    assert out == PAGE and changes == []
    assert apply_to_body(({"hide": "id"},), b"<html>not json</html>", lambda s: 0.0) is None
    body, changes = apply_to_body(({"hide": "id"},), json.dumps({"id": 1, "x": 2}).encode(), lambda s: 0.0)
    assert json.loads(body) == {"x": 2} and changes == ["hid id (1x)"]
