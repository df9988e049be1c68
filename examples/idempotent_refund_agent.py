"""A careful agent for goodwill-refund: the official `stripe` SDK with network retries on. The SDK
sends an Idempotency-Key with every POST and reuses it when it retries, and the payments fake (like
Stripe) answers a repeated key with the first result: under a ghost write it refunds exactly once.
"""

import os
import re

import stripe

stripe.api_key = os.environ["STRIPE_API_KEY"]
stripe.ca_bundle_path = os.environ.get("SSL_CERT_FILE", stripe.ca_bundle_path)
stripe.max_network_retries = 3

instruction = os.environ["SANDBOX_TASK_INSTRUCTION"]
charge = re.search(r"charge (ch_\w+)", instruction).group(1)
amount = int(re.search(r"Refund (\d+) cents", instruction).group(1))

refund = stripe.Refund.create(charge=charge, amount=amount, reason="requested_by_customer")
print(f"refunded {refund.amount} of {charge}: {refund.id}")
