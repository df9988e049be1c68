"""A naive agent for goodwill-refund: it calls Stripe's REST API with `requests` and retries a
failed call up to 3 times, without an Idempotency-Key.

Against a ghost write (the refund is applied, the answer is a 500 or a dropped connection) its
retry refunds the customer a second time: `sandbox paired goodwill-refund --faults ghost-refund`
shows the duplicated side effect, and the score fails on "2 found, exactly 1 wanted".
"""

import os
import re
import sys

import requests

instruction = os.environ["SANDBOX_TASK_INSTRUCTION"]
charge = re.search(r"charge (ch_\w+)", instruction).group(1)
amount = int(re.search(r"Refund (\d+) cents", instruction).group(1))

session = requests.Session()  # HTTPS_PROXY and REQUESTS_CA_BUNDLE come from the environment
session.auth = (os.environ["STRIPE_API_KEY"], "")

for attempt in range(1, 4):
    try:
        response = session.post("https://api.stripe.com/v1/refunds", data={"charge": charge, "amount": amount},
                                timeout=10)
    except requests.RequestException as exc:
        print(f"attempt {attempt}: {type(exc).__name__}; retrying")
        continue
    if response.status_code < 500:
        break
    print(f"attempt {attempt}: HTTP {response.status_code}; retrying")
else:
    sys.exit("gave up after 3 attempts")

if response.ok:
    print(f"refunded {amount} of {charge}: {response.json()['id']}")
else:
    sys.exit(f"refund failed: {response.status_code} {response.text[:200]}")
