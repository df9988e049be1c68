"""Browser oracle for `double-charge-ticket`: the REST oracle's moves through the agent UI, the
dashboard and the Slack client: the ticket's requester and order find the duplicate charge, which is
refunded; the public reply solves the ticket, then the internal note; the summary goes to #billing."""

from __future__ import annotations

import re

from sandbox.tasks.oracles.browser import slack, stripe, zendesk
from sandbox.tasks.oracles.browser.refund_duplicate_charge import find_duplicate
from sandbox.tasks.oracles.browser.session import browser_page
from sandbox.tasks.oracles.browser.signin import sign_in
from sandbox.tasks.oracles.clients import give_up, ticket_id


def main() -> None:
    number = ticket_id()
    with browser_page() as page:
        for service in ("helpdesk", "payments"):
            sign_in(page, service)
        ticket = zendesk.ticket(page, number)
        order = re.search(r"ORD-\d+", ticket["subject"])
        if not order:
            give_up(f"no order number in {ticket['subject']!r}")
        order_id = order.group(0)
        duplicate = find_duplicate(page, ticket["requester_email"], order_id)
        refund = stripe.refund(page, duplicate["id"], reason="duplicate",
                               metadata={"order_id": order_id, "ticket": str(number)})["id"]
        amount = f"${duplicate['amount'] / 100:.2f}"
        first_name = ticket["requester"].split()[0]
        zendesk.reply(page, number, f"Hi {first_name}, you were indeed charged twice for order {order_id}. We have"
                      f" refunded the duplicate charge of {amount}; it should reach your statement within 5-10"
                      " business days.", status="solved")
        zendesk.add_internal_note(page, number, f"Refunded duplicate charge {duplicate['id']} ({refund}).")
        summary = f"Refunded a duplicate charge of {amount} for order {order_id} (ticket #{number}, {refund})."
        sign_in(page, "chat")  # the Slack client is opened when it is needed, as a person would
        slack.post_message(page, slack.channel_id(page, "billing"), summary)
    print(f"refunded {duplicate['id']} as {refund}; ticket #{number} solved, through the web pages")


if __name__ == "__main__":
    main()
