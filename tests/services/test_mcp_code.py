"""GitHub's MCP tools (github-mcp-server's names) on the code fake at https://api.githubcopilot.com/mcp/,
through the real proxy with the `mcp` SDK's client: reads, an issue, a comment, a relabel."""

from __future__ import annotations

import pytest

from sandbox.tasks.oracles.mcp_clients import ToolFailed, call, mcp_session
from sandbox.world import world
from tests.services.mcp_helpers import SEED, agent, episode, ledger_of, run  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow
ORG = world(SEED).code.org
REPO = world(SEED).facts["bug_report"]["repo"]


def test_github_tools_read_and_write_the_rows_rest_writes(running_sandbox, episode, agent):  # noqa: F811
    assert agent["SANDBOX_MCP_CODE_URL"] == "https://api.githubcopilot.com/mcp/"

    async def scenario():
        async with mcp_session("code") as github:
            tools = {tool.name: tool for tool in (await github.list_tools()).tools}
            me = await call(github, "get_me")
            issue = await call(github, "create_issue", owner=ORG, repo=REPO, title="Checkout fails", labels=["bug"])
            comment = await call(github, "add_issue_comment", owner=ORG, repo=REPO, issue_number=issue["number"],
                                 body="Reproduced.")
            updated = await call(github, "update_issue", owner=ORG, repo=REPO, issue_number=issue["number"],
                                 state="closed", state_reason="completed")
            listed = await call(github, "list_issues", owner=ORG, repo=REPO, state="closed", perPage=100)
            comments = await call(github, "get_issue_comments", owner=ORG, repo=REPO, issue_number=issue["number"])
            with pytest.raises(ToolFailed) as missing:
                await call(github, "get_issue", owner=ORG, repo="no-such-repo", issue_number=1)
            return tools, me, issue, comment, updated, listed, comments, str(missing.value)

    tools, me, issue, comment, updated, listed, comments, missing = run(scenario)
    assert {"get_me", "list_issues", "get_issue", "get_issue_comments", "create_issue", "add_issue_comment",
            "update_issue"} == set(tools)
    assert tools["create_issue"].inputSchema["required"] == ["owner", "repo", "title"]
    assert me["login"] and issue["url"].startswith(f"https://api.github.com/repos/{ORG}/{REPO}/issues/")
    assert [label["name"] for label in issue["labels"]] == ["bug"]
    assert updated["state"] == "closed" and issue["number"] in [i["number"] for i in listed]
    assert [c["id"] for c in comments] == [comment["id"]]
    assert "Not Found" in missing

    exchanges, changes = ledger_of(running_sandbox.home, episode)
    assert {(e["host"], e["path"]) for e in exchanges} == {("api.githubcopilot.com", "/mcp/")}
    tools_of = {e["id"]: e["request_body"] for e in exchanges}
    assert [(c["tbl"], c["op"]) for c in changes if c["tbl"] in ("issues", "comments")] == [
        ("issues", "insert"), ("comments", "insert"), ("issues", "update"), ("issues", "update")]
    assert all(b'"tools/call"' in tools_of[c["exchange_id"]] for c in changes)
