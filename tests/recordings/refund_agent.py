"""A small agent for the record/replay tests: refunds the duplicate charge through the payments
fake (plain requests, through HTTPS_PROXY) and asks a "real" upstream (the stand-in at $STAND_IN)
for something, writing every answer it gets to the file named by argv[1]."""

import os
import re
import sys

import requests

out = open(sys.argv[1], "wb")  # noqa: SIM115
stripe = requests.Session()
stripe.headers["Authorization"] = f"Bearer {os.environ['STRIPE_API_KEY']}"


def keep(response):
    out.write(b"%d %d\n" % (response.status_code, len(response.content)) + response.content + b"\n")
    return response


instruction = os.environ["SANDBOX_TASK_INSTRUCTION"]
email = re.search(r"<([^<>\s]+@[^<>\s]+)>", instruction).group(1)
order = re.search(r"order (ORD-[\w-]+)", instruction).group(1)
customer = keep(stripe.get("https://api.stripe.com/v1/customers", params={"email": email})).json()["data"][0]
charges = keep(stripe.get("https://api.stripe.com/v1/charges", params={"customer": customer["id"], "limit": 100}))
matching = [c for c in charges.json()["data"] if c["metadata"].get("order_id") == order]
keep(requests.post(f"{os.environ['STAND_IN']}/notes", json={"order": order, "charges": len(matching)}))
if not os.environ.get("AGENT_SKIP_REFUND"):
    duplicate = max(matching, key=lambda c: (c["created"], c["id"]))
    keep(stripe.post("https://api.stripe.com/v1/refunds", data={"charge": duplicate["id"], "reason": "duplicate"}))
out.close()
