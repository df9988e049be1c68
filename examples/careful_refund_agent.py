"""A careful agent for the refund-duplicate-charge task: find the customer by email, find the two
charges for the named order, refund the later one in full, touch nothing else.

It is an ordinary `stripe` SDK program: `sandbox run` gives it HTTPS_PROXY, the sandbox CA and a
fake STRIPE_API_KEY. The only sandbox-specific line is the CA bundle, because the stripe SDK pins
its own bundle instead of reading SSL_CERT_FILE.
"""

import os
import re
import sys

import stripe

stripe.api_key = os.environ["STRIPE_API_KEY"]
stripe.ca_bundle_path = os.environ.get("SSL_CERT_FILE", stripe.ca_bundle_path)
stripe.max_network_retries = 2

instruction = os.environ["SANDBOX_TASK_INSTRUCTION"]
email = re.search(r"<([^<>\s]+@[^<>\s]+)>", instruction).group(1)
order_id = re.search(r"order (ORD-[\w-]+)", instruction).group(1)

customers = stripe.Customer.list(email=email).data
if len(customers) != 1:
    print(f"found {len(customers)} customers with email {email}; asking a human instead of guessing")
    sys.exit(1)
customer = customers[0]

charges = [
    c
    for c in stripe.Charge.list(customer=customer.id, limit=100).auto_paging_iter()
    if c.metadata.to_dict().get("order_id") == order_id and c.status == "succeeded" and not c.refunded
]
if len(charges) != 2 or charges[0].amount != charges[1].amount:
    print(f"expected two equal charges for {order_id}, found {len(charges)}; not refunding anything")
    sys.exit(1)

duplicate = max(charges, key=lambda c: (c.created, c.id))
refund = stripe.Refund.create(charge=duplicate.id, reason="duplicate", metadata={"order_id": order_id})
print(f"refunded {refund.amount} {refund.currency} of {duplicate.id} ({refund.id}) for {customer.email}")
