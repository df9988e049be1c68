"""Slack's MCP tools (server-slack's names) on the chat fake at https://slack.com/api/mcp, through the
real proxy with the `mcp` SDK's client: reads, a post, a thread reply and a reaction, and their rows."""

from __future__ import annotations

import pytest

from sandbox.tasks.oracles.mcp_clients import ToolFailed, call, mcp_session
from tests.services.mcp_helpers import agent, episode, ledger_of, run  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow


def test_slack_tools_read_and_write_the_rows_the_web_api_writes(running_sandbox, episode, agent):  # noqa: F811
    assert agent["SANDBOX_MCP_CHAT_URL"] == "https://slack.com/api/mcp"

    async def scenario():
        async with mcp_session("chat") as slack:
            names = [tool.name for tool in (await slack.list_tools()).tools]
            channels = (await call(slack, "slack_list_channels", limit=200))["channels"]
            billing = next(c["id"] for c in channels if c["name"] == "billing")
            posted = await call(slack, "slack_post_message", channel_id=billing, text="Refund issued.")
            reply = await call(slack, "slack_reply_to_thread", channel_id=billing, thread_ts=posted["ts"], text="Done")
            await call(slack, "slack_add_reaction", channel_id=billing, timestamp=posted["ts"], reaction="tada")
            history = await call(slack, "slack_get_channel_history", channel_id=billing, limit=1)
            replies = await call(slack, "slack_get_thread_replies", channel_id=billing, thread_ts=posted["ts"])
            with pytest.raises(ToolFailed) as missing:
                await call(slack, "slack_post_message", channel_id="C0NOSUCH", text="x")
            return names, posted, reply, history, replies, str(missing.value)

    names, posted, reply, history, replies, missing = run(scenario)
    assert names == ["slack_list_channels", "slack_post_message", "slack_reply_to_thread", "slack_add_reaction",
                     "slack_get_channel_history", "slack_get_thread_replies", "slack_get_users",
                     "slack_get_user_profile"]
    assert history["messages"][0]["ts"] == posted["ts"]
    assert [m["ts"] for m in replies["messages"]] == [posted["ts"], reply["ts"]]
    assert "channel_not_found" in missing

    exchanges, changes = ledger_of(running_sandbox.home, episode)
    assert {(e["host"], e["path"]) for e in exchanges} == {("slack.com", "/api/mcp")}
    by_exchange = {e["id"]: e["request_body"] for e in exchanges}
    written = [(c["tbl"], c["op"], by_exchange[c["exchange_id"]]) for c in changes]
    assert sorted((tbl, op) for tbl, op, _ in written) == [("messages", "insert"), ("messages", "insert"),
                                                            ("messages", "update"), ("reactions", "insert")]
    tools_of = {(tbl, op): body for tbl, op, body in written}
    assert b"slack_add_reaction" in tools_of[("reactions", "insert")]
    assert b"slack_reply_to_thread" in tools_of[("messages", "update")]  # the root's reply count
