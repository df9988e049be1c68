"""Match operators: for JSON-list columns and text agents write in their own words."""

from __future__ import annotations

import pytest
import yaml

from sandbox.errors import TaskError
from sandbox.tasks import load_task
from sandbox.tasks.matching import check_operator, row_matches, value_matches
from sandbox.tasks.registry import task_path


@pytest.mark.parametrize(
    ("actual", "wanted", "expected"),
    [
        ('["bug","customer-report"]', {"contains": "bug"}, True),
        ('["bugfix"]', {"contains": "bug"}, False),  # list membership, not a substring of the JSON
        ("We refunded order ORD-0710080.", {"contains": "ORD-0710080"}, True),
        ("We refunded it.", {"contains": "ORD-0710080"}, False),
        ("Could you tell us which order?", {"not_contains": "fingerprint"}, True),
        ("fingerprint 5L5D", {"not_contains": "fingerprint"}, False),
        ("pending", {"one_of": ["pending", "open"]}, True),
        ("solved", {"one_of": ["pending", "open"]}, False),
        ("Which order do you mean?", {"matches": "(?i)which (order|account)"}, True),
        (None, {"matches": "x"}, False),
        (7, 7, True),
        (7, "7", False),
    ],
)
def test_value_matches(actual, wanted, expected):
    assert value_matches(actual, wanted) is expected


def test_a_row_matches_only_when_every_column_does():
    row = {"id": 8, "labels": '["bug"]', "assignees": '["jbishop"]'}
    assert row_matches(row, {"id": 8, "labels": {"contains": "bug"}, "assignees": {"contains": "jbishop"}})
    assert not row_matches(row, {"id": 8, "labels": {"contains": "bug"}, "assignees": {"contains": "pbanks7"}})


@pytest.mark.parametrize(
    ("wanted", "problem"),
    [
        ({"contain": "x"}, "unknown match operator 'contain'"),
        ({"contains": "x", "one_of": ["y"]}, "a match operator is a mapping of one key"),
        ({"one_of": "pending"}, "one_of takes a list"),
        ({"matches": "(unclosed"}, "is not a regular expression"),
    ],
)
def test_bad_operators_are_explained(wanted, problem):
    assert problem in check_operator(wanted)


def test_a_task_with_a_bad_operator_names_the_file_and_the_place(tmp_path):
    doc = yaml.safe_load(task_path("triage-from-chat").read_text())
    doc["required"][0]["match"]["labels"] = {"contain": "bug"}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(TaskError) as caught:
        load_task(path)
    assert "bad.yaml" in str(caught.value) and "required[0].match.labels" in str(caught.value)
    assert "unknown match operator 'contain'" in str(caught.value)


def test_a_misspelled_column_is_an_error_not_a_silent_match(tmp_path):
    # Under not_contains, a column that does not exist would be "satisfied" by every row.
    doc = yaml.safe_load(task_path("double-charge-ticket").read_text())
    doc["required"][1]["match"]["bdy"] = {"not_contains": "fingerprint"}
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(TaskError) as caught:
        load_task(path)
    assert "required[1].match.bdy" in str(caught.value) and "helpdesk.comments has no column 'bdy'" in str(caught.value)
    assert "body" in caught.value.hint


def test_matches_reads_numbers_as_their_text():
    assert value_matches(1500, {"matches": "^15"}) and not value_matches(1500, {"matches": "^5"})
    assert value_matches("E7978", {"matches": 7978})  # a placeholder may substitute to a number
