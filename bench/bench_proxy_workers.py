"""Proxy throughput with 1, 2 and 4 workers on one port, next to bare mitmdump, in one run.

    python bench/bench_proxy_workers.py [--workers 1,2,4] [--requests 2000] [--concurrency 32] [--rounds 3]

bench/bench_proxy.py's method and parts (its load generator, child processes, CPU accounting), the
same payments fake and the same request, `GET /v1/customers/<id>` with the episode's API key:

    direct           straight to the fake                                      (what the fake can do)
    bare_mitmdump    stock `mitmdump -q --mode reverse:http://127.0.0.1:<fake>`   (one process)
    workers_N_http   N sandbox proxy workers sharing one port (SO_REUSEPORT), plain-HTTP proxy requests
    workers_N_https  the same N workers, CONNECT + TLS, as a real agent calls api.stripe.com

Every pool is up for the whole run (idle workers cost no CPU) so the scenarios rotate round by
round and share the machine's noise; the median round is reported. `--concurrency` keep-alive
connections: the kernel gives each connection to one worker, so there must be several per worker.
Per scenario, the CPU each part used (load generator, all proxy workers, the fake) is measured, and
from it the proxy's requests per proxy-core-second, the figure the projection to more cores uses.

Writes bench/results/proxy_workers.json and bench/results/proxy_workers.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import platform
import signal
import ssl
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import mitmproxy.version  # noqa: E402
from bench_proxy import Child, Children, Target, cpu_seconds, free_port, http_ok, load, percentile  # noqa: E402

from sandbox.episodes.ledger import Ledger  # noqa: E402
from sandbox.episodes.store import EpisodeStore  # noqa: E402
from sandbox.home import Home  # noqa: E402


def start_pool(children: Children, home: Home, count: int, fake_port: int) -> tuple[int, list[Child]]:
    """`count` sandbox proxy workers on one port (a lone proxy for 1), the first alone (it makes the CA)."""
    port = free_port()
    argv = [sys.executable, "-m", "sandbox.proxy", "--home", str(home.root), "--port", str(port),
            "--service", f"payments={fake_port}"]
    pool = []
    for index in range(count):
        worker = [*argv, "--worker", str(index)] if count > 1 else argv
        log = children.logs / f"workers_{count}-{index}.log"
        pool.append(children.start(f"workers_{count}-{index}", worker, _announced(log, port)))
    return port, pool


def _announced(log: Path, port: int):
    """Ready when the worker itself says it listens (the shared port answers as soon as one does)."""
    line = f"proxy listening on 127.0.0.1:{port}".encode()
    return lambda: log.exists() and line in log.read_bytes()


# -- the one-episode ledger ceiling ------------------------------------------------------------------


def _ledger_writer(job: tuple[str, int, float]) -> tuple[float, float]:
    """One proxy worker's ledger work for `count` requests: begin and end an exchange each. Returns
    when it started and ended."""
    path, count, start_at = job
    from sandbox.episodes.ledger import Ledger

    with Ledger(path) as ledger:
        while time.time() < start_at:  # every writer starts at once (once all have started up)
            time.sleep(0.001)
        started = time.time()
        for _ in range(count):
            exchange = ledger.begin_exchange(via="proxy", method="GET", scheme="https", host="api.stripe.com",
                                             port=443, path="/v1/customers/cus_1", request_headers=[("Accept", "*/*")])
            ledger.end_exchange(exchange, outcome="routed", status=200, response_headers=[("Content-Type", "json")],
                                response_body=b'{"id": "cus_1"}')
    return started, time.time()


def ledger_ceiling(tmp: Path, writers: list[int], per_writer: int) -> dict:
    """Requests/s of ledger work alone (two write transactions each) by N processes on one episode's
    ledger file, and on N episodes' files: the limit more proxy workers cannot lift for one episode."""
    store = EpisodeStore(Home.resolve(tmp / "ceiling-home"))
    from unittest import mock

    with mock.patch("services.service_ids", list):  # ledgers only: no fake's world
        episodes = [store.create(seed=7) for _ in range(max(writers))]
    store.close()
    paths = [str(store.home.ledger_path(ep.id)) for ep in episodes]
    result = {}
    context = multiprocessing.get_context("spawn")
    for n in writers:
        for shared in (True, False):
            if n == 1 and not shared:
                continue
            with context.Pool(n) as pool:
                start_at = time.time() + 5.0  # after the processes have started and imported
                jobs = [(paths[0] if shared else paths[i], per_writer, start_at) for i in range(n)]
                spans = pool.map(_ledger_writer, jobs, chunksize=1)
                elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
            result[f"{n}_writers_{'one_ledger' if shared else 'own_ledgers'}"] = round(n * per_writer / elapsed, 1)
            print(f"ledger work, {n} writer(s), {'one ledger' if shared else 'a ledger each'}: "
                  f"{n * per_writer / elapsed:.0f} req/s", flush=True)
    return result


