"""Browser oracle for `refund-duplicate-charge`: the REST oracle's moves through Stripe's dashboard
pages: find the customer by the instruction's email, the two equal charges of the named order, and
refund the later one in full (reason: duplicate)."""

from __future__ import annotations

import re

from sandbox.tasks.oracles.browser import stripe
from sandbox.tasks.oracles.browser.session import browser_page
from sandbox.tasks.oracles.browser.signin import sign_in
from sandbox.tasks.oracles.clients import give_up, instruction


def find_duplicate(page, email: str, order_id: str) -> dict:
    """The later of the two equal, unrefunded charges of `order_id` to the customer with `email`."""
    try:
        return stripe.find_duplicate(page, email, order_id)
    except LookupError as exc:
        give_up(str(exc))


def main() -> None:
    email = re.search(r"<([^<>\s]+@[^<>\s]+)>", instruction())
    order = re.search(r"order (ORD-[\w-]+)", instruction())
    if not email or not order:
        give_up("the instruction names no customer email or order")
    with browser_page() as page:
        sign_in(page, "payments")
        duplicate = find_duplicate(page, email.group(1), order.group(1))
        refund = stripe.refund(page, duplicate["id"], reason="duplicate")
    print(f"refunded {refund['amount']} of {duplicate['id']} ({refund['id']}) through the dashboard")


if __name__ == "__main__":
    main()
