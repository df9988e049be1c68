"""A scripted 20-call agent for bench/bench_eval.py: 19 reads, then the right refund (so the
episode scores 1.0). Plain `requests` through the episode's proxy; no thinking, only traffic."""

import os

import requests

API = "https://api.stripe.com/v1"
session = requests.Session()
session.auth = (os.environ["STRIPE_API_KEY"], "")
email = os.environ["SANDBOX_TASK_INSTRUCTION"].split("<", 1)[1].split(">", 1)[0]
order = os.environ["SANDBOX_TASK_INSTRUCTION"].split("order ", 1)[1].split(".", 1)[0]

customer = session.get(f"{API}/customers", params={"email": email}, timeout=10).json()["data"][0]
charges = session.get(f"{API}/charges", params={"customer": customer["id"], "limit": 100}, timeout=10).json()["data"]
twins = sorted((c for c in charges if c["metadata"].get("order_id") == order), key=lambda c: (c["created"], c["id"]))
for i in range(17):  # re-reads, as an agent double-checking would
    session.get(f"{API}/charges/{twins[i % 2]['id']}", timeout=10).raise_for_status()
session.post(f"{API}/refunds", data={"charge": twins[-1]["id"]}, timeout=10).raise_for_status()
