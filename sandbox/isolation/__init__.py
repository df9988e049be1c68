"""Isolation: the agent runs (on Linux) in its own network namespace whose only way out is the proxy.

Without it, `HTTPS_PROXY` is a request, not a wall: Node's global fetch, Go programs with their own
transport and `curl --noproxy '*'` ignore it, reach whatever the host can reach, and the score says
"0 calls" with no hint why. With it, vendor hostnames resolve to a relay into the proxy, so such a
client reaches the fakes unchanged (and is ledgered like any proxied call); the proxy's URL and the
fakes' base URLs keep working; anything else is refused. See launch.py for the process tree,
relay.py for what listens inside, gate.py for the one thing that crosses to the host, host.py for
the runner's side.

    from sandbox.isolation import Isolation, decide
    isolate, why_not = decide(None)                     # None: on where the kernel allows
    command = Isolation.for_episode(home, ports, env).wrap(["node", "agent.mjs"]) if isolate else [...]

Needs Linux user namespaces (no root). Where they are off, `decide(None)` says so once and the agent
runs without isolation; `decide(True)` raises instead.

The names below are imported on first use (from host.py): this package is also imported by the
launcher, on every isolated agent's start, and must stay cheap to import.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself is ~8 ms of import: not on the launcher's path
if TYPE_CHECKING:
    from typing import Any

__all__ = ["NO_ISOLATE_HELP", "Isolation", "available", "concrete_hosts", "decide", "isolation_available",
           "isolation_for"]


def __getattr__(name: str) -> Any:
    if name in ("available", "isolation_available"):  # (ok, why not): probed once per process
        from sandbox.isolation.namespaces import available

        return available
    if name in __all__:
        from sandbox.isolation import host

        return getattr(host, name)
    raise AttributeError(f"module 'sandbox.isolation' has no attribute {name!r}")
