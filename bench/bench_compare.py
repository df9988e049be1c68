"""This tree against an earlier commit, in the same session: new-episode time and proxy throughput.

    python bench/bench_compare.py [--base 8edbda0] [--pairs 2]

Runs bench_episode.py and bench_proxy.py of the base commit (a temporary `git worktree`, imported
through PYTHONPATH with this venv's packages) and of this tree, in alternating pairs whose order
swaps every pair: on this machine the disk slows over back-to-back runs, so whichever runs first in
a pair is favoured, and only a swapped order says which difference is the code's. Each bench writes
its own results into its own tree; this script keeps the figures of every run.

Writes bench/results/compare.json and bench/results/compare.md. The default base is the commit
before the containment work (issue 10): isolation, redaction and limits must cost nothing there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def run_bench(tree: Path, script: str, extra: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run(["sync"], check=False)
    time.sleep(5)
    out = subprocess.run([sys.executable, f"bench/{script}", *extra], cwd=tree, env=env, capture_output=True,
                         text=True, timeout=1200)
    if out.returncode != 0:
        raise SystemExit(f"{script} in {tree} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    name = {"bench_episode.py": "episode.json", "bench_proxy.py": "proxy.json"}[script]
    return json.loads((tree / "bench" / "results" / name).read_text())


def figures(script: str, result: dict) -> dict:
    if script == "bench_episode.py":
        return {"median_ms": result["median_ms"], "p90_ms": result["p90_ms"]}
    scenarios = {name: s["req_s"] if isinstance(s, dict) else s for name, s in result["scenarios"].items()}
    bare = scenarios["bare_mitmdump"]
    return {"http_req_s": scenarios["sandbox_http"], "https_req_s": scenarios["sandbox_https"], "bare_req_s": bare,
            "http_vs_bare": round(scenarios["sandbox_http"] / bare, 3),
            "https_vs_bare": round(scenarios["sandbox_https"] / bare, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="8edbda0", help="the commit to compare with")
    parser.add_argument("--pairs", type=int, default=2, help="pairs per bench (the order swaps each pair)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-base-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), args.base], cwd=ROOT, check=True)
        try:
            runs: dict[str, list[dict]] = {}
            for script, extra in (("bench_episode.py", []), ("bench_proxy.py", [])):
                for pair in range(args.pairs):
                    order = [("base", base), ("head", ROOT)]
                    if pair % 2:
                        order.reverse()
                    for position, (label, tree) in enumerate(order):
                        result = figures(script, run_bench(tree, script, extra))
                        runs.setdefault(script, []).append({"pair": pair, "first": position == 0, "tree": label,
                                                            **result})
                        print(script, pair, label, result, flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    summary = {
        "base": args.base, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), "cpus": os.cpu_count(),
        "python": platform.python_version(), "runs": runs,
        "same_position": {script: {pos: {tree: statistics.median(
            [r[key] for r in rows if r["tree"] == tree and r["first"] == (pos == "first")])
            for tree in ("base", "head")} for pos in ("first", "second")}
            for script, rows in runs.items()
            for key in (("median_ms",) if script == "bench_episode.py" else ("http_vs_bare",))},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "compare.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [f"# This tree vs {args.base}, same session", "",
             f"`python bench/bench_compare.py --base {args.base} --pairs {args.pairs}` on {summary['at']}: "
             f"{summary['cpus']} CPUs, Python {summary['python']}. Pairs alternate their order (the first run "
             "of a pair is favoured by this machine's disk); compare figures in the same position.", ""]
    for script, rows in runs.items():
        keys = [k for k in rows[0] if k not in ("pair", "first", "tree")]
        lines += [f"## {script}", "", "| pair | position | tree | " + " | ".join(keys) + " |",
                  "|---|---|---|" + "---|" * len(keys)]
        lines += [f"| {r['pair']} | {'first' if r['first'] else 'second'} | {r['tree']} | "
                  + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
        lines.append("")
    lines += ["Same position, median (episode: median_ms; proxy: sandbox HTTP / bare mitmdump):", "",
              "```", json.dumps(summary["same_position"], indent=2), "```", ""]
    (RESULTS / "compare.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
