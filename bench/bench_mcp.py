"""MCP tool calls per second through the proxy, next to the REST calls they stand for, same run.

    python bench/bench_mcp.py [--requests 600] [--concurrency 8] [--rounds 3]

One embedded sandbox (payments only: its gunicorn fake, the proxy), one episode, and four pairs of
scenarios, each an MCP tool call and the REST call it runs inside the fake:

    read   tools/call list_customers {email}     vs  GET  /v1/customers?email=...&limit=10
    write  tools/call create_customer {name}     vs  POST /v1/customers name=...

each through the proxy (CONNECT + TLS to mcp.stripe.com / api.stripe.com, as an agent calls them;
every exchange goes to the ledger) and directly to the fake (its base URL: `/mcp` and the REST
path), which says how much of the difference is the MCP layer and how much the proxy. MCP requests
are stateless POSTs of one JSON-RPC message each (no session, so no initialize per call).

The load generator is an aiohttp client in this process: `--concurrency` keep-alive connections
share `--requests` calls, after a warm-up. Scenarios rotate over `--rounds`; the median round is
reported. Everything is on 127.0.0.1; the sandbox's processes are stopped at the end.

Writes bench/results/mcp.json and bench/results/mcp.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from sandbox.episodes.store import EpisodeStore  # noqa: E402
from sandbox.home import Home  # noqa: E402
from sandbox.run.agent_env import agent_env  # noqa: E402
from sandbox.world import world  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SEED = 7
PAIRS = ("read", "write")


def _mcp_body(n: int, tool: str, arguments: dict) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": n, "method": "tools/call",
                       "params": {"name": tool, "arguments": arguments}}).encode()


def scenarios(env: dict[str, str], fake: str) -> dict[str, Callable[[int], tuple[str, str, bytes, dict, bool]]]:
    """name -> call(n) -> (method, url, body, headers, through_proxy)."""
    email = world(SEED).facts["double_charge"]["customer_email"]
    auth = {"Authorization": f"Bearer {env['STRIPE_API_KEY']}"}
    mcp_headers = {**auth, "Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    form = {**auth, "Content-Type": "application/x-www-form-urlencoded"}
    query = f"/v1/customers?email={email}&limit=10"
    out = {}
    for where, mcp_url, rest_base, proxied in (("proxy", "https://mcp.stripe.com/", "https://api.stripe.com", True),
                                               ("direct", f"{fake}/mcp", fake, False)):
        out[f"read_mcp_{where}"] = lambda n, u=mcp_url, p=proxied: (
            "POST", u, _mcp_body(n, "list_customers", {"email": email, "limit": 10}), mcp_headers, p)
        out[f"read_rest_{where}"] = lambda n, b=rest_base, p=proxied: ("GET", b + query, b"", auth, p)
        out[f"write_mcp_{where}"] = lambda n, u=mcp_url, p=proxied: (
            "POST", u, _mcp_body(n, "create_customer", {"name": f"Bench {n}"}), mcp_headers, p)
        out[f"write_rest_{where}"] = lambda n, b=rest_base, p=proxied: (
            "POST", b + "/v1/customers", f"name=Bench+{n}".encode(), form, p)
    return out


async def run_scenario(call: Callable, requests: int, concurrency: int, proxy: str, ca: ssl.SSLContext) -> dict:
    counter = iter(range(requests))
    latencies: list[float] = []
    failures = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        for n in counter:
            method, url, body, headers, proxied = call(n)
            start = time.perf_counter()
            async with session.request(method, url, data=body or None, headers=headers,
                                       proxy=proxy if proxied else None, ssl=ca) as response:
                payload = await response.read()
            latencies.append(time.perf_counter() - start)
            if response.status != 200 or b'"isError": true' in payload or b'"isError":true' in payload:
                failures += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        warm = iter(range(concurrency * 4))
        for n in warm:  # warm-up: connections, TLS, the fake's caches
            method, url, body, headers, proxied = call(10_000_000 + n)
            async with session.request(method, url, data=body or None, headers=headers,
                                       proxy=proxy if proxied else None, ssl=ca) as response:
                await response.read()
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {"req_s": round(requests / elapsed, 1), "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
            "p90_ms": round(latencies[int(len(latencies) * 0.9)] * 1000, 2), "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ["SANDBOX_SERVICES"] = "payments"
    from sandbox.run.supervisor import Sandbox

    with tempfile.TemporaryDirectory(prefix="bench-mcp-") as tmp:
        home = Home.resolve(Path(tmp) / "home")
        with Sandbox(home, ephemeral=True, reap_every=None) as sandbox:
            store = EpisodeStore(home)
            episode = store.create(SEED)
            store.close()
            env = agent_env(home, episode, sandbox.ports)
            ca = ssl.create_default_context(cafile=env["SSL_CERT_FILE"])
            fake = f"http://127.0.0.1:{sandbox.service_ports['payments']}"
            plan = scenarios(env, fake)
            rounds: dict[str, list[dict]] = {name: [] for name in plan}
            for _ in range(args.rounds):
                for name, call in plan.items():
                    rounds[name].append(asyncio.run(run_scenario(call, args.requests, args.concurrency,
                                                                 env["HTTPS_PROXY"], ca)))
            with EpisodeStore(home).ledger(episode.id) as ledger:
                exchanges = len(ledger.exchanges())
    results = {name: _median(runs) for name, runs in rounds.items()}
    ratios = {f"{pair}_{where}": round(results[f"{pair}_mcp_{where}"]["req_s"]
                                       / results[f"{pair}_rest_{where}"]["req_s"], 3)
              for pair in PAIRS for where in ("proxy", "direct")}
    report = {"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "cpus": os.cpu_count(), "python": platform.python_version(),
              "requests": args.requests, "concurrency": args.concurrency, "rounds": args.rounds,
              "scenarios": results, "mcp_vs_rest": ratios, "ledger_exchanges": exchanges}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "mcp.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "mcp.md").write_text(render(report))
    print(render(report))


def _median(runs: list[dict]) -> dict:
    best = sorted(runs, key=lambda r: r["req_s"])[len(runs) // 2]
    return {**best, "rounds_req_s": [r["req_s"] for r in runs], "failures": sum(r["failures"] for r in runs)}


def render(report: dict) -> str:
    lines = [f"# MCP vs REST ({report['at']}, {report['cpus']} CPUs, Python {report['python']})", "",
             f"`python bench/bench_mcp.py --requests {report['requests']} --concurrency {report['concurrency']}"
             f" --rounds {report['rounds']}`: median round of {report['rounds']}.", "",
             "| scenario | req/s | p50 ms | p90 ms | failures | rounds (req/s) |", "|---|---|---|---|---|---|"]
    for name, r in report["scenarios"].items():
        lines.append(f"| {name} | {r['req_s']} | {r['p50_ms']} | {r['p90_ms']} | {r['failures']} |"
                     f" {', '.join(map(str, r['rounds_req_s']))} |")
    lines += ["", "MCP / REST throughput: " + ", ".join(f"{k} {v}" for k, v in report["mcp_vs_rest"].items()),
              f"({statistics.fmean(report['mcp_vs_rest'].values()):.2f} on average).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
