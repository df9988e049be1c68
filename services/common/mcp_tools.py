"""The MCP tools of every registered fake, by name: for checks made outside the fakes (a fault rule's
`mcp_tool` must name a tool that exists)."""

from __future__ import annotations

import functools
import importlib


@functools.cache
def all_tool_names() -> frozenset[str]:
    from services import _MODULES

    names: set[str] = set()
    for module in _MODULES.values():
        try:
            server = importlib.import_module(f"{module}.mcp").SERVER
        except ModuleNotFoundError:
            continue  # a fake without an MCP server
        names |= set(server.by_name)
    return frozenset(names)
