"""MCP clients of the vendors' servers, configured only from the agent environment `sandbox env`
gives: `SANDBOX_MCP_<SERVICE>_URL`, the vendor's usual key variable as the bearer token, and
HTTPS_PROXY / SSL_CERT_FILE (httpx reads both from the environment).

    async with mcp_session("payments") as stripe:
        customers = await call(stripe, "list_customers", email="a@b.c")

Built on the `mcp` SDK's own streamable HTTP client, as an agent built for the real servers is.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

# The key variable each MCP server takes as its bearer token.
TOKEN_VARS = {"payments": "STRIPE_API_KEY", "helpdesk": "ZENDESK_API_TOKEN", "chat": "SLACK_BOT_TOKEN",
              "code": "GITHUB_TOKEN"}


class ToolFailed(Exception):
    """A tool answered `isError: true`; the message is the vendor's."""


def mcp_url(service: str) -> str:
    name = f"SANDBOX_MCP_{service.upper()}_URL"
    if name not in os.environ:
        raise KeyError(f"${name} is not set: run the agent with `sandbox run` or `eval $(sandbox env EPISODE)`")
    return os.environ[name]


@asynccontextmanager
async def mcp_session(service: str, *, url: str | None = None, token: str | None = None,
                      timeout: float = 30.0) -> AsyncIterator[ClientSession]:
    """An initialized MCP session with `service`'s server (one HTTP client, closed on exit)."""
    bearer = token or os.environ[TOKEN_VARS[service]]
    headers = {"Authorization": f"Bearer {bearer}"}
    async with httpx.AsyncClient(headers=headers, timeout=timeout, follow_redirects=True) as client:
        async with streamable_http_client(url or mcp_url(service), http_client=client) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> Any:
    """Call `tool` and decode its JSON answer; ToolFailed with the vendor's message on `isError`."""
    result = await session.call_tool(tool, {k: v for k, v in arguments.items() if v is not None})
    text = "".join(part.text for part in result.content if part.type == "text")
    if result.isError:
        raise ToolFailed(f"{tool}: {text}")
    try:
        return json.loads(text)
    except ValueError:
        return text
