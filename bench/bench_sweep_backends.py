"""Sweep throughput by backend: scored episodes per minute for a 20-call scripted agent, the local
backend against the Ray backend on this machine (a one-node Ray cluster started for the run, on
loopback: one sandbox actor), the same plan and `--parallel` for both.

    SANDBOX_SERVICES=payments python bench/bench_sweep_backends.py [--n 20] [--parallel 2]

Each episode is a full sweep episode (create, run the agent process, 19 reads and a refund through
the proxy, finish, score, drill-down). Measured apart: the episodes themselves (episodes/min), and
what each backend pays before the first episode (local: start the sandbox; Ray: start Ray, place
the actor, which starts its sandbox and builds the world's templates). Writes
bench/results/sweep_backends.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.home import Home  # noqa: E402
from sandbox.run.supervisor import Sandbox  # noqa: E402
from sandbox.sweep import build_plan, run_sweep  # noqa: E402
from sandbox.sweep.episode import prepare_templates  # noqa: E402
from sandbox.sweep.ray_backend import run_sweep_ray  # noqa: E402

AGENT = [sys.executable, str(ROOT / "bench" / "scripted_agent.py")]


def plan_of(n: int):
    return build_plan({"scripted-20": AGENT}, ["refund-duplicate-charge"], ["none"], seeds=1, trials=n)


def check(doc: dict) -> None:
    rows = doc["rows"]
    assert all(r["success"] and r["calls"] == 20 for r in rows), [r["reasons"] for r in rows if not r["success"]]


def local(n: int, parallel: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        home = Home.resolve(tmp)
        started = time.perf_counter()
        with Sandbox(home, ephemeral=True, workers=max(2, parallel)) as sandbox:
            prepare_templates(home, [plan_of(1).cells[0].seed])
            ready = time.perf_counter()
            run_sweep(plan_of(2), home=home, ports=sandbox.ports, parallel=parallel)  # warm-up: page cache, imports
            t0 = time.perf_counter()
            doc = run_sweep(plan_of(n), home=home, ports=sandbox.ports, parallel=parallel)
            elapsed = time.perf_counter() - t0
    check(doc)
    return {"setup_s": round(ready - started, 2), "episodes_per_min": round(n / elapsed * 60, 1),
            "episodes_s": round(elapsed, 2)}


def on_ray(n: int, parallel: int) -> dict:
    import ray

    with tempfile.TemporaryDirectory(prefix="ray-", dir="/tmp") as tmp:
        (Path(tmp) / "ray").mkdir()
        os.environ["RAY_TMPDIR"] = tmp  # Ray's files in the run's own folder, gone after
        started = time.perf_counter()
        ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
                 object_store_memory=100 * 1024 * 1024, _temp_dir=str(Path(tmp) / "ray"))
        try:
            home = Home.resolve(Path(tmp) / "home")
            placed: list[float] = []
            mark = lambda infos: placed.append(time.perf_counter())  # noqa: E731
            run_sweep_ray(plan_of(2), home=home, parallel=parallel, on_placed=mark)  # warm-up; first placement
            t0 = time.perf_counter()
            doc = run_sweep_ray(plan_of(n), home=home, parallel=parallel, on_placed=mark)
            end = time.perf_counter()
        finally:
            ray.shutdown()
    check(doc)
    # Every sweep places its sandboxes anew (templates are kept in the home): the measured sweep's
    # episodes are timed from its placement on, and its placement is reported beside them.
    elapsed = end - placed[1]
    return {"setup_s": round(placed[0] - started, 2), "placement_s": round(placed[1] - t0, 2),
            "episodes_per_min": round(n / elapsed * 60, 1), "episodes_s": round(elapsed, 2),
            "sweep_s": round(end - t0, 2), "sandboxes": len(doc["backend"]["sandboxes"])}


def _median_round(runs: list[dict]) -> dict:
    """The run with the median episodes per minute (the lower middle one of an even count)."""
    return sorted(runs, key=lambda r: r["episodes_per_min"])[(len(runs) - 1) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20, help="episodes per measurement")
    parser.add_argument("--parallel", type=int, default=2, help="episodes at once (per sandbox)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="local then Ray, this many times: on a shared machine the load drifts between runs")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rounds = [(local(args.n, args.parallel), on_ray(args.n, args.parallel)) for _ in range(args.rounds)]
    result = {
        "benchmark": "sweep_backends", "python": platform.python_version(), "machine": platform.machine(),
        "cores": os.cpu_count(), "services": os.environ.get("SANDBOX_SERVICES", "all"),
        "at": time.strftime("%Y-%m-%dT%H:%M:%S"), "episodes": args.n, "calls_per_episode": 20,
        "parallel": args.parallel, "load_average_before": round(load_before, 2),
        "local": _median_round([r[0] for r in rounds]), "ray": _median_round([r[1] for r in rounds]),
        "rounds": [{"local": loc, "ray": ray_} for loc, ray_ in rounds],
        "load_average_after": round(os.getloadavg()[0], 2),
    }
    ratio = result["ray"]["episodes_per_min"] / result["local"]["episodes_per_min"]
    result["ray_vs_local"] = round(ratio, 3)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep_backends.json").write_text(json.dumps(result, indent=2) + "\n")
    loc, ray_ = result["local"], result["ray"]
    (out / "sweep_backends.md").write_text(
        "# Sweep throughput: local backend vs Ray backend\n\n"
        f"`{'SANDBOX_SERVICES=' + result['services'] + ' ' if result['services'] != 'all' else ''}python "
        f"bench/bench_sweep_backends.py --n {args.n} --parallel {args.parallel} --rounds {args.rounds}` "
        f"on {result['at']} "
        f"({result['cores']} cores, load average {result['load_average_before']} before and "
        f"{result['load_average_after']} after: the machine was shared). The 20-call scripted agent "
        "(bench/scripted_agent.py), each episode a full sweep episode; the Ray backend on a one-node Ray "
        "cluster of this machine (one sandbox actor).\n\n"
        "| backend | episodes per minute | episodes took | before the first episode |\n|---|---|---|---|\n"
        f"| local | {loc['episodes_per_min']} | {loc['episodes_s']} s | {loc['setup_s']} s (start the sandbox) |\n"
        f"| ray | {ray_['episodes_per_min']} | {ray_['episodes_s']} s | {ray_['setup_s']} s (start Ray, place the "
        f"actor: its sandbox and templates); {ray_['placement_s']} s for a later sweep's placement |\n\n"
        f"Medians of {args.rounds} rounds (local, then Ray, each round); episodes per minute by round: local "
        f"{', '.join(str(r[0]['episodes_per_min']) for r in rounds)}; Ray "
        f"{', '.join(str(r[1]['episodes_per_min']) for r in rounds)}. Ray / local: {ratio:.2f}.\n\n"
        "On one machine Ray adds no cores, only its own processes (GCS, raylet, workers) and a round trip "
        "per episode, so the two should be about even; a difference as large as the spread between rounds "
        "is the shared machine's load, not the backend. The gain is on a cluster, where each node's sandbox "
        "brings its own cores and the sweep's rate is about the sum of the nodes' local rates.\n"
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
