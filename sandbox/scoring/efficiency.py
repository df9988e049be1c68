"""Efficiency figures of an episode, from its exchanges, changes and events.

- calls: exchanges the agent made (refused ones included: the agent tried);
- errors: answers >= 400, transport errors (injected ones included), refusals, and exchanges
  the proxy never finished;
- retries: requests repeating an earlier request (same method, URL and body) that had failed;
  an MCP call is the same call when its method, tool and arguments are (its JSON-RPC id differs),
  and it failed when it was answered with a JSON-RPC error or a tool result with isError;
- duplicated writes: writes that changed state again with the same request as an earlier write
  that had already changed state: a retry without an idempotency key, typically. A replay that an
  idempotency key turned into a no-op changes nothing and is not counted;
- seconds: how long the agent ran (as the runner recorded it), else the span of its exchanges.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from services.common.mcp_wire import answer_failed, exchange_call

READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Efficiency:
    calls: int
    errors: int
    retries: int
    duplicated_writes: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        # Wall seconds stay out of the reasons (they are in the details): the same run must give
        # the same reasons on any machine, or comparisons across runs would flag noise.
        return (f"efficiency: {self.calls} calls, {self.errors} errors, {self.retries} retries, "
                f"{self.duplicated_writes} duplicated writes")


def failed(exchange: dict[str, Any]) -> bool:
    # An error text means no whole answer came back: a transport error, an injected reset, hang or
    # dropped ghost write (outcome `faulted`), or an exchange the proxy never finished (closed at finish).
    status = exchange.get("status")
    return ((status or 0) >= 400 or exchange.get("outcome") in ("error", "refused") or bool(exchange.get("error"))
            or (exchange.get("method") == "POST" and answer_failed(exchange.get("response_body"))))


def signature(exchange: dict[str, Any]) -> tuple[Any, ...]:
    rpc = exchange_call(exchange)
    if rpc is not None:  # an MCP call: the same call whatever its JSON-RPC id
        arguments = json.dumps(rpc.arguments, sort_keys=True, default=str)
        return ("POST", exchange.get("host"), exchange.get("path"), rpc.method, rpc.tool or "", arguments)
    # The ledger keeps only a body's first bytes (ledger_body_bytes): its SHA-256 tells whole bodies apart.
    body = exchange.get("request_body_sha256") or exchange.get("request_body")
    return (exchange.get("method"), exchange.get("host"), exchange.get("path"), exchange.get("query") or "",
            bytes(body) if isinstance(body, bytes | bytearray | memoryview) else body)


def measure(exchanges: list[dict[str, Any]], changes: list[dict[str, Any]],
            events: list[dict[str, Any]] = ()) -> Efficiency:
    """The figures for one episode; `changes` are the agent's own (setup and internal excluded)."""
    changed_by = {c.get("exchange_id") for c in changes}
    failed_before: set[tuple[Any, ...]] = set()
    wrote_before: set[tuple[Any, ...]] = set()
    retries = duplicated = 0
    for exchange in exchanges:
        sig = signature(exchange)
        if sig in failed_before:
            retries += 1
        if failed(exchange):
            failed_before.add(sig)
        if exchange.get("method") not in READS and exchange.get("id") in changed_by:
            if sig in wrote_before:
                duplicated += 1
            wrote_before.add(sig)
    return Efficiency(
        calls=len(exchanges),
        errors=sum(1 for e in exchanges if failed(e)),
        retries=retries,
        duplicated_writes=duplicated,
        seconds=round(_seconds(exchanges, events), 3),
    )


def _seconds(exchanges: list[dict[str, Any]], events: list[dict[str, Any]]) -> float:
    for event in events:
        if event.get("kind") == "agent_exit" and event["detail"].get("seconds") is not None:
            return float(event["detail"]["seconds"])
    starts = [e["started_at"] for e in exchanges if e.get("started_at") is not None]
    if not starts:
        return 0.0
    ends = [e["started_at"] + (e.get("duration_ms") or 0) / 1000 for e in exchanges if e.get("started_at")]
    return max(ends) - min(starts)
