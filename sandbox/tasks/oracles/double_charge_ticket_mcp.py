"""Oracle for `double-charge-ticket` over the vendors' MCP servers (Zendesk, Stripe, Slack) instead of
their REST APIs: the same outcome as `double_charge_ticket` (refund the duplicate, public reply,
internal note, #billing summary, ticket solved), with the tools an MCP agent has."""

from __future__ import annotations

import re

import anyio

from sandbox.tasks.oracles.clients import give_up, ticket_id
from sandbox.tasks.oracles.mcp_clients import call, mcp_session
from sandbox.tasks.oracles.refund_duplicate_charge_mcp import find_duplicate


async def main() -> None:
    number = ticket_id()
    async with mcp_session("helpdesk") as zendesk, mcp_session("payments") as stripe, \
            mcp_session("chat") as slack:
        ticket = await call(zendesk, "get_ticket", ticket_id=number)
        order = re.search(r"ORD-\d+", ticket["subject"])
        if not order:
            give_up(f"no order number in {ticket['subject']!r}")
        order_id = order.group(0)
        duplicate = await find_duplicate(stripe, order_id)
        refund = await call(stripe, "create_refund", payment_intent=duplicate["payment_intent"], reason="duplicate")
        amount = f"${refund['amount'] / 100:.2f}"
        await call(zendesk, "create_ticket_comment", ticket_id=number, public=True,
                   comment=f"Hi, you were indeed charged twice for order {order_id}. We have refunded the duplicate"
                   f" charge of {amount}; it should reach your statement within 5-10 business days.")
        await call(zendesk, "create_ticket_comment", ticket_id=number, public=False,
                   comment=f"Refunded duplicate charge {duplicate['id']} ({refund['id']}).")
        await call(zendesk, "update_ticket", ticket_id=number, status="solved")
        channels = (await call(slack, "slack_list_channels", limit=200))["channels"]
        billing = next((c["id"] for c in channels if c["name"] == "billing"), None)
        if billing is None:
            give_up("no channel #billing")
        await call(slack, "slack_post_message", channel_id=billing,
                   text=f"Refunded a duplicate charge of {amount} for order {order_id} (ticket #{number},"
                   f" {refund['id']}).")
    print(f"refunded {duplicate['id']} as {refund['id']}; ticket #{number} solved, over MCP")


if __name__ == "__main__":
    anyio.run(main)
