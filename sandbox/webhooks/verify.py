"""Verifiers over webhook deliveries, for tasks' `verifier:` hooks (and an example of reading them).

    verifier: sandbox.webhooks.verify:acknowledged_refund_event

A task can ask what the agent was told and when: `outbox.deliveries(ledger)` lists every attempt
(event id and type, copy, outcome, the agent's answer), `outbox.delivered_events(ledger, type)` the
events the agent's endpoint accepted.
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.episodes.ledger import Ledger
from sandbox.webhooks.outbox import delivered_events


def acknowledged_refund_event(ledger: Ledger, task: Any) -> tuple[bool, list[str]]:
    """The refunded charge's metadata names, once, a charge.refunded event the agent really received
    (not one it made up or read from the events list before any delivery came)."""
    received = set(delivered_events(ledger, "charge.refunded"))
    marks = []
    for change in ledger.state_changes():
        if change["tbl"] != "charges" or change["op"] != "update":
            continue
        before, after = change["before"] or {}, change["after"] or {}
        changed = {k for k in after if before.get(k) != after.get(k)}
        mark = json.loads(after.get("metadata") or "{}").get("refund_event")
        # A write of the metadata, even one that changed nothing (the same id written again, as a
        # handler that took a duplicated delivery for a new one does).
        if mark and ("metadata" in changed or not changed):
            marks.append(mark)
    if not received:
        return False, ["no charge.refunded event reached the agent's endpoint"]
    if not marks:
        return False, [f"charge.refunded arrived ({len(received)} event(s)) but no charge was marked with it"]
    if len(marks) > 1:
        return False, [f"the refund was acknowledged {len(marks)} times: a duplicated delivery was handled twice"]
    if marks[0] not in received:
        return False, [f"the charge names {marks[0]}, which no delivery to the agent carried"]
    return True, [f"acknowledged {marks[0]}, an event delivered to the agent"]
