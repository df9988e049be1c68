"""One sandbox on one Ray node: the Ray actor a `sandbox sweep --backend ray` places per node.

It starts the proxy, the fakes and the control API as `sandbox up` does (sandbox.run.supervisor),
on free loopback ports of its node, in its own home, and runs the sweep's cells there with the
local backend's own `run_cell`: the same episode, score and drill-down as a local sweep. Several
cells run at once on the actor's threads (Ray's `max_concurrency`).

The sandbox's children (fakes, proxy) and the agents it starts die with the actor's process
however it dies (PR_SET_PDEATHSIG, see supervisor.py): a killed actor or a lost node leaves
nothing running behind it.

This module does not import Ray: the backend wraps the class with `ray.remote` when it places it.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
from pathlib import Path
from typing import Any

from sandbox.home import Home
from sandbox.sweep.episode import prepare_templates
from sandbox.sweep.plan import Cell
from sandbox.sweep.run import Row, run_cell


class SandboxActor:
    """A sandbox named `name` (`s0`, `s1`, ...) in `<root>/ray/<name>` on the node it runs on.

    `cwd`: the driver's working folder, so agent commands written relative to it (`python
    examples/agent.py`) mean the same on this node, where it exists. `isolate` as in run_task. `seeds`: the worlds whose
    templates are built before the first cell (a template build of one process must not overlap
    another)."""

    def __init__(self, name: str, root: str, seeds: list[int], workers: int = 2, cwd: str | None = None,
                 isolate: bool | None = None) -> None:
        from sandbox.isolation import decide
        from sandbox.run.supervisor import Sandbox

        if cwd and Path(cwd).is_dir():
            os.chdir(cwd)  # this process is the actor's alone: no one else's working folder changes
        self.name = name
        self.home = Home.resolve(Path(root) / "ray" / name)
        self._sandbox = Sandbox(self.home, ephemeral=True, workers=workers).start()
        prepare_templates(self.home, seeds)
        self.isolate = isolate
        decide(isolate)  # probed once, before the cells' threads (as run_sweep does)
        self._stop = threading.Event()
        self._ids = itertools.count(1)
        self._ids_lock = threading.Lock()

    def where(self) -> dict[str, Any]:
        """Where this sandbox runs: its node, process, home and ports (the backend's placement record)."""
        import ray

        return {"sandbox": self.name, "node": ray.get_runtime_context().get_node_id(), "host": socket.gethostname(),
                "pid": os.getpid(), "home": str(self.home.root), "ports": self._sandbox.ports}

    def run(self, cell: Cell, command: list[str], timeout: float | None) -> tuple[Row, dict[str, Any] | None]:
        """One cell as one scored episode, named `<sandbox>-epNNNNNN` so ids from different sandboxes
        never collide in one results file (and say which home keeps the ledger)."""
        return run_cell(cell, command, self.home, self._sandbox.ports, timeout, self._stop, self.isolate,
                        episode_id=self._next_id())

    def interrupt(self) -> None:
        """Kill the running agents now; their episodes are finished and scored as they stand."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        self._sandbox.stop()

    def _next_id(self) -> str:
        # The home outlives the sweep (templates are reused): skip the ids of earlier sweeps' episodes.
        with self._ids_lock:
            while True:
                episode = f"{self.name}-ep{next(self._ids):06d}"
                if not self.home.episode_dir(episode).exists():
                    return episode
