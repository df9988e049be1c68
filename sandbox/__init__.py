"""agent-sandbox: a staging world for AI agents.

    import sandbox
    with sandbox.episode("refund-duplicate-charge") as ep:
        ep.run(["python", "my_agent.py"])
    print(ep.result.render())

`episode`, `start_episode` and `open_sandbox` are imported on first use (sandbox.interfaces.api), so that
`import sandbox.<module>` stays as cheap as it was: the proxy and the fakes import this package too.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs every isolated agent start ~8 ms
if TYPE_CHECKING:
    from typing import Any

__all__ = ["episode", "fork", "open_sandbox", "start_episode"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sandbox.interfaces import api

        return getattr(api, name)
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
