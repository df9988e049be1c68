"""Oracle for `refund-status-inquiry`: the customer asks whether their refund went through. It did,
long ago: look it up, say so with the refund's date and amount, and solve the ticket. No new refund.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from zenpy.lib.api_objects import Comment

from sandbox.tasks.oracles.clients import give_up, stripe_module, ticket_id, zendesk


def main() -> None:
    stripe = stripe_module()
    zd = zendesk()
    ticket = zd.tickets(id=ticket_id())
    order_id = re.search(r"ORD-\d+", ticket.subject).group(0)
    requester = zd.users(id=ticket.requester_id)
    customers = stripe.Customer.list(email=requester.email).data
    if len(customers) != 1:
        give_up(f"{len(customers)} customers have the email {requester.email}")
    charge = next(
        (c for c in stripe.Charge.list(customer=customers[0].id, limit=100).auto_paging_iter()
         if c.metadata.to_dict().get("order_id") == order_id),
        None,
    )
    if charge is None:
        give_up(f"no charge for {order_id}")
    refunds = stripe.Refund.list(charge=charge.id).data
    if not refunds:
        give_up(f"{charge.id} has no refund: this oracle expects the already-refunded case")
    refund = refunds[0]
    when = datetime.fromtimestamp(refund.created, UTC).strftime("%B %d, %Y")
    ticket.comment = Comment(
        body=f"Hi {requester.name.split()[0]}, good news: the refund of ${refund.amount / 100:.2f} for order"
        f" {order_id} was issued on {when}. Depending on your bank it can take 5-10 business days to show.",
        public=True,
    )
    ticket.status = "solved"
    zd.tickets.update(ticket)
    print(f"told the customer about {refund.id}; ticket #{ticket.id} solved")


if __name__ == "__main__":
    main()
