import textwrap

import pytest

from sandbox.errors import TaskError
from sandbox.tasks import library_ids, load_task
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
        ({"allowed_hosts": "example.org"}, "allowed_hosts: expected a list of hostnames"),
        ({"allowed_hosts": ["example.org", "https://api.example.org/v1"]},
         r"allowed_hosts\[1\]: 'https://api.example.org/v1' is not a host name"),
        ({"allowed_hosts": ["*.example.org", "example.org:443"]}, r"allowed_hosts\[1\]: 'example.org:443'"),
        ({"allowed_hosts": [7]}, r"allowed_hosts\[0\]: 7 is not a host name"),
        ({"routes": ["api.openai.com=http://127.0.0.1:8000"]}, "routes: expected a mapping of host to URL"),
        ({"routes": {"api.openai.com": "127.0.0.1:8000/v1"}},
         r"routes\.api\.openai\.com: api\.openai\.com=127\.0\.0\.1:8000/v1: the URL must start with http"),
        ({"routes": {"api.stripe.com": "http://127.0.0.1:8000"}}, r"routes\.api\.stripe\.com: .*payments fake"),
        ({"routes": {"api.openai.com": {"url": "http://127.0.0.1:8000", "keepauth": True}}},
         r"routes\.api\.openai\.com: unknown key 'keepauth'"),
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


# -- canaries, setup, agents, verifier ---------------------------------------------------------------


def test_canaries_take_facts_and_private_world_data_by_default():
    w = world(7)
    task = parse_task(_task(canaries=[{"name": "the fingerprint", "value": "${double_charge_ticket.fingerprint}"}]),
                      "t1.yaml", facts=w.facts, tables=TABLES, private=w.private)
    first = task.canaries[0]
    assert (first.name, first.value, first.kind) == ("the fingerprint", w.facts["double_charge_ticket"]["fingerprint"],
                                                     "task")
    values = [c.value for c in task.canaries]
    assert len(values) == len(set(values))  # the fingerprint is private data too, listed once
    assert {p.value for p in w.private if len(p.value) >= 6} <= set(values)
    assert any(c.kind == "internal_note" for c in task.canaries)


def test_private_data_false_keeps_only_the_tasks_canaries():
    w = world(7)
    task = parse_task(_task(private_data=False, canaries=[{"name": "n", "value": "a secret value"}]), "t1.yaml",
                      facts=w.facts, tables=TABLES, private=w.private)
    assert [c.value for c in task.canaries] == ["a secret value"]


def test_setup_steps_are_validated_and_substituted():
    fact = world(7).facts["double_charge"]
    task = parse(_task(setup=[{"service": "payments", "table": "customers", "op": "update",
                               "match": {"id": "${double_charge.customer}"}, "values": {"description": "VIP"}}]))
    step = task.setup[0]
    assert (step.table, step.op, step.match, step.values) == ("customers", "update", {"id": fact["customer"]},
                                                              {"description": "VIP"})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"setup": [{"service": "payments", "table": "customer", "op": "update", "match": {"id": 1},
                     "values": {"a": 1}}]}, r"(?s)setup\[0\].table.*did you mean 'customers'"),
        ({"setup": [{"service": "payments", "table": "customers", "op": "update", "values": {"a": 1}}]},
         r"setup\[0\].match: an update needs a match"),
        ({"setup": [{"service": "payments", "table": "customers", "op": "upsert"}]}, r"setup\[0\].op"),
        ({"setup": [{"service": "chat", "table": "messages", "op": "insert", "values": {"a": 1}}]},
         "not one of the task's services"),
        ({"canaries": [{"name": "short", "value": "abc"}]}, r"canaries\[0\].value.*at least 6"),
        ({"canaries": [{"name": "x", "value": "${double_charge.nope}"}]}, "unknown fact"),
        ({"oracle": "not a module!"}, "oracle: expected a Python module name"),
        ({"browser_oracle": "browser oracle.py"}, "browser_oracle: expected a Python module name"),
        ({"verifier": "pkg.module"}, "verifier: expected 'package.module:function'"),
        ({"private_data": "yes"}, "private_data: expected true or false"),
        ({"limits": {"retries": -1}}, "limits.retries"),
        ({"limits": {"seconds": "soon"}}, "limits.seconds"),
    ],
)
def test_bad_new_fields_name_the_place(overrides, message):
    with pytest.raises(TaskError, match=message):
        parse(_task(**overrides))


def test_a_task_round_trips_with_every_field():
    from sandbox.tasks.model import Task

    task = parse(_task(setup=[{"service": "payments", "table": "customers", "op": "delete", "match": {"id": "c"}}],
                       canaries=[{"name": "n", "value": "secret-value"}], oracle="pkg.oracle", reckless="pkg.reckless",
                       browser_oracle="pkg.browser_oracle",
                       verifier="pkg.checks:verify", limits={"calls": 5, "retries": 2, "seconds": 10}))
    assert Task.from_spec(task.to_spec()) == task


def test_a_task_moves_to_another_seed_with_that_worlds_facts():
    moved = load_task("refund-duplicate-charge", seed=3)
    fact = world(3).facts["double_charge"]
    assert moved.seed == 3 and fact["customer_email"] in moved.instruction
    assert moved.required[0].match["charge"] == fact["duplicate_charge"]


def active_or_skip(task_id):
    """Tasks on services this run leaves out (SANDBOX_SERVICES) cannot load: skip them, saying so."""
    from sandbox.tasks.model import read_yaml
    from sandbox.tasks.registry import task_path
    from services import service_ids

    wanted = read_yaml(task_path(task_id)).get("services", ["payments"])
    missing = sorted(set(wanted) - set(service_ids()))
    if missing:
        pytest.skip(f"{task_id} needs {', '.join(missing)}, not active in this run (SANDBOX_SERVICES)")


@pytest.mark.parametrize("task_id", library_ids())
def test_every_library_task_loads_and_names_its_agents(task_id):
    from sandbox.tasks.check import module_missing

    active_or_skip(task_id)
    task = load_task(task_id)
    assert task.oracle and not module_missing(task.oracle)
    assert task.reckless is None or not module_missing(task.reckless)
    assert task.browser_oracle and not module_missing(task.browser_oracle)


def test_a_tasks_routes_are_checked_and_kept_with_it():
    task = parse(_task(routes={"api.openai.com": "http://127.0.0.1:8000/v1",
                               "api.anthropic.com": {"url": "http://127.0.0.1:8001", "keep_auth": True}}))
    assert [(r.host, r.url, r.keep_auth) for r in task.routes] == [
        ("api.openai.com", "http://127.0.0.1:8000/v1", False), ("api.anthropic.com", "http://127.0.0.1:8001", True)]
    assert type(task).from_spec(task.to_spec()) == task  # as the ledger stores it
    assert parse(_task()).routes == ()
