"""Setup steps change the episode's world before the agent starts, in the ledger as setup."""

import pytest

from sandbox.errors import TaskError
from sandbox.run.runner import attach_task
from sandbox.scoring.score import score_ledger
from sandbox.tasks.model import parse_task
from sandbox.tasks.registry import service_tables
from sandbox.world import world
from services.common.db import open_service_db

FACT = world(7).facts["double_charge"]


def task_with(setup):
    doc = {
        "id": "setup-demo", "seed": 7, "services": ["payments"], "instruction": "do it",
        "required": [{"service": "payments", "table": "refunds", "op": "insert"}],
        "setup": setup,
    }
    return parse_task(doc, "setup-demo.yaml", facts=world(7).facts, tables=service_tables())


def test_setup_is_applied_recorded_as_setup_and_not_scored_as_the_agents(store):
    task = task_with([
        {"service": "payments", "table": "customers", "op": "update", "match": {"id": FACT["customer"]},
         "values": {"description": "VIP since 2019", "metadata": {"tier": "gold"}}},
        {"service": "payments", "table": "refunds", "op": "delete", "match": {"id": world(7).refunds[0].id}},
    ])
    episode = store.create(7, task=task.id)
    attach_task(store, episode, task)

    conn = open_service_db(store.home.service_db(episode.id, "payments"))
    row = conn.execute("SELECT description, metadata FROM customers WHERE id=?", (FACT["customer"],)).fetchone()
    conn.close()
    assert tuple(row) == ("VIP since 2019", '{"tier": "gold"}')
    with store.ledger(episode.id) as ledger:
        changes = ledger.state_changes()
        events = [e for e in ledger.events() if e["kind"] == "setup"]
        meta = ledger.meta()
    assert [(c["tbl"], c["op"], c["exchange_id"]) for c in changes] == [("customers", "update", None),
                                                                       ("refunds", "delete", None)]
    assert meta["setup_seq"] == {"payments": 2}
    assert [s["rows"] for s in events[0]["detail"]["steps"]] == [1, 1]
    score = score_ledger(store.home.ledger_path(episode.id))
    # Not collateral damage, not a required effect: the agent did nothing yet.
    assert score.details["setup_changes"] == 2 and score.details["collateral"] == []
    assert any(r.startswith("missing:") for r in score.reasons)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ([{"service": "payments", "table": "customers", "op": "update", "match": {"id": "cus_nobody"},
           "values": {"name": "x"}}], r"setup\[0\]: update matched no row"),
        ([{"service": "payments", "table": "customers", "op": "update", "match": {"id": FACT["customer"]},
           "values": {"nickname": "x"}}], "has no column 'nickname'"),
        ([{"service": "payments", "table": "customers", "op": "insert", "values": {"id": "cus_new"}}],
         "the database refused the insert"),
    ],
)
def test_bad_setup_fails_clearly_when_applied(store, setup, message):
    task = task_with(setup)
    episode = store.create(7, task=task.id)
    with pytest.raises(TaskError, match=message) as info:
        attach_task(store, episode, task)
    assert "setup-demo.yaml" in str(info.value)
