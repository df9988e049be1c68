"""Oracle for `refund-duplicate-charge` over Stripe's MCP server instead of the REST API: the same
moves as `refund_duplicate_charge`, through the tools an MCP agent has (`list_customers`,
`search_stripe_resources`, `create_refund`), so the task scores alike through either door."""

from __future__ import annotations

import re

import anyio

from sandbox.tasks.oracles.clients import give_up, instruction
from sandbox.tasks.oracles.mcp_clients import call, mcp_session


async def find_duplicate(stripe, order_id: str, email: str | None = None) -> dict:
    """The later of the two equal, unrefunded, successful charges of `order_id`."""
    query = f"charges:metadata['order_id']:'{order_id}'"
    charges = [c for c in await call(stripe, "search_stripe_resources", query=query, limit=100)
               if c["status"] == "succeeded" and not c["refunded"]]
    if email is not None:
        customers = await call(stripe, "list_customers", email=email)
        if len(customers) != 1:
            give_up(f"{len(customers)} customers have the email {email}")
        charges = [c for c in charges if c["customer"] == customers[0]["id"]]
    if len(charges) != 2 or charges[0]["amount"] != charges[1]["amount"]:
        give_up(f"expected two equal charges for {order_id}, found {len(charges)}")
    return max(charges, key=lambda c: (c["created"], c["id"]))


async def main() -> None:
    email = re.search(r"<([^<>\s]+@[^<>\s]+)>", instruction())
    order = re.search(r"order (ORD-[\w-]+)", instruction())
    if not email or not order:
        give_up("the instruction names no customer email or order")
    async with mcp_session("payments") as stripe:
        duplicate = await find_duplicate(stripe, order.group(1), email.group(1))
        refund = await call(stripe, "create_refund", payment_intent=duplicate["payment_intent"], reason="duplicate")
    print(f"refunded {refund['amount']} of {duplicate['id']} ({refund['id']}) over MCP")


if __name__ == "__main__":
    anyio.run(main)
