"""Zendesk MCP tools (reminia/zendesk-mcp-server's names) on the helpdesk fake at
https://{subdomain}.zendesk.com/api/v2/mcp, through the real proxy with the `mcp` SDK's client."""

from __future__ import annotations

import pytest

from sandbox.tasks.oracles.mcp_clients import ToolFailed, call, mcp_session
from sandbox.world import world
from tests.services.mcp_helpers import SEED, agent, episode, ledger_of, run  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow
TICKET = world(SEED).facts["double_charge_ticket"]["ticket"]


def test_zendesk_tools_read_and_write_the_rows_rest_writes(running_sandbox, episode, agent):  # noqa: F811
    assert agent["SANDBOX_MCP_HELPDESK_URL"] == f"https://{world(SEED).org.helpdesk_host}/api/v2/mcp"

    async def scenario():
        async with mcp_session("helpdesk") as zendesk:
            names = [tool.name for tool in (await zendesk.list_tools()).tools]
            tickets = await call(zendesk, "get_tickets", per_page=5)
            ticket = await call(zendesk, "get_ticket", ticket_id=TICKET)
            note = await call(zendesk, "create_ticket_comment", ticket_id=TICKET, comment="Refunded.", public=False)
            solved = await call(zendesk, "update_ticket", ticket_id=TICKET, status="solved")
            comments = await call(zendesk, "get_ticket_comments", ticket_id=TICKET)
            with pytest.raises(ToolFailed) as missing:
                await call(zendesk, "update_ticket", ticket_id=999999, status="solved")
            return names, tickets, ticket, note, solved, comments, str(missing.value)

    names, tickets, ticket, note, solved, comments, missing = run(scenario)
    assert names == ["get_tickets", "get_ticket", "get_ticket_comments", "create_ticket_comment", "update_ticket"]
    assert len(tickets["tickets"]) == 5 and tickets["has_more"] is True
    assert ticket["id"] == TICKET and note == f"Comment created successfully on ticket {TICKET}"
    assert solved["status"] == "solved"
    assert (comments[-1]["body"], comments[-1]["public"]) == ("Refunded.", False)
    assert "404" in missing

    exchanges, changes = ledger_of(running_sandbox.home, episode)
    assert {e["path"] for e in exchanges} == {"/api/v2/mcp"}
    bodies = {e["id"]: e["request_body"] for e in exchanges}
    comment_rows = [c for c in changes if c["tbl"] == "comments"]
    assert len(comment_rows) == 1 and b"create_ticket_comment" in bodies[comment_rows[0]["exchange_id"]]
    status_rows = [c for c in changes if c["tbl"] == "tickets" and c["after"]["status"] != c["before"]["status"]
                   and c["after"]["status"] == "solved"]
    assert len(status_rows) == 1 and b"update_ticket" in bodies[status_rows[0]["exchange_id"]]
