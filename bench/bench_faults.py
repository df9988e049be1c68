"""Fault-profile overhead: proxy throughput for an episode with a profile of 50 rules that never
match the traffic, against an episode with no profile, in the same run.

    python bench/bench_faults.py [--requests 3000] [--concurrency 16] [--rounds 3]

One payments fake (gunicorn) and one sandbox proxy; two episodes of seed 7. Both send the same
request, `GET /v1/customers/<id>` as a plain-HTTP proxy request, the cheapest path through the
proxy, so the rules' cost shows most. Every rule of the profile agrees with the request on host
and method and fails only on its path, so each request evaluates all 50 rules to the end (the
worst case for a non-matching rule). The scenarios alternate over `--rounds`, the median round is
reported. The load generator and process handling are bench/bench_proxy.py's.

Writes bench/results/faults.json and bench/results/faults.md. Goal: with profile >= 0.90 of without.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import mitmproxy.version  # noqa: E402
from bench_proxy import Children, Target, cpu_seconds, free_port, http_ok, load  # noqa: E402

from sandbox.episodes.ledger import Ledger  # noqa: E402
from sandbox.episodes.store import EpisodeStore  # noqa: E402
from sandbox.faults import load_profile  # noqa: E402
from sandbox.home import Home  # noqa: E402

GOAL = 0.90
RULES = 50
SCENARIOS = ("no_profile", "profile_50_rules")


def write_profile(path: Path) -> Path:
    rules = "\n".join(
        f"  - name: never-{i}\n"
        f"    match: {{host: api.stripe.com, method: GET, path: \"/v1/nothing-{i}/*\", probability: 0.5}}\n"
        f"    action: {{kind: error, status: 503}}"
        for i in range(RULES)
    )
    path.write_text(f"name: fifty-non-matching\nseed: 1\nrules:\n{rules}\n")
    assert len(load_profile(path).rules) == RULES
    return path


def run(args: argparse.Namespace, tmp: Path) -> dict:
    os.environ["SANDBOX_SERVICES"] = "payments"  # the proxy and the fake need only payments here
    home = Home.resolve(tmp / "home")
    store = EpisodeStore(home)
    episodes = {"no_profile": store.create(seed=7),
                "profile_50_rules": store.create(seed=7, faults=str(write_profile(tmp / "profile.yaml")))}
    store.close()
    key = episodes["no_profile"].api_keys["payments"]
    py = [sys.executable, "-m"]
    children = Children(tmp)
    try:
        fake_port, proxy_port = free_port(), free_port()
        fake = children.start(
            "payments",
            [*py, "sandbox.run.serve", "payments", "--home", str(home.root), "--port", str(fake_port)],
            http_ok(f"http://127.0.0.1:{fake_port}/_sandbox/health"),
        )
        proxy = children.start(
            "sandbox_proxy",
            [*py, "sandbox.proxy", "--home", str(home.root), "--port", str(proxy_port)]
            + ["--service", f"payments={fake_port}"],
            http_ok(f"http://127.0.0.1:{proxy_port}/_sandbox/health"),
        )
        auth = {"Authorization": f"Bearer {key}"}
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            urllib.request.Request(f"http://127.0.0.1:{fake_port}/v1/customers?limit=1", headers=auth), timeout=10
        ) as response:
            customer = json.load(response)["data"][0]["id"]
        targets = {}
        for name, episode in episodes.items():
            basic = base64.b64encode(f"{episode.id}:{episode.token}".encode()).decode()
            targets[name] = Target(f"http://api.stripe.com/v1/customers/{customer}", f"http://127.0.0.1:{proxy_port}",
                                   headers={"Proxy-Authorization": f"Basic {basic}"})
        keys = {name: {"Authorization": f"Bearer {e.api_keys['payments']}"} for name, e in episodes.items()}

        rounds: dict[str, list[dict]] = {name: [] for name in SCENARIOS}
        loadavg_before = os.getloadavg()
        for r in range(args.rounds):
            for name in SCENARIOS if r % 2 == 0 else tuple(reversed(SCENARIOS)):
                asyncio.run(load(targets[name], keys[name], args.warmup, args.concurrency))
                before = (cpu_seconds(proxy.proc.pid), cpu_seconds(fake.proc.pid, with_children=True))
                elapsed, latencies, errors = asyncio.run(load(targets[name], keys[name], args.requests,
                                                              args.concurrency))
                after = (cpu_seconds(proxy.proc.pid), cpu_seconds(fake.proc.pid, with_children=True))
                latencies.sort()
                rounds[name].append({
                    "req_s": round(args.requests / elapsed, 1),
                    "p50_ms": round(latencies[len(latencies) // 2], 2),
                    "errors": errors,
                    "proxy_cpu_cores": round((after[0] - before[0]) / elapsed, 2),
                    "fake_cpu_cores": round((after[1] - before[1]) / elapsed, 2),
                })
                print(f"round {r + 1} {name:18s} {args.requests / elapsed:8.1f} req/s  errors {errors}", flush=True)
    finally:
        children.stop()

    faults_fired = 0
    with Ledger(home.ledger_path(episodes["profile_50_rules"].id)) as ledger:
        faults_fired = len(ledger.faults())
        rows = ledger.conn.execute("SELECT COUNT(*) FROM exchanges WHERE status=200").fetchone()[0]

    scenarios = {}
    for name in SCENARIOS:
        ordered = sorted(rounds[name], key=lambda x: x["req_s"])
        median = ordered[len(ordered) // 2]
        scenarios[name] = {**median, "rounds_req_s": [x["req_s"] for x in rounds[name]],
                           "errors": sum(x["errors"] for x in rounds[name])}
    ratio = round(scenarios["profile_50_rules"]["req_s"] / scenarios["no_profile"]["req_s"], 3)
    return {
        "benchmark": "faults",
        "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "mitmproxy": mitmproxy.version.VERSION, "loadavg_before": [round(x, 2) for x in loadavg_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "config": {"endpoint": "GET http://api.stripe.com/v1/customers/<id> as a plain-HTTP proxy request",
                   "rules": RULES,
                   "rule_shape": "host and method match, path does not: every rule is tried on every request "
                                 "(by the profile's one-regex prefilter, then no exact check is needed)",
                   "requests_per_round": args.requests, "concurrency": args.concurrency,
                   "warmup_per_round": args.warmup, "rounds": args.rounds},
        "scenarios": scenarios,
        "faults_fired_with_profile": faults_fired,
        "ok_exchanges_with_profile": rows,
        "ratio_profile_vs_none": ratio,
        "goal": GOAL,
        "meets_goal": ratio >= GOAL,
    }


def markdown(result: dict) -> str:
    rows = [f"| {name} | {s['req_s']:.0f} | {s['p50_ms']:.1f} | {s['errors']} | {s['proxy_cpu_cores']:.2f} | "
            f"{', '.join(f'{x:.0f}' for x in s['rounds_req_s'])} |" for name, s in result["scenarios"].items()]
    c, m = result["config"], result["machine"]
    return f"""# Fault-profile overhead