def run(args: argparse.Namespace, tmp: Path) -> dict:
    home = Home.resolve(tmp / "home")
    store = EpisodeStore(home)
    episode = store.create(seed=7)
    store.close()
    auth = {"Authorization": f"Bearer {episode.api_keys['payments']}"}
    children = Children(tmp)
    counts = args.workers
    try:
        fake_port, bare_port = free_port(), free_port()
        fake = children.start(
            "payments",
            [sys.executable, "-m", "sandbox.run.serve", "payments", "--home", str(home.root), "--port", str(fake_port)],
            http_ok(f"http://127.0.0.1:{fake_port}/_sandbox/health"),
        )
        pools = {count: start_pool(children, home, count, fake_port) for count in counts}
        bare = children.start(
            "bare_mitmdump",
            [str(Path(sys.executable).with_name("mitmdump")), "-q", "--mode", f"reverse:http://127.0.0.1:{fake_port}",
             "--listen-host", "127.0.0.1", "--listen-port", str(bare_port), "--set", f"confdir={tmp / 'mitmdump-ca'}"],
            http_ok(f"http://127.0.0.1:{bare_port}/_sandbox/health"),
        )
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            urllib.request.Request(f"http://127.0.0.1:{fake_port}/v1/customers?limit=1", headers=auth), timeout=10
        ) as response:
            path = f"/v1/customers/{json.load(response)['data'][0]['id']}"

        tls = ssl.create_default_context(cafile=str(home.ca_cert))
        credentials = {"Proxy-Authorization": "Basic " + base64.b64encode(
            f"{episode.id}:{episode.token}".encode()).decode()}
        targets = {"direct": Target(f"http://127.0.0.1:{fake_port}{path}"),
                   "bare_mitmdump": Target(f"http://127.0.0.1:{bare_port}{path}")}
        proxy_pids = {"bare_mitmdump": [bare.proc.pid], "direct": []}
        for count, (port, pool) in pools.items():
            proxy = f"http://127.0.0.1:{port}"
            targets[f"workers_{count}_http"] = Target(f"http://api.stripe.com{path}", proxy, headers=credentials)
            targets[f"workers_{count}_https"] = Target(f"https://api.stripe.com{path}", proxy,
                                                       proxy_headers=credentials, ssl_context=tls)
            proxy_pids[f"workers_{count}_http"] = proxy_pids[f"workers_{count}_https"] = [c.proc.pid for c in pool]
        names = list(targets)

        rounds: dict[str, list[dict]] = {name: [] for name in names}
        latencies: dict[str, list[float]] = {name: [] for name in names}
        loadavg_before = os.getloadavg()
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                target = targets[name]
                asyncio.run(load(target, auth, args.warmup, args.concurrency))

                def cpu() -> tuple[float, float, float]:
                    return (time.process_time(), cpu_seconds(fake.proc.pid, with_children=True),
                            sum(cpu_seconds(pid) for pid in proxy_pids[name]))  # noqa: B023 - used at once

                before = cpu()
                elapsed, lat, errors = asyncio.run(load(target, auth, args.requests, args.concurrency))
                used = [(b - a) for a, b in zip(before, cpu(), strict=True)]
                rounds[name].append({
                    "req_s": round(args.requests / elapsed, 1),
                    "errors": errors,
                    "cpu_cores": {"load_generator": round(used[0] / elapsed, 2), "fake": round(used[1] / elapsed, 2),
                                  "proxy": round(used[2] / elapsed, 2)},
                    "proxy_req_per_cpu_s": round(args.requests / used[2], 1) if used[2] > 0 else None,
                })
                latencies[name].extend(lat)
                print(f"round {r + 1} {name:18s} {args.requests / elapsed:8.1f} req/s  errors {errors}", flush=True)
    finally:
        children.stop()

    # Every request the workers carried has its complete row, and the ledger's ids (the fake writes the
    # `direct` and bare scenarios' rows into it too) run 1..N with no gap and no duplicate.
    with Ledger(home.ledger_path(episode.id)) as ledger:
        rows = ledger.conn.execute(
            "SELECT COUNT(*) FROM exchanges WHERE via='proxy' AND outcome='routed' AND status=200").fetchone()[0]
        count, last = ledger.conn.execute("SELECT COUNT(*), MAX(id) FROM exchanges").fetchone()
    scenarios = {}
    for name in names:
        ordered = sorted(rounds[name], key=lambda x: x["req_s"])
        median = ordered[len(ordered) // 2]
        lat = sorted(latencies[name])
        scenarios[name] = {
            "req_s": median["req_s"], "p50_ms": round(percentile(lat, 0.50), 2),
            "p99_ms": round(percentile(lat, 0.99), 2), "errors": sum(x["errors"] for x in rounds[name]),
            "cpu_cores_median_round": median["cpu_cores"], "proxy_req_per_cpu_s": median["proxy_req_per_cpu_s"],
            "rounds_req_s": [x["req_s"] for x in rounds[name]],
        }
    ceiling = ledger_ceiling(tmp, counts, args.ledger_requests)
    return {
        "benchmark": "proxy_workers",
        "ledger_ceiling_req_s": ceiling,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "mitmproxy": mitmproxy.version.VERSION,
                    "loadavg_before": [round(x, 2) for x in loadavg_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "config": {"endpoint": "GET /v1/customers/<id> (payments fake, Bearer key of the episode)",
                   "workers": counts, "requests_per_round": args.requests, "concurrency": args.concurrency,
                   "warmup_per_round": args.warmup, "rounds": args.rounds,
                   "fake": "gunicorn gthread, 2 workers x 4 threads (sandbox.run.serve defaults)",
                   "episodes": "one: every worker writes the same ledger file"},
        "scenarios": scenarios,
        "ledger_rows_by_proxy": {"complete": rows, "all_rows": count, "last_id": last, "gap_free": count == last,
                                 "expected": 2 * len(counts) * args.rounds * (args.requests + args.warmup)},
    }


def projection(result: dict) -> str:
    """Per-core scaling on a larger machine, from what this one measured (see the paragraph)."""
    s = result["scenarios"]
    lines = []
    for kind in ("http", "https"):
        per_core = [s[f"workers_{n}_{kind}"]["proxy_req_per_cpu_s"] for n in result["config"]["workers"]]
        per_core = [x for x in per_core if x]
        if not per_core:
            continue
        low, high = min(per_core), max(per_core)
        lines.append(f"{kind.upper()}: {low:.0f}-{high:.0f} req per proxy-CPU-second, so N workers on N free "
                     f"cores ≈ N × {low:.0f}-{high:.0f} req/s (4 cores ≈ {4 * low:.0f}-{4 * high:.0f}, "
                     f"8 ≈ {8 * low:.0f}-{8 * high:.0f})")
    return "; ".join(lines)


def ceiling_text(result: dict) -> str:
    ceiling = result.get("ledger_ceiling_req_s")
    if not ceiling:
        return ""
    figures = ", ".join(f"{name.replace('_', ' ')}: {value:.0f}" for name, value in ceiling.items())
    n = max(result["config"]["workers"])
    one, own = ceiling.get(f"{n}_writers_one_ledger"), ceiling.get(f"{n}_writers_own_ledgers")
    text = (f"Measured here, the ledger work of a request alone (begin and end, two transactions), by N "
            f"processes at once, in req/s: {figures}.")
    if one and own:
        text += (f" With {n} writers, one shared file gave {one / own:.2f}× the rate of a file each: writers of "
                 "one file take turns (SQLite allows one writer per file; a waiting one sleeps in its busy "
                 "handler), so one episode's traffic has a ledger ceiling more workers do not lift, while "
                 "episodes in their own files add up. On 2 shared cores the figures are noisy (compare runs).")
    return text


def quiet_reference() -> str:
    """The single proxy's requests per proxy-CPU-second in bench_proxy.py's last run, if there is one:
    a second point, usually from a quieter machine (contention makes every request cost more CPU)."""
    try:
        other = json.loads((ROOT / "bench" / "results" / "proxy.json").read_text())
        per_cpu = {kind: other["scenarios"][f"sandbox_{kind}"]["req_s"]
                   / other["scenarios"][f"sandbox_{kind}"]["cpu_cores_median_round"]["proxy"]
                   for kind in ("http", "https")}
    except (OSError, ValueError, KeyError, ZeroDivisionError):
        return ""
    return (f"bench_proxy.py's last run (results/proxy.json, {other['at']}, load "
            f"{other['machine']['loadavg_before'][0]}) had one proxy at {per_cpu['http']:.0f} HTTP and "
            f"{per_cpu['https']:.0f} HTTPS requests per proxy-CPU-second: on quiet cores, N workers ≈ N × that "
            f"(8 cores ≈ {8 * per_cpu['http']:.0f} HTTP).")


def what_cores_allow(result: dict) -> str:
    """What the worker counts' req/s say here, and what they cannot say (shared, maybe busy, cores)."""
    s, m = result["scenarios"], result["machine"]
    largest = max(result["config"]["workers"])
    gains = {kind: s[f"workers_{largest}_{kind}"]["req_s"] / s[f"workers_1_{kind}"]["req_s"]
             for kind in ("http", "https")}
    text = (f"{largest} workers gave {gains['http']:.2f}× the req/s of one over HTTP and {gains['https']:.2f}× over "
            f"HTTPS. The load generator (one Python process), the fake and every worker share the "
            f"{m['cpus']} cores, so past the one core a single proxy already uses, a worker adds throughput only by "
            "taking CPU from the others (the CPU columns show where it went).")
    if m["loadavg_before"][0] > m["cpus"]:
        text += (f" The machine was oversubscribed by other jobs (load {m['loadavg_before'][0]} on {m['cpus']} CPUs): "
                 "the scheduler gives each runnable process a share, so N workers also got N shares, and the "
                 "gain above overstates what N workers give on an idle machine of this size. The column that "
                 "carries over is requests per proxy-CPU-second: how much work one core of proxy does.")
    return text


def markdown(result: dict) -> str:
    rows = []
    for name, s in result["scenarios"].items():
        cpu = s["cpu_cores_median_round"]
        per_cpu = f"{s['proxy_req_per_cpu_s']:.0f}" if s["proxy_req_per_cpu_s"] else "–"
        rows.append(f"| {name} | {s['req_s']:.0f} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['errors']} | "
                    f"{cpu['load_generator']:.2f} / {cpu['proxy']:.2f} / {cpu['fake']:.2f} | {per_cpu} | "
                    f"{', '.join(f'{x:.0f}' for x in s['rounds_req_s'])} |")
    c, m, ledger = result["config"], result["machine"], result["ledger_rows_by_proxy"]
    s = result["scenarios"]
    return f"""# Proxy workers: throughput with 1, 2 and 4 proxy processes on one port

`python bench/bench_proxy_workers.py` on {result["at"]}: {m["cpus"]} CPUs, Python {m["python"]}, mitmproxy
{m["mitmproxy"]}, load average {m["loadavg_before"][0]} before and {m["loadavg_after"][0]} after (other jobs
shared the machine). {c["endpoint"]}; {c["concurrency"]} keep-alive connections, {c["requests_per_round"]}
requests per round after {c["warmup_per_round"]} warm-up, {c["rounds"]} rounds in rotating order, the median
round reported. {c["episodes"]}.

| scenario | req/s | p50 ms | p99 ms | errors | CPU cores: load gen / proxy (all workers) / fake \
| proxy req per CPU-s | req/s per round |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

- Ledger check: {ledger["complete"]} complete rows for the {ledger["expected"]} requests the sandbox workers
  carried (warm-up included); the one shared ledger holds {ledger["all_rows"]} rows numbered 1..{ledger["last_id"]}
  ({"no gap" if ledger["gap_free"] else "WITH GAPS"}; the fake writes the direct and bare requests' rows).
- **What this machine allows.** {what_cores_allow(result)}
- **Per core on a larger machine (projection, not measured).** Workers share nothing in memory (each is its
  own process and event loop); what they share is SQLite: each exchange is two short write transactions
  on its episode's ledger (~25 µs each, WAL; a fault profile's counters ride in the first one when a rule
  could match). So
  the proxy's cost per request, measured above as requests per proxy-CPU-second, is what each extra core
  adds. Measured here, under contention: {projection(result)}. {quiet_reference()}
  The projection holds as long as the fakes and the load have cores of their own (here the fake alone
  answers ~{s["direct"]["req_s"]:.0f} req/s, so on a big machine give the fakes more gunicorn workers too:
  `sandbox up --workers`). The ceiling that does not move with cores is one episode's ledger: its writes take
  turns. {ceiling_text(result)}
- HTTPS costs the TLS handshake and encryption between agent and proxy on top: compare `_https` with `_http`.
  The bare mitmdump is one process; mitmdump has no multi-process mode of its own.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4", help="worker counts to compare (comma-separated)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per scenario and round")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ledger-requests", type=int, default=3000,
                        help="requests of ledger work per writer in the ledger-ceiling measurement")
    parser.add_argument("--render", action="store_true", help="only rewrite the .md from the last .json")
    args = parser.parse_args()
    out = ROOT / "bench" / "results"
    if args.render:
        (out / "proxy_workers.md").write_text(markdown(json.loads((out / "proxy_workers.json").read_text())))
        return
    args.workers = sorted({int(x) for x in args.workers.split(",")})
    if 1 not in args.workers or min(args.workers) < 1:
        parser.error("--workers must include 1 (the baseline) and only positive counts")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="bench-proxy-workers-") as tmp:
        result = run(args, Path(tmp))
    out.mkdir(parents=True, exist_ok=True)
    (out / "proxy_workers.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "proxy_workers.md").write_text(markdown(result))
    print(json.dumps({name: s["req_s"] for name, s in result["scenarios"].items()}))


if __name__ == "__main__":
    main()
