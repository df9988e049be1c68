"""New-episode time: how long `EpisodeStore.create` takes once the seed's template exists.

    python bench/bench_episode.py [--n 300]

Writes bench/results/episode.json and bench/results/episode.md. Goal: median <= 5 ms.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.episodes.store import EpisodeStore  # noqa: E402
from sandbox.episodes.templates import ensure_templates  # noqa: E402
from sandbox.home import Home  # noqa: E402
from sandbox.limits import Limits, save_limits  # noqa: E402

GOAL_MS = 5.0


def measure(n: int, seed: int = 7) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        home = Home.resolve(tmp)
        # Its own home, so its own limits: every episode stays live (the default keeps 200).
        save_limits(home, Limits(max_live_episodes=n + 20))
        started = time.perf_counter()
        ensure_templates(home, seed)
        template_ms = (time.perf_counter() - started) * 1000
        store = EpisodeStore(home)
        for _ in range(20):  # warm-up: page cache, imports, registry
            store.create(seed)
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            store.create(seed)
            samples.append((time.perf_counter() - t0) * 1000)
        store.close()
        size = sum(p.stat().st_size for p in home.template_dir(seed).glob("*.db"))
    samples.sort()
    return {
        "n": n,
        "median_ms": round(statistics.median(samples), 3),
        "p90_ms": round(samples[int(n * 0.9)], 3),
        "max_ms": round(samples[-1], 3),
        "template_build_ms": round(template_ms, 1),
        "template_bytes": size,
        "goal_median_ms": GOAL_MS,
        "meets_goal": statistics.median(samples) <= GOAL_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    result = {"benchmark": "new_episode", "python": platform.python_version(), "machine": platform.machine(),
              "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **measure(args.n)}
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "episode.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "episode.md").write_text(
        "# New-episode time\n\n"
        f"`python bench/bench_episode.py --n {args.n}` on {result['at']}: copy every service's template "
        "database and the ledger template, write the ledger's meta, register the episode.\n\n"
        f"| median | p90 | max | goal |\n|---|---|---|---|\n"
        f"| {result['median_ms']} ms | {result['p90_ms']} ms | {result['max_ms']} ms | ≤ {GOAL_MS} ms median |\n\n"
        f"Template build (once per seed): {result['template_build_ms']} ms, {result['template_bytes']} bytes.\n"
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
