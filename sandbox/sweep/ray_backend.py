"""Sweeps on Ray: `sandbox sweep --backend ray [--address auto|HOST:PORT|ray://HOST:10001]`.

One sandbox (proxy, fakes, control API, as `sandbox up` starts them) per Ray node that has a CPU,
as an actor pinned to that node (sandbox/sweep/ray_sandbox.py); the plan's cells are handed out
to the sandboxes, at most `parallel` running in each, and every cell runs the local backend's own
`run_cell`. So the rows, the report and pass^k are those of `--backend local` for the same plan
and seeds: rows in the plan's order, the same scores and reasons. Only the episode ids (`s1-ep000003`:
sandbox s1's third episode, its ledger in that sandbox's home on its node) and the timings differ.

A lost sandbox (its node died, its actor was killed or crashed) loses only the episodes it was
running: each is run again on a live sandbox, at most MAX_RERUNS times, and its row says so
(`reruns`); `backend.lost` in the results names what was lost where. When no sandbox is left, new
ones are placed on the live nodes, if any.

Without `address` the sweep starts a Ray cluster of this machine alone (loopback, no dashboard,
a small object store: a sweep ships rows, not tensors) and stops it after; with one it joins that
cluster and leaves it running. Ray is an optional extra: `pip install 'agent-sandbox[ray]'`.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.errors import ConfigError, SandboxError
from sandbox.home import Home
from sandbox.sweep.plan import Cell, SweepPlan
from sandbox.sweep.ray_sandbox import SandboxActor
from sandbox.sweep.run import Row, failed_row, plan_document, row_sink

RAY_INSTALL = "pip install 'agent-sandbox[ray]'"
MAX_RERUNS = 2  # a cell lost with its sandbox this often more is a failed row, not a loop over dying nodes
LOCAL_OBJECT_STORE = 100 * 1024 * 1024  # bytes; Ray's default is 30 % of the machine's memory
STOP_WAIT = 30.0  # seconds a sandbox gets to stop its children before its actor is killed
PLACE_WAIT = 300.0  # seconds a sandbox may take to be scheduled on its node and start (templates included)


def require_ray() -> Any:
    """The `ray` module, or a ConfigError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray needs Ray, which is not installed in this Python",
                          hint=f"{RAY_INSTALL}, or sweep on this machine alone with --backend local") from None
    return ray


@contextlib.contextmanager
def connected(ray: Any, address: str | None) -> Iterator[str]:
    """Connected to a Ray cluster for the block; yields what it is. A driver already connected
    (ray.init before run_sweep_ray) stays as it is."""
    if ray.is_initialized():
        yield "the connected cluster"
        return
    try:
        if address is None:
            ray.init(address="local", include_dashboard=False, object_store_memory=LOCAL_OBJECT_STORE,
                     _node_ip_address="127.0.0.1",
                     log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"--address {address}: cannot join the Ray cluster there ({exc})",
                          hint="start one with `ray start --head` (then --address auto), or leave --address out "
                               "to run on a Ray cluster of this machine alone") from None
    try:
        yield address or "a Ray cluster of this machine, started for this sweep"
    finally:
        ray.shutdown()


@dataclass
class Placed:
    """A sandbox actor and what the driver knows of it."""

    name: str
    actor: Any
    node: str
    info: dict[str, Any] | None = None
    running: int = 0
    alive: bool = True


def run_sweep_ray(plan: SweepPlan, *, home: Home, address: str | None = None, parallel: int = 2,
                  timeout: float | None = None, on_done: Callable[[Row], None] | None = None,
                  bootstrap_seed: int = 0, partial: Path | None = None, isolate: bool | None = None,
                  on_placed: Callable[[list[dict[str, Any]]], None] | None = None) -> dict[str, Any]:
    """Run every cell of `plan` on a sandbox per Ray node; returns the results document, as
    sandbox.sweep.run_sweep does (same `on_done`, `partial`, `isolate`), with `backend` added:
    where each sandbox ran and which episodes were lost where. `parallel`: episodes at once per
    sandbox. `home`: each sandbox's home is `<home>/ray/<name>` on its node. `on_placed(infos)`:
    called once the sandboxes are up, and again when replacements are."""
    ray = require_ray()
    with connected(ray, address) as cluster:
        return _Sweep(ray, plan, home, parallel, timeout, isolate, on_placed).run(
            cluster, on_done, bootstrap_seed, partial)


