"""Snapshot and fork time: `snapshot(store, EP)` and `fork(store, snap)` for the four-fake world.

    python bench/bench_fork.py [--n 200]

The parent is mid-task: its ledger holds a few exchanges and state changes (as after an agent looked
up a customer and refunded a charge), and it runs under a fault profile, so the fault state is
rebuilt on every snapshot. Two cases:

    held   the parent's ledger and databases held open, as the proxy and the fakes hold them in a
           running sandbox (the goal is judged here)
    cold   nobody else has them open: each open creates and removes a -wal/-shm pair, and closing
           the last connection checkpoints with an fsync (a sandbox with its fakes stopped)

Writes bench/results/fork.json and bench/results/fork.md. Goal: median <= 5 ms each, like a new
episode (bench_episode.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.episodes.ledger import Ledger  # noqa: E402
from sandbox.episodes.snapshot import fork, snapshot  # noqa: E402
from sandbox.episodes.store import EpisodeStore  # noqa: E402
from sandbox.home import Home  # noqa: E402
from sandbox.limits import Limits, save_limits  # noqa: E402
from services import all_services  # noqa: E402

GOAL_MS = 5.0
CALLS = [("GET", "/v1/customers"), ("GET", "/v1/charges"), ("POST", "/v1/refunds"), ("GET", "/v1/refunds")]


def mid_task(store: EpisodeStore, seed: int) -> str:
    """A parent episode with a few answered exchanges in its ledger, under the rate-limit profile."""
    parent = store.create(seed, faults="rate-limit")
    with Ledger(store.home.ledger_path(parent.id)) as ledger:
        for method, path in CALLS:
            xid = ledger.begin_exchange(via="proxy", method=method, scheme="https", host="api.stripe.com",
                                        port=443, path=path, service="payments")
            ledger.end_exchange(xid, outcome="routed", status=200, response_headers=[("content-type", "json")],
                                response_body=b'{"object": "list", "data": []}')
    return parent.id


def summary(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {"median_ms": round(statistics.median(samples), 3), "p90_ms": round(samples[int(len(samples) * 0.9)], 3),
            "max_ms": round(samples[-1], 3)}


def measure(n: int, seed: int = 7, held: bool = True) -> dict:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        home = Home.resolve(tmp)
        save_limits(home, Limits(max_live_episodes=2 * n + 60, creations_per_minute=100_000))
        store = EpisodeStore(home)
        store.prepare(seed)
        parent = mid_task(store, seed)
        if held:  # as the proxy (ledger) and the fakes (their databases) hold them while the sandbox runs
            folder = home.episode_dir(parent)
            for path in sorted(folder.glob("*.db")):
                conn = stack.enter_context(contextlib.closing(sqlite3.connect(path)))
                conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        for _ in range(20):  # warm-up: page cache, imports, the profile, the registry
            fork(store, snapshot(store, parent))
        taking, forking = [], []
        for _ in range(n):
            t0 = time.perf_counter()
            snap = snapshot(store, parent)
            t1 = time.perf_counter()
            fork(store, snap)
            t2 = time.perf_counter()
            taking.append((t1 - t0) * 1000)
            forking.append((t2 - t1) * 1000)
        size = sum(p.stat().st_size for p in snap.path.glob("*.db"))
        store.close()
    return {
        "snapshot": summary(taking),
        "fork": summary(forking),
        "snapshot_bytes": size,
        "meets_goal": statistics.median(taking) <= GOAL_MS and statistics.median(forking) <= GOAL_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    result = {"benchmark": "snapshot_fork", "python": platform.python_version(), "machine": platform.machine(),
              "at": time.strftime("%Y-%m-%dT%H:%M:%S"), "n": args.n,
              "services": [spec.id for spec in all_services()], "goal_median_ms": GOAL_MS,
              "held": measure(args.n, held=True), "cold": measure(args.n, held=False)}
    result["meets_goal"] = result["held"]["meets_goal"]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "fork.json").write_text(json.dumps(result, indent=2) + "\n")
    goal = f"≤ {GOAL_MS} ms median"
    rows = "".join(f"| {what} | {case} | {result[case][what]['median_ms']} ms | {result[case][what]['p90_ms']} ms | "
                   f"{result[case][what]['max_ms']} ms | {goal if case == 'held' else ''} |\n"
                   for what in ("snapshot", "fork") for case in ("held", "cold"))
    (out / "fork.md").write_text(
        "# Snapshot and fork time\n\n"
        f"`python bench/bench_fork.py --n {args.n}` on {result['at']}: a mid-task episode of the four-fake world "
        f"({', '.join(result['services'])}) under the rate-limit profile. Snapshot: SQLite backup of each service "
        "database and the ledger, consistency checks, fault state replayed, manifest, a `snapshot` event. Fork: "
        "copy the snapshot's files, register the episode (limits, keys), its `forked` event and fault state.\n\n"
        "held: the parent's files held open, as in a running sandbox; cold: nobody else has them open.\n\n"
        "| step | case | median | p90 | max | goal |\n|---|---|---|---|---|---|\n" + rows +
        f"\nSnapshot size: {result['held']['snapshot_bytes']} bytes.\n"
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
