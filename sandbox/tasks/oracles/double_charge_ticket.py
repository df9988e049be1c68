"""Oracle for `double-charge-ticket`: refund the duplicate charge the ticket is about, tell the
customer (public reply), leave a note for colleagues (internal), tell #billing, solve the ticket.

Everything is discovered through the APIs, starting from the ticket number in the instruction:
the requester's email finds the Stripe customer, the order number in the subject finds the two
charges, and the later one is refunded with an idempotency key so a retry cannot refund twice.
"""

from __future__ import annotations

import re

from zenpy.lib.api_objects import Comment

from sandbox.tasks.oracles.clients import channel_id, give_up, slack, stripe_module, ticket_id, zendesk


def find_duplicate(stripe, email: str, order_id: str):
    customers = stripe.Customer.list(email=email).data
    if len(customers) != 1:
        give_up(f"{len(customers)} customers have the email {email}")
    charges = [
        c
        for c in stripe.Charge.list(customer=customers[0].id, limit=100).auto_paging_iter()
        if c.metadata.to_dict().get("order_id") == order_id and c.status == "succeeded" and not c.refunded
    ]
    if len(charges) != 2 or charges[0].amount != charges[1].amount:
        give_up(f"expected two equal charges for {order_id}, found {len(charges)}")
    return max(charges, key=lambda c: (c.created, c.id))


def main() -> None:
    stripe = stripe_module()
    zd = zendesk()
    ticket = zd.tickets(id=ticket_id())
    order = re.search(r"ORD-\d+", ticket.subject)
    if not order:
        give_up(f"no order number in {ticket.subject!r}")
    order_id = order.group(0)
    requester = zd.users(id=ticket.requester_id)
    duplicate = find_duplicate(stripe, requester.email, order_id)
    refund = stripe.Refund.create(
        charge=duplicate.id,
        reason="duplicate",
        metadata={"order_id": order_id, "ticket": str(ticket.id)},
        idempotency_key=f"refund-{duplicate.id}",
    )
    amount = f"${refund.amount / 100:.2f}"
    first_name = requester.name.split()[0]
    ticket.comment = Comment(
        body=f"Hi {first_name}, you were indeed charged twice for order {order_id}. We have refunded the"
        f" duplicate charge of {amount}; it should reach your statement within 5-10 business days.",
        public=True,
    )
    ticket.status = "solved"
    zd.tickets.update(ticket)
    ticket = zd.tickets(id=ticket.id)
    ticket.comment = Comment(body=f"Refunded duplicate charge {duplicate.id} ({refund.id}).", public=False)
    zd.tickets.update(ticket)
    client = slack()
    client.chat_postMessage(
        channel=channel_id(client, "billing"),
        text=f"Refunded a duplicate charge of {amount} for order {order_id} (ticket #{ticket.id}, {refund.id}).",
    )
    print(f"refunded {duplicate.id} as {refund.id}; ticket #{ticket.id} solved")


if __name__ == "__main__":
    main()