class _Sweep:
    """The driver's side of one Ray sweep: places sandboxes, hands out cells, reruns lost ones."""

    def __init__(self, ray: Any, plan: SweepPlan, home: Home, parallel: int, timeout: float | None,
                 isolate: bool | None, on_placed: Callable[[list[dict[str, Any]]], None] | None) -> None:
        self.ray, self.plan, self.home = ray, plan, home
        self.parallel, self.timeout, self.isolate, self.on_placed = max(1, parallel), timeout, isolate, on_placed
        self.sandboxes: list[Placed] = []
        self.lost: list[dict[str, Any]] = []
        # A lost actor fails its calls with RayActorError; a lost node's objects, with the others.
        exc = ray.exceptions
        self.lost_errors = (exc.RayActorError, exc.WorkerCrashedError, exc.ObjectLostError)

    def run(self, cluster: str, on_done: Callable[[Row], None] | None, bootstrap_seed: int,
            partial: Path | None) -> dict[str, Any]:
        rows: list[Row] = []
        episodes: dict[str, Any] = {}
        pending: deque[tuple[Cell, int]] = deque((cell, 0) for cell in self.plan.cells)
        running: dict[Any, tuple[Placed, Cell, int]] = {}
        try:
            self._place()
            with row_sink(partial, rows, episodes, on_done) as keep:
                try:
                    while pending or running:
                        self._hand_out(pending, running)
                        ready, _ = self.ray.wait(list(running), num_returns=1)
                        sandbox, cell, reruns = running.pop(ready[0])
                        sandbox.running -= 1
                        done = self._collect(ready[0], sandbox, cell, reruns, pending)
                        if done is not None:
                            self._hand_out(pending, running)  # the freed slot works while the row is kept
                            keep(*done)
                except BaseException:
                    self._interrupt(running)
                    raise
        finally:
            self._stop_all()
        doc = plan_document(self.plan, rows, episodes, bootstrap_seed=bootstrap_seed)
        doc["backend"] = {"name": "ray", "cluster": cluster, "parallel_per_sandbox": self.parallel,
                          "sandboxes": [s.info or {"sandbox": s.name, "node": s.node} for s in self.sandboxes],
                          "lost": self.lost}
        return doc

    # -- placing sandboxes ---------------------------------------------------------------------

    def _place(self) -> None:
        """A sandbox on each live node with a CPU, up and answering before any cell is handed out."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = [n["NodeID"] for n in self.ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= 1]
        if not nodes:
            raise ConfigError("the Ray cluster has no live node with a CPU to place a sandbox on",
                              hint="add a node with `ray start --address HEAD:PORT --num-cpus 2`")
        remote = self.ray.remote(SandboxActor)
        seeds = sorted({cell.seed for cell in self.plan.cells})
        fresh = []
        for node in nodes:
            name = f"s{len(self.sandboxes)}"
            actor = remote.options(
                num_cpus=1, max_concurrency=self.parallel + 2,  # + where/interrupt calls beside the cells
                scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
            ).remote(name, str(self.home.root), seeds, max(2, self.parallel), os.getcwd(), self.isolate)
            placed = Placed(name, actor, node)
            self.sandboxes.append(placed)
            fresh.append(placed)
        for placed in fresh:
            try:
                placed.info = self.ray.get(placed.actor.where.remote(), timeout=PLACE_WAIT)
            except self.ray.exceptions.RayError as exc:  # GetTimeoutError too: no free CPU there, say
                raise ConfigError(f"sandbox {placed.name} could not start on Ray node {placed.node}: "
                                  f"{_first_line(exc)} ... {_last_line(exc)}",
                                  hint=f"its home is {self.home.root}/ray/{placed.name} on that node: the folder must "
                                       "be writable there and agent-sandbox installed in the node's Python") from None
        if self.on_placed:
            self.on_placed([p.info for p in fresh if p.info])

    # -- handing out cells and collecting rows ----------------------------------------------------

    def _hand_out(self, pending: deque[tuple[Cell, int]], running: dict[Any, tuple[Placed, Cell, int]]) -> None:
        """Fill every live sandbox up to `parallel` running cells, the least busy first, in plan order."""
        if pending and not running and not any(s.alive for s in self.sandboxes):
            self._place()  # every sandbox was lost: start again on the nodes still there (or raise)
        while pending:
            free = [s for s in self.sandboxes if s.alive and s.running < self.parallel]
            if not free:
                return
            sandbox = min(free, key=lambda s: s.running)
            cell, reruns = pending.popleft()
            ref = sandbox.actor.run.remote(cell, self.plan.agents[cell.agent], self.timeout)
            running[ref] = (sandbox, cell, reruns)
            sandbox.running += 1

    def _collect(self, ref: Any, sandbox: Placed, cell: Cell, reruns: int, pending: deque[tuple[Cell, int]]
                 ) -> tuple[Row, dict[str, Any] | None] | None:
        """The row of a finished cell; None when its sandbox was lost and the cell went back in line."""
        try:
            row, drill = self.ray.get(ref)
        except self.lost_errors as exc:
            sandbox.alive = False
            self.lost.append({"agent": cell.agent, "task": cell.task.id, "faults": cell.faults, "seed": cell.seed,
                              "trial": cell.trial, "sandbox": sandbox.name, "node": sandbox.node,
                              "error": _first_line(exc)})
            if reruns < MAX_RERUNS:
                pending.appendleft((cell, reruns + 1))  # first in line: a lost cell is not left for last
                return None
            row, drill = failed_row(cell, SandboxError(f"lost with its Ray sandbox {reruns + 1} times, the last on "
                                                       f"{sandbox.name}: {_first_line(exc)}")), None
        except self.ray.exceptions.RayTaskError as exc:  # a bug in the actor, not a lost node: a failed row
            row, drill = failed_row(cell, exc), None
        row["reruns"] = reruns
        return row, drill

    # -- stopping --------------------------------------------------------------------------------

    def _interrupt(self, running: dict[Any, tuple[Placed, Cell, int]]) -> None:
        """Ctrl-C: the running agents are killed and their episodes finished, as a local sweep does."""
        for sandbox in self.sandboxes:
            if sandbox.alive:
                sandbox.actor.interrupt.remote()
        if running:
            self.ray.wait(list(running), num_returns=len(running), timeout=STOP_WAIT)

    def _stop_all(self) -> None:
        stops = [s.actor.stop.remote() for s in self.sandboxes if s.alive]
        with contextlib.suppress(Exception):
            self.ray.wait(stops, num_returns=len(stops), timeout=STOP_WAIT)
        for sandbox in self.sandboxes:
            with contextlib.suppress(Exception):
                self.ray.kill(sandbox.actor)  # its children die with it (PR_SET_PDEATHSIG)


def _last_line(exc: BaseException) -> str:
    """The end of a Ray error's text: the error raised inside the actor, after Ray's traceback."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