`python bench/bench_faults.py` on {result["at"]}: {m["cpus"]} CPUs, Python {m["python"]}, mitmproxy {m["mitmproxy"]},
load average {m["loadavg_before"][0]} before and {m["loadavg_after"][0]} after.
{c["endpoint"]}; {c["concurrency"]} keep-alive connections, {c["requests_per_round"]} requests per round after
{c["warmup_per_round"]} warm-up, {c["rounds"]} rounds in alternating order, the median round reported.

| episode | req/s | p50 ms | errors | proxy CPU cores | req/s per round |
|---|---|---|---|---|---|
{chr(10).join(rows)}

- **with a profile of {c["rules"]} non-matching rules / without: {result["ratio_profile_vs_none"]}**
  (goal ≥ {result["goal"]}: {"met" if result["meets_goal"] else "NOT met"}).
- Rule shape: {c["rule_shape"]}. Faults fired: {result["faults_fired_with_profile"]} (none expected).
- The proxy is one event-loop thread on 2 shared cores (load generator, proxy and fake); absolute figures
  vary from run to run, the ratio within one run is what this measures.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        result = run(args, Path(tmp))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "faults.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "faults.md").write_text(markdown(result))
    print(json.dumps({k: v["req_s"] for k, v in result["scenarios"].items()} | {
        "ratio": result["ratio_profile_vs_none"]}))


if __name__ == "__main__":
    main()
