import textwrap

import pytest

from sandbox.errors import TaskError
from sandbox.tasks import load_task
from sandbox.tasks.model import parse_task
from sandbox.world import world

TABLES = {"payments": {"customers", "charges", "refunds"}}


def _task(**overrides):
    doc = {
        "id": "t1",
        "seed": 7,
        "services": ["payments"],
        "instruction": "Refund ${double_charge.duplicate_charge}",
        "required": [{"service": "payments", "table": "refunds", "op": "insert",
                      "match": {"charge": "${double_charge.duplicate_charge}", "amount": "${double_charge.amount}"}}],
    }
    doc.update(overrides)
    return doc


def parse(doc):
    return parse_task(doc, "t1.yaml", facts=world(7).facts, tables=TABLES)


def test_facts_are_substituted_and_keep_their_type():
    task = parse(_task())
    fact = world(7).facts["double_charge"]
    assert task.instruction == f"Refund {fact['duplicate_charge']}"
    assert task.required[0].match == {"charge": fact["duplicate_charge"], "amount": fact["amount"]}
    assert isinstance(task.required[0].match["amount"], int)
    assert task.required[0].at_least == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"id": None}, "id: expected a non-empty string"),
        ({"seed": "seven"}, "seed: expected an integer"),
        ({"services": ["paymnts"]}, "did you mean 'payments'"),
        ({"colour": "red"}, "colour: unknown field"),
        ({"required": []}, "at least one required effect"),
        ({"required": [{"service": "payments", "table": "refund"}]}, "(?s)no table 'refund'.*did you mean 'refunds'"),
        ({"required": [{"service": "payments", "table": "refunds", "op": "upsert"}]}, r"required\[0\].op"),
        ({"required": [{"service": "helpdesk", "table": "tickets"}]}, "not one of the task's services"),
        ({"instruction": "${double_charge.nope}"}, "unknown fact"),
        ({"limits": {"calls": 0}}, "limits.calls"),
    ],
)
def test_bad_tasks_name_the_place_and_the_fix(overrides, message):
    with pytest.raises(TaskError, match=message) as info:
        parse(_task(**overrides))
    assert "t1.yaml" in str(info.value)


def test_unknown_task_id_suggests_the_closest():
    with pytest.raises(TaskError, match="did you mean 'refund-duplicate-charge'"):
        load_task("refund-duplicate-charg")


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(textwrap.dedent("""\
        id: broken
        seed: 7
        required: [ {service: payments
        """))
    with pytest.raises(TaskError, match=r"broken.yaml: line \d+, column \d+: malformed YAML"):
        load_task(path)


def test_missing_task_file(tmp_path):
    with pytest.raises(TaskError, match="no task file"):
        load_task(tmp_path / "nope.yaml")


def test_library_task_round_trips_through_its_spec():
    from sandbox.tasks.model import Task

    task = load_task("refund-duplicate-charge")
    assert Task.from_spec(task.to_spec()) == task
