"""Oracle for `refund-duplicate-charge`: find the customer by the email in the instruction, find the
two equal charges of the named order, refund the later one in full with an idempotency key."""

from __future__ import annotations

import re

from sandbox.tasks.oracles.clients import give_up, instruction, stripe_module


def main() -> None:
    stripe = stripe_module()
    email = re.search(r"<([^<>\s]+@[^<>\s]+)>", instruction())
    order = re.search(r"order (ORD-[\w-]+)", instruction())
    if not email or not order:
        give_up("the instruction names no customer email or order")
    customers = stripe.Customer.list(email=email.group(1)).data
    if len(customers) != 1:
        give_up(f"{len(customers)} customers have the email {email.group(1)}")
    charges = [
        c
        for c in stripe.Charge.list(customer=customers[0].id, limit=100).auto_paging_iter()
        if c.metadata.to_dict().get("order_id") == order.group(1) and c.status == "succeeded" and not c.refunded
    ]
    if len(charges) != 2 or charges[0].amount != charges[1].amount:
        give_up(f"expected two equal charges for {order.group(1)}, found {len(charges)}")
    duplicate = max(charges, key=lambda c: (c.created, c.id))
    refund = stripe.Refund.create(charge=duplicate.id, reason="duplicate", idempotency_key=f"refund-{duplicate.id}")
    print(f"refunded {refund.amount} of {duplicate.id} ({refund.id})")


if __name__ == "__main__":
    main()
