"""Browser oracle for `refund-status-inquiry`: the REST oracle's moves through the agent UI and the
dashboard: the ticket's order leads to its charge, whose refund (issued long ago) is reported to the
customer with its date and amount, and the ticket is solved. No new refund."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sandbox.tasks.oracles.browser import stripe, zendesk
from sandbox.tasks.oracles.browser.session import browser_page
from sandbox.tasks.oracles.browser.signin import sign_in
from sandbox.tasks.oracles.clients import give_up, ticket_id


def main() -> None:
    number = ticket_id()
    with browser_page() as page:
        for service in ("helpdesk", "payments"):
            sign_in(page, service)
        ticket = zendesk.ticket(page, number)
        order_id = re.search(r"ORD-\d+", ticket["subject"]).group(0)
        email = ticket["requester_email"]
        customers = [c for c in stripe.search_customers(page, email) if c["email"] == email]
        if len(customers) != 1:
            give_up(f"{len(customers)} customers have the email {email}")
        payments = stripe.customer(page, customers[0]["id"])["payments"]
        found = next((c for c in payments if c["order_id"] == order_id), None)
        if found is None:
            give_up(f"no charge for {order_id}")
        charge = stripe.charge(page, found["id"])
        if not charge["refunds"]:
            give_up(f"{charge['id']} has no refund: this oracle expects the already-refunded case")
        refund = charge["refunds"][0]  # newest first, as Refund.list answers
        when = datetime.fromtimestamp(refund["created"], UTC).strftime("%B %d, %Y")
        zendesk.reply(page, number, f"Hi {ticket['requester'].split()[0]}, good news: the refund of"
                      f" ${refund['amount'] / 100:.2f} for order {order_id} was issued on {when}. Depending on your"
                      " bank it can take 5-10 business days to show.", status="solved")
    print(f"told the customer about {refund['id']}; ticket #{number} solved, through the web pages")


if __name__ == "__main__":
    main()
