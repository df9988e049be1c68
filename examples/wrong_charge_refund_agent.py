"""An agent with an off-by-one for the refund-duplicate-charge task: it finds the two charges of the
order like the careful agent, then refunds the earlier one, the original, instead of the later
duplicate.

It fails, like an agent that does nothing (see hesitant_refund_agent.py), and its score is 0 like
that one's; but in production the customer's legitimate payment is gone, the duplicate still
stands, and someone must claw the money back: its score's cost says what that would have cost.
"""

import os
import re
import sys

import stripe

stripe.api_key = os.environ["STRIPE_API_KEY"]
stripe.ca_bundle_path = os.environ.get("SSL_CERT_FILE", stripe.ca_bundle_path)

instruction = os.environ["SANDBOX_TASK_INSTRUCTION"]
email = re.search(r"<([^<>\s]+@[^<>\s]+)>", instruction).group(1)
order_id = re.search(r"order (ORD-[\w-]+)", instruction).group(1)

customers = stripe.Customer.list(email=email).data
if len(customers) != 1:
    sys.exit(f"found {len(customers)} customers with email {email}")
charges = [
    c
    for c in stripe.Charge.list(customer=customers[0].id, limit=100).auto_paging_iter()
    if c.metadata.to_dict().get("order_id") == order_id and c.status == "succeeded" and not c.refunded
]
if len(charges) != 2:
    sys.exit(f"expected two charges for {order_id}, found {len(charges)}")
wrong = min(charges, key=lambda c: (c.created, c.id))  # the bug: min, not max
refund = stripe.Refund.create(charge=wrong.id, reason="duplicate")
print(f"refunded {refund.amount} {refund.currency} of {wrong.id} ({refund.id})")
