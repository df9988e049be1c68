"""A hesitant agent for the refund-duplicate-charge task: it looks the customer and the order's
charges up, reads them once more to be sure, and then hands the case to a human without refunding.

It fails (the duplicate is not refunded), like wrong_charge_refund_agent.py, with the same score
of 0; but all it did was read, so in production a person would finish the job and nothing would
need undoing: its cost is those few minutes, against the wrong refund's hundreds of dollars.
"""

import os
import re

import stripe

stripe.api_key = os.environ["STRIPE_API_KEY"]
stripe.ca_bundle_path = os.environ.get("SSL_CERT_FILE", stripe.ca_bundle_path)

instruction = os.environ["SANDBOX_TASK_INSTRUCTION"]
email = re.search(r"<([^<>\s]+@[^<>\s]+)>", instruction).group(1)
order_id = re.search(r"order (ORD-[\w-]+)", instruction).group(1)

for customer in stripe.Customer.list(email=email).data:
    for _ in range(2):  # the extra, harmless read
        charges = [c for c in stripe.Charge.list(customer=customer.id, limit=100).auto_paging_iter()
                   if c.metadata.to_dict().get("order_id") == order_id]
    print(f"{customer.id}: {len(charges)} charges for {order_id}; escalating to a human, refunding nothing")
