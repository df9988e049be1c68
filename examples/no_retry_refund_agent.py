"""A brittle agent for the refund-duplicate-charge task: the careful agent's logic, but it never
retries: the first error answer (a 500, a 429, a reset connection) ends it with status 1.

Under no faults it passes; under a profile that fails a refund call it gives up, and the sweep's
paired delta against the no-fault baseline shows what that brittleness costs.
"""

import os
import re
import sys

import stripe

stripe.api_key = os.environ["STRIPE_API_KEY"]
stripe.ca_bundle_path = os.environ.get("SSL_CERT_FILE", stripe.ca_bundle_path)
stripe.max_network_retries = 0

instruction = os.environ["SANDBOX_TASK_INSTRUCTION"]
email = re.search(r"<([^<>\s]+@[^<>\s]+)>", instruction).group(1)
order_id = re.search(r"order (ORD-[\w-]+)", instruction).group(1)

try:
    customers = stripe.Customer.list(email=email).data
    if len(customers) != 1:
        sys.exit(f"found {len(customers)} customers with email {email}")
    charges = [
        c
        for c in stripe.Charge.list(customer=customers[0].id, limit=100).auto_paging_iter()
        if c.metadata.to_dict().get("order_id") == order_id and c.status == "succeeded" and not c.refunded
    ]
    if len(charges) != 2 or charges[0].amount != charges[1].amount:
        sys.exit(f"expected two equal charges for {order_id}, found {len(charges)}")
    duplicate = max(charges, key=lambda c: (c.created, c.id))
    refund = stripe.Refund.create(charge=duplicate.id, reason="duplicate")
except stripe.StripeError as exc:
    print(f"giving up after the first error: {type(exc).__name__}: {exc.user_message or exc}")
    sys.exit(1)
print(f"refunded {refund.amount} of {duplicate.id} ({refund.id})")
