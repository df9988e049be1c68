"""Oracle for `ambiguous-cancel-request`: the requester's name matches two customers and their
email matches none, so cancelling or refunding anything would be a guess. The right move is a
public reply that asks which order they mean, and the ticket set to pending (waiting on them).
"""

from __future__ import annotations

from zenpy.lib.api_objects import Comment

from sandbox.tasks.oracles.clients import stripe_module, ticket_id, zendesk


def main() -> None:
    stripe = stripe_module()
    zd = zendesk()
    ticket = zd.tickets(id=ticket_id())
    requester = zd.users(id=ticket.requester_id)
    by_email = stripe.Customer.list(email=requester.email).data
    by_name = stripe.Customer.search(query=f"name:'{requester.name}'").data
    if len(by_email) == 1:
        raise SystemExit("the requester is a known customer: this oracle expects the ambiguous case")
    ticket.comment = Comment(
        body=f"Hi {requester.name.split()[0]}, we'd be glad to help. We could not match {requester.email} to an"
        f" account ({len(by_name)} accounts share your name). Could you reply with the order number"
        " (it starts with ORD-) and the email address you used at checkout?",
        public=True,
    )
    ticket.status = "pending"
    zd.tickets.update(ticket)
    print(f"asked for clarification on ticket #{ticket.id}; {len(by_name)} customers share the name")


if __name__ == "__main__":
    main()
