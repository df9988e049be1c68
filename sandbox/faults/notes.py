"""What a score says about the faults an episode met: "an injected 429 hit call 7 (GET /v1/charges)".

Read from the ledger alone (its faults and exchanges tables), like the rest of a score.
"""

from __future__ import annotations

from typing import Any

from services.common.mcp_wire import call_name

MAX_NOTES = 8

_WHAT = {
    "latency": lambda d: f"a {d.get('delay_ms', 0):.0f} ms delay",
    "dribble": lambda d: f"a slow body ({d.get('chunk_bytes')} bytes every {d.get('interval_ms'):.0f} ms)",
    "error": lambda d: f"an injected {d.get('status')}",
    "rate_limit": lambda d: f"an injected {d.get('status', 429)} rate limit (Retry-After {d.get('retry_after')})",
    "reset": lambda d: "a connection reset",
    "hang": lambda d: "a hang (no answer until the client gave up)",
    "truncate": lambda d: f"a truncated body ({d.get('sent_bytes')} of {d.get('declared_bytes')} bytes)",
    "malformed_json": lambda d: "malformed JSON",
    "drift": lambda d: f"schema drift ({'; '.join(d.get('changes') or ['no field matched'])})",
    "expire_session": lambda d: "an expired session (401)",
    "busy": lambda d: f"a 'resource busy' {d.get('status')}",
    "maintenance": lambda d: "a maintenance 503",
    "ghost_write": lambda d: "a ghost write (" + ("the write was applied, then the connection dropped" if "status"
                                                  not in d else f"the write was applied, the agent got {d['status']}")
                             + ")",
    "html": lambda d: f"UI nuisance ({'; '.join(d.get('changes') or [])})",
    "mcp_tool_error": lambda d: "an injected MCP tool error (isError)" if "tool" in d
    else "an MCP tool error rule (not a tool call: no effect)",
    "mcp_timeout": lambda d: f"an injected MCP timeout (JSON-RPC {d['code']})" if "code" in d
    else "an MCP timeout rule (not an MCP request: no effect)",
}


def describe_fault(fault: dict[str, Any]) -> str:
    what = _WHAT.get(fault["action"])
    return what(fault["detail"]) if what else fault["action"]


def fault_notes(faults: list[dict[str, Any]], exchanges: list[dict[str, Any]], *, success: bool = True
                ) -> list[str]:
    """One line per fault that fired (the first MAX_NOTES), and, for a failed episode, which fault
    came last before the end."""
    if not faults:
        return []
    calls = {row["id"]: (n, row) for n, row in enumerate(exchanges, start=1)}
    notes = []
    for fault in faults:
        n, row = calls.get(fault["exchange_id"], (None, None))
        where = f"call {n} ({call_name(row)})" if row else "a call"
        notes.append(f"fault: {describe_fault(fault)} hit {where} [rule {fault['rule']!r}]")
    shown = notes[:MAX_NOTES]
    if len(notes) > MAX_NOTES:
        shown.append(f"fault: ... and {len(notes) - MAX_NOTES} more injected faults")
    if not success:
        last = faults[-1]
        n, _ = calls.get(last["exchange_id"], (None, None))
        shown.insert(0, f"failed after {describe_fault(last)} on call {n} (of {len(exchanges)})")
    return shown
