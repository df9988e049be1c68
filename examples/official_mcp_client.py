"""An MCP client agent that drives a vendor's official MCP server, unchanged, inside an episode.

    sandbox run triage-from-chat -- python examples/official_mcp_client.py slack \\
        slack_list_channels='{"limit": 100}' \\
        slack_reply_to_thread='{"channel_id": "C0EC2PR7NFJ", "thread_ts": "...", "text": "done"}'

It spawns the server over stdio as any MCP host does (`mcp.client.stdio.stdio_client`), lists its
tools, calls each TOOL=JSON in order and prints one JSON line per step: {"tools": [...]}, then
{"call": TOOL, "arguments": ..., "is_error": ..., "result": ...} with the tool's text parsed as JSON
where it is JSON. It exits 1 if a call failed or named a tool the server does not have.

The servers are the npm packages pinned in tools/mcp-servers/ (`npm ci` there; or set
OFFICIAL_MCP_SERVERS to another node_modules folder). Each gets what its README asks for, taken from
the episode's credentials that `sandbox env` hands out, plus the proxy and CA variables an MCP
host's `env` block would pass on; nothing else of this process's environment:

    server-github  GITHUB_PERSONAL_ACCESS_TOKEN = $GITHUB_TOKEN
    server-slack   SLACK_BOT_TOKEN, SLACK_TEAM_ID
    @stripe/mcp    STRIPE_SECRET_KEY = $STRIPE_API_KEY (a bridge to https://mcp.stripe.com)

The GitHub and Slack servers call the vendors with Node's global fetch, which (before Node 24 and
NODE_USE_ENV_PROXY) ignores HTTPS_PROXY: the sandbox's isolation catches those calls by name
(api.github.com, slack.com resolve to its relay), and NODE_EXTRA_CA_CERTS makes Node trust the
sandbox CA.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.client.stdio import StdioServerParameters

MODULES = Path(os.environ.get("OFFICIAL_MCP_SERVERS") or Path(__file__).resolve().parents[1] / "tools" /
               "mcp-servers" / "node_modules")
# server -> (the package's entry point under node_modules, {its variable: the sandbox's variable})
SERVERS: dict[str, tuple[str, dict[str, str]]] = {
    "github": ("@modelcontextprotocol/server-github/dist/index.js",
               {"GITHUB_PERSONAL_ACCESS_TOKEN": "GITHUB_TOKEN"}),
    "slack": ("@modelcontextprotocol/server-slack/dist/index.js",
              {"SLACK_BOT_TOKEN": "SLACK_BOT_TOKEN", "SLACK_TEAM_ID": "SLACK_TEAM_ID"}),
    "stripe": ("@stripe/mcp/dist/index.js", {"STRIPE_SECRET_KEY": "STRIPE_API_KEY"}),
}
# What `sandbox env` sets for the network: an MCP host passes these on in the server's `env` block.
NETWORK = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "NO_PROXY", "no_proxy", "SSL_CERT_FILE",
           "NODE_EXTRA_CA_CERTS", "NODE_USE_ENV_PROXY")
TIMEOUT = 30  # seconds for one tool call: a call the sandbox never answers fails instead of hanging


def server_parameters(server: str, environ: dict[str, str]) -> StdioServerParameters:
    """How to start `server` with the episode's credentials from `environ` (a `sandbox env`)."""
    entry, config = SERVERS[server]
    script = MODULES / entry
    if not script.is_file():
        raise SystemExit(f"{script} is missing: install the pinned servers with `npm ci --prefix tools/mcp-servers` "
                         "(or point OFFICIAL_MCP_SERVERS at a node_modules folder that has them)")
    missing = [theirs for theirs in config.values() if not environ.get(theirs)]
    if missing:
        raise SystemExit(f"{', '.join(missing)} not set: run this inside an episode "
                         "(sandbox run TASK -- ..., or eval \"$(sandbox env EPISODE)\")")
    # The mcp SDK is imported here, not at the top: it takes about a second, and a mistake in the
    # command line, the install or the environment is said before that.
    from mcp.client.stdio import StdioServerParameters, get_default_environment

    env = {**get_default_environment(), **{name: environ[name] for name in NETWORK if name in environ}}
    env.update({ours: environ[theirs] for ours, theirs in config.items()})
    return StdioServerParameters(command="node", args=[str(script)], env=env)


def parse_call(text: str) -> tuple[str, dict[str, Any]]:
    tool, sep, raw = text.partition("=")
    try:
        arguments = json.loads(raw) if sep else {}
    except ValueError as exc:
        raise SystemExit(f"{text!r}: the arguments after '=' are not JSON ({exc}); "
                         "write TOOL='{\"name\": 1}'") from None
    if not isinstance(arguments, dict):
        raise SystemExit(f"{text!r}: the arguments must be a JSON object")
    return tool, arguments


def _content(result: Any) -> Any:
    texts = [block.text for block in result.content if getattr(block, "type", None) == "text"]
    parsed = []
    for text in texts:
        try:
            parsed.append(json.loads(text))
        except ValueError:
            parsed.append(text)
    return parsed[0] if len(parsed) == 1 else parsed


async def run(server: str, calls: list[tuple[str, dict[str, Any]]]) -> int:
    parameters = server_parameters(server, dict(os.environ))
    from mcp import ClientSession, McpError
    from mcp.client.stdio import stdio_client

    failed = False
    async with stdio_client(parameters) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = sorted(tool.name for tool in (await session.list_tools()).tools)
            print(json.dumps({"server": server, "tools": tools}), flush=True)
            for tool, arguments in calls:
                if tool not in tools:
                    print(json.dumps({"call": tool, "error": f"the {server} server has no tool {tool}"}), flush=True)
                    failed = True
                    continue
                try:
                    result = await asyncio.wait_for(session.call_tool(tool, arguments), TIMEOUT)
                except McpError as exc:  # the server threw: the vendor answered an error, or it could not call it
                    print(json.dumps({"call": tool, "arguments": arguments, "error": exc.error.message}), flush=True)
                    failed = True
                    continue
                failed |= bool(result.isError)
                print(json.dumps({"call": tool, "arguments": arguments, "is_error": bool(result.isError),
                                  "result": _content(result)}), flush=True)
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in SERVERS:
        print(f"usage: official_mcp_client.py {{{','.join(SERVERS)}}} TOOL='JSON arguments'...", file=sys.stderr)
        return 2
    return asyncio.run(run(argv[0], [parse_call(arg) for arg in argv[1:]]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
