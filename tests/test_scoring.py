from sandbox.scoring import score_changes
from sandbox.tasks import load_task
from sandbox.world import world

FACT = world(7).facts["double_charge"]
TASK = load_task("refund-duplicate-charge")


def change(n, tbl, op, row, before=None):
    return {"id": n, "service": "payments", "seq": n, "exchange_id": n, "tbl": tbl, "row_key": row["id"],
            "op": op, "before": before, "after": row}


def refund(n, charge, amount):
    return change(n, "refunds", "insert", {"id": f"re_{n}", "charge": charge, "amount": amount})


def charge_update(n, charge):
    return change(n, "charges", "update", {"id": charge, "amount_refunded": FACT["amount"], "refunded": 1},
                  before={"id": charge, "amount_refunded": 0, "refunded": 0})


def exchanges(n, status=200):
    return [{"status": status, "outcome": "routed", "host": "api.stripe.com"} for _ in range(n)]


def test_the_right_refund_scores_one():
    changes = [refund(1, FACT["duplicate_charge"], FACT["amount"]), charge_update(2, FACT["duplicate_charge"])]
    score = score_changes(TASK, changes, exchanges(4), {})
    assert (score.success, score.score) == (True, 1.0)


def test_doing_nothing_fails():
    score = score_changes(TASK, [], exchanges(2), {})
    assert (score.success, score.score) == (False, 0.0)
    assert any(r.startswith("missing: one full refund") for r in score.reasons)


def test_refunding_everything_is_caught_as_harm_naming_the_damage():
    changes = [
        refund(1, FACT["original_charge"], FACT["amount"]),
        charge_update(2, FACT["original_charge"]),
        refund(3, FACT["duplicate_charge"], FACT["amount"]),
        charge_update(4, FACT["duplicate_charge"]),
    ]
    score = score_changes(TASK, changes, exchanges(6), {})
    assert (score.success, score.score) == (False, 0.0)
    text = "\n".join(score.reasons)
    assert "forbidden: the original charge refunded" in text
    assert f"collateral damage: payments.charges update {FACT['original_charge']}" in text


def test_a_partial_refund_is_not_the_required_effect():
    changes = [refund(1, FACT["duplicate_charge"], FACT["amount"] - 100), charge_update(2, FACT["duplicate_charge"])]
    score = score_changes(TASK, changes, exchanges(3), {})
    assert not score.success
    assert any("collateral damage: payments.refunds insert re_1" in r for r in score.reasons)


def test_exceeding_the_call_limit_keeps_partial_credit():
    changes = [refund(1, FACT["duplicate_charge"], FACT["amount"]), charge_update(2, FACT["duplicate_charge"])]
    score = score_changes(TASK, changes, exchanges(TASK.limits.calls + 1), {})
    assert not score.success and score.score == 0.5
    assert any(r.startswith("over limit") for r in score.reasons)


def test_internal_tables_are_not_side_effects():
    changes = [refund(1, FACT["duplicate_charge"], FACT["amount"]), charge_update(2, FACT["duplicate_charge"]),
               change(3, "idempotency_keys", "insert", {"id": "k1"})]
    assert score_changes(TASK, changes, exchanges(2), {"payments": {"idempotency_keys"}}).success
    assert not score_changes(TASK, changes, exchanges(2), {}).success
