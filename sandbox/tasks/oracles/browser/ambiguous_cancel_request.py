"""Browser oracle for `ambiguous-cancel-request`: the requester's email matches no customer in the
dashboard and their name matches two, so the only right move is a public reply asking which order
they mean, with the ticket set to pending."""

from __future__ import annotations

from sandbox.tasks.oracles.browser import stripe, zendesk
from sandbox.tasks.oracles.browser.session import browser_page
from sandbox.tasks.oracles.browser.signin import sign_in
from sandbox.tasks.oracles.clients import ticket_id


def main() -> None:
    number = ticket_id()
    with browser_page() as page:
        for service in ("helpdesk", "payments"):
            sign_in(page, service)
        ticket = zendesk.ticket(page, number)
        email, name = ticket["requester_email"], ticket["requester"]
        by_email = [c for c in stripe.search_customers(page, email) if c["email"] == email]
        by_name = [c for c in stripe.search_customers(page, name) if c["name"] == name]
        if len(by_email) == 1:
            raise SystemExit("the requester is a known customer: this oracle expects the ambiguous case")
        zendesk.reply(page, number, f"Hi {name.split()[0]}, we'd be glad to help. We could not match {email} to an"
                      f" account ({len(by_name)} accounts share your name). Could you reply with the order number"
                      " (it starts with ORD-) and the email address you used at checkout?", status="pending")
    print(f"asked for clarification on ticket #{number}; {len(by_name)} customers share the name")


if __name__ == "__main__":
    main()
