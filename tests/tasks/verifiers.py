"""Verifier hooks for the tests (a task names them as `tests.tasks.verifiers:NAME`)."""

import json


def refund_names_the_order(ledger, task):
    """Pass only if every refund the agent made carries the order number in its metadata."""
    refunds = [c["after"] for c in ledger.state_changes() if c["tbl"] == "refunds" and c["op"] == "insert"]
    missing = [r["id"] for r in refunds if "order_id" not in json.loads(r.get("metadata") or "{}")]
    return (not missing, [f"refund {r} names no order" for r in missing])


def crashes(ledger, task):
    raise RuntimeError("bug in the check")
