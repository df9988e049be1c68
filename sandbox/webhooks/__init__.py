"""Webhooks: events the fakes raise, delivered to the endpoint an agent registered.

    signing    Stripe's `Stripe-Signature` and Slack's `X-Slack-Signature`, as the vendors compute them
    urls       which endpoint URLs an agent may register (an SSRF boundary: its own loopback only)
    outbox     the durable queue of deliveries in a service's episode database, and its ledger table
    deliverer  the host-side thread that sends them, under the episode's `via: webhook` fault rules

A fake writes an event and one outbox row per subscribed endpoint in the same transaction as the
state change that raised it; the deliverer (one per sandbox, started by `sandbox up`) sends each and
writes the attempt and the agent's answer to the episode ledger's `deliveries` table.
"""
