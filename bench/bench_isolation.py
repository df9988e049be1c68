"""Isolation's cost: throughput with the load generator inside the agent's network namespace
(through the relay and the gate) against outside it, and the time to start an isolated agent.

    python bench/bench_isolation.py [--requests 2000] [--concurrency 16] [--rounds 3] [--starts 30]

One embedded sandbox (sandbox.run.supervisor.Sandbox: proxy, fakes in gunicorn, control API), one live
episode. The load generator is an aiohttp client in a child process (this file, `--loadgen`),
started either plainly or under the launcher exactly as `sandbox run` starts an agent. Scenarios:

    base_url          GET http://127.0.0.1:<payments fake>/v1/customers/<id>, keep-alive
                      (no proxy: what the relay itself costs against a fast server)
    base_url_new_conn the same, one connection per request (the relay's + gate's per-connection cost)
    proxy_https       GET https://api.stripe.com/... through HTTPS_PROXY (CONNECT + TLS), keep-alive
    vendor_https      inside only: https://api.stripe.com/... with no proxy setting at all, as Node's
                      fetch does (relay: SNI → CONNECT into the proxy)

Rounds rotate through the scenarios; the median round is reported. Start cost: `true` run through
sandbox.run.runner.run_process, with and without isolation, `--starts` times each (median, p90).

Writes bench/results/isolation.json and bench/results/isolation.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# -- the load generator (runs in a child process, inside or outside the namespace) ------------------


async def _load(spec: dict) -> dict:
    import aiohttp

    context = ssl.create_default_context(cafile=spec["ca"]) if spec["url"].startswith("https") else None
    connector = aiohttp.TCPConnector(limit=spec["concurrency"], ssl=context or True,
                                     force_close=spec.get("force_close", False))
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {os.environ['STRIPE_API_KEY']}"}
    async with aiohttp.ClientSession(connector=connector) as session:

        async def batch(n: int, record: bool) -> float:
            tickets = iter(range(n))

            async def worker() -> None:
                nonlocal errors
                for _ in tickets:
                    t0 = time.perf_counter()
                    try:
                        async with session.get(spec["url"], headers=headers, proxy=spec.get("proxy")) as resp:
                            await resp.read()
                            errors += resp.status != 200
                    except aiohttp.ClientError:
                        errors += 1
                    if record:
                        latencies.append((time.perf_counter() - t0) * 1000)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))
            return time.perf_counter() - started

        await batch(spec["warmup"], False)  # connections open, TLS done, caches warm: not measured
        errors = 0
        seconds = await batch(spec["requests"], True)
    latencies.sort()
    return {"seconds": seconds, "errors": errors, "rps": spec["requests"] / seconds,
            "p50_ms": latencies[len(latencies) // 2], "p99_ms": latencies[int(0.99 * (len(latencies) - 1))]}


def loadgen(spec_json: str) -> None:
    print(json.dumps(asyncio.run(_load(json.loads(spec_json)))))


# -- the bench --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--starts", type=int, default=30)
    parser.add_argument("--loadgen", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loadgen:
        loadgen(args.loadgen)
        return

    from sandbox.episodes.store import EpisodeStore
    from sandbox.home import Home
    from sandbox.isolation import Isolation, available
    from sandbox.run.agent_env import agent_env
    from sandbox.run.runner import run_process
    from sandbox.run.supervisor import Sandbox

    ok, why = available()
    if not ok:
        sys.exit(f"isolation unavailable here: {why}")
    with tempfile.TemporaryDirectory(prefix="bench-isolation-") as tmp, \
            Sandbox(Home.resolve(Path(tmp) / "home"), ephemeral=True, workers=2) as sandbox:
        home, ports = sandbox.home, sandbox.ports
        store = EpisodeStore(home)
        episode = store.create(0)
        store.close()
        env = {**os.environ, **agent_env(home, episode, ports)}
        isolation = Isolation.for_episode(home, ports, env)
        customer = _a_customer(env)
        path = f"/v1/customers/{customer}"
        base = {"requests": args.requests, "warmup": min(200, args.requests // 5), "concurrency": args.concurrency,
                "ca": env["SSL_CERT_FILE"]}
        fake = f"http://127.0.0.1:{ports['services']['payments']}{path}"
        scenarios = {
            "base_url": ({**base, "url": fake}, (False, True)),
            "base_url_new_conn": ({**base, "url": fake, "force_close": True}, (False, True)),
            "proxy_https": ({**base, "url": f"https://api.stripe.com{path}", "proxy": env["HTTPS_PROXY"]},
                            (False, True)),
            "vendor_https": ({**base, "url": f"https://api.stripe.com{path}"}, (True,)),
        }
        rounds: dict[str, list[dict]] = {}
        for _ in range(args.rounds):
            for name, (spec, places) in scenarios.items():
                for inside in places:
                    command = [sys.executable, str(Path(__file__).resolve()), "--loadgen", json.dumps(spec)]
                    if inside:
                        command = isolation.wrap(command)
                    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
                    if out.returncode:
                        raise RuntimeError(f"{name} ({'inside' if inside else 'outside'}): {out.stderr[-2000:]}")
                    result = json.loads(out.stdout.strip().splitlines()[-1])
                    rounds.setdefault(f"{name}/{'inside' if inside else 'outside'}", []).append(result)
        throughput = {key: sorted(values, key=lambda r: r["rps"])[len(values) // 2] for key, values in rounds.items()}
        starts = {label: _start_times(run_process, env, isolation if isolated else None, args.starts)
                  for label, isolated in (("plain", False), ("isolated", True))}
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()},
        "settings": {k: v for k, v in vars(args).items() if k != "loadgen"},
        "throughput": {key: {k: round(v, 2) for k, v in r.items()} for key, r in throughput.items()},
        "ratios": {name: round(throughput[f"{name}/inside"]["rps"] / throughput[f"{name}/outside"]["rps"], 3)
                   for name in ("base_url", "base_url_new_conn", "proxy_https")}
        | {"vendor_https_vs_proxy_https_outside": round(throughput["vendor_https/inside"]["rps"]
                                                        / throughput["proxy_https/outside"]["rps"], 3)},
        "start_ms": starts,
        "start_overhead_ms": round(starts["isolated"]["spawn"]["median"] - starts["plain"]["spawn"]["median"], 1),
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "isolation.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "isolation.md").write_text(_markdown(report))
    print(_markdown(report))


def _a_customer(env: dict[str, str]) -> str:
    import urllib.request

    request = urllib.request.Request(f"{env['SANDBOX_PAYMENTS_URL']}/v1/customers?limit=1",
                                     headers={"Authorization": f"Bearer {env['STRIPE_API_KEY']}"})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as response:
        return json.loads(response.read())["data"][0]["id"]


def _start_times(run_process, env: dict[str, str], isolation, n: int) -> dict[str, dict[str, float]]:
    """Milliseconds to run `true`: `spawn` = Popen + wait() (the launcher's whole cost when
    isolated: python start, namespaces, mounts, relay, init, exec, teardown); `run_process` = the
    runner's call, whose wait polls (subprocess's backoff grows to 50 ms steps), so it rounds up."""
    command = isolation.wrap(["true"]) if isolation is not None else ["true"]
    return {"spawn": _times(lambda: subprocess.Popen(command, env=env).wait(), n),
            "run_process": _times(lambda: run_process(["true"], env, 30, isolation=isolation)[0], n)}


def _times(start, n: int) -> dict[str, float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        code = start()
        times.append((time.perf_counter() - started) * 1000)
        if code != 0:
            raise RuntimeError(f"`true` failed to run: {code}")
    times.sort()
    return {"median": round(statistics.median(times), 1), "p90": round(times[int(0.9 * (n - 1))], 1),
            "min": round(times[0], 1)}


def _markdown(r: dict) -> str:
    t = r["throughput"]
    lines = [
        "# Isolation: throughput inside the agent's namespace, and the cost of starting one",
        "",
        f"{r['machine']['cpus']} CPUs, Python {r['machine']['python']}, Linux {r['machine']['kernel']}; "
        f"{r['settings']['requests']} requests over {r['settings']['concurrency']} connections, median of "
        f"{r['settings']['rounds']} rounds. Generated by `python bench/bench_isolation.py`.",
        "",
        "| scenario | outside req/s | inside req/s | inside / outside | p50 ms out / in | p99 ms out / in |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in ("base_url", "base_url_new_conn", "proxy_https"):
        o, i = t[f"{name}/outside"], t[f"{name}/inside"]
        lines.append(f"| {name} | {o['rps']:.0f} | {i['rps']:.0f} | {r['ratios'][name]:.2f} | "
                     f"{o['p50_ms']:.1f} / {i['p50_ms']:.1f} | {o['p99_ms']:.1f} / {i['p99_ms']:.1f} |")
    v = t["vendor_https/inside"]
    lines.append(f"| vendor_https (no proxy setting; relay: SNI → CONNECT) | – | {v['rps']:.0f} | "
                 f"{r['ratios']['vendor_https_vs_proxy_https_outside']:.2f} of proxy_https outside | "
                 f"– / {v['p50_ms']:.1f} | – / {v['p99_ms']:.1f} |")
    s = r["start_ms"]
    lines += [
        "",
        "| starting `true` | plain ms (median / p90) | isolated ms (median / p90) |",
        "|---|---:|---:|",
    ]
    for how in ("spawn", "run_process"):
        p, i = s["plain"][how], s["isolated"][how]
        lines.append(f"| {how} | {p['median']} / {p['p90']} | {i['median']} / {i['p90']} |")
    lines += [
        "",
        f"The launcher adds **{r['start_overhead_ms']} ms** per agent (spawn: Popen + wait). run_process's wait "
        "polls with a growing sleep (up to 50 ms steps), so a short agent's run rounds up to its next poll.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
