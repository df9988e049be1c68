"""Streamed tokens through a route to a model server: through the sandbox proxy against direct, same run.

    python bench/bench_routes.py [--tokens 2000] [--requests 10] [--rounds 3]

A stand-in OpenAI-compatible server (tests/proxy/model_stand_in.py, aiohttp, in its own process)
streams `--tokens` server-sent events per answer, one token each, as fast as it can: the proxy's
cost per event is what shows. The client (httpx, in this process) asks for `stream: true` answers:

    direct        POST http://127.0.0.1:<server>/v1/chat/completions (no proxy)
    proxy         POST https://api.openai.com/v1/chat/completions through HTTPS_PROXY (CONNECT + TLS),
                  an episode routing api.openai.com to the server: streamed through, ledgered
    proxy_record  the same in a record-mode episode: each event also kept, with its timing, for the
                  recording

Each round runs every scenario `--requests` times on one keep-alive connection; tokens/s is all
tokens over the round's time; time to first token (TTFT) is per answer, median. Rounds rotate
through the scenarios; the median round is reported, with the proxy/direct ratio.

Writes bench/results/routes.json and bench/results/routes.md.
"""

from __future__ import annotations

import argparse
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


def _start(argv: list[str], ready: str, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if ready not in line:
        proc.kill()
        raise RuntimeError(f"{argv}: did not start ({line!r})")
    return proc, int(line.strip().rsplit(" ", 1)[1].rsplit(":", 1)[-1])


def _round(client, url: str, tokens: int, requests: int) -> dict[str, float]:
    body = {"model": "stand-in-model", "stream": True, "max_tokens": tokens,
            "messages": [{"role": "user", "content": "count with me"}]}
    ttft: list[float] = []
    events = 0
    started = time.perf_counter()
    for _ in range(requests):
        sent = time.perf_counter()
        first = None
        seen = b""
        with client.stream("POST", url, json=body, headers={"Authorization": "Bearer sk-bench"}) as response:
            response.raise_for_status()
            for chunk in response.iter_raw():
                if first is None:
                    first = time.perf_counter() - sent
                seen += chunk
        ttft.append((first or 0.0) * 1000.0)
        events += seen.count(b"data: ") - 2  # the finishing event and [DONE] carry no token
    seconds = time.perf_counter() - started
    if events != tokens * requests:
        raise RuntimeError(f"{url}: {events} tokens arrived, {tokens * requests} were sent")
    return {"tokens_per_s": events / seconds, "ttft_ms_median": statistics.median(ttft), "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=2000, help="tokens (events) per streamed answer")
    parser.add_argument("--requests", type=int, default=10, help="answers per scenario per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import httpx

    import services
    from sandbox.episodes.store import EpisodeStore
    from sandbox.home import Home

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="bench-routes-") as tmp:
        home = Home.resolve(Path(tmp) / "home")
        server, server_port = _start([sys.executable, "-m", "tests.proxy.model_stand_in"], "listening on", env)
        proxy, proxy_port = _start([sys.executable, "-m", "sandbox.proxy", "--home", str(home.root), "--port", "0"],
                                   "proxy listening on", env)
        try:
            services.service_ids = list  # no fake's world: the proxy needs none, and building it is not measured
            store = EpisodeStore(home)
            route = {"api.openai.com": f"http://127.0.0.1:{server_port}/v1"}
            live = store.create(0, routes=route)
            recorder = store.create(0, routes=route, mode="record", recording=str(Path(tmp) / "bench.jsonl"))
            store.close()
            trusted = ssl.create_default_context(cafile=str(home.ca_cert))

            def through(episode) -> httpx.Client:
                proxy_url = f"http://{episode.id}:{episode.token}@127.0.0.1:{proxy_port}"
                return httpx.Client(proxy=proxy_url, verify=trusted, trust_env=False, timeout=120)

            routed = "https://api.openai.com/v1/chat/completions"
            scenarios = {
                "direct": (httpx.Client(trust_env=False, timeout=120),
                           f"http://127.0.0.1:{server_port}/v1/chat/completions"),
                "proxy": (through(live), routed),
                "proxy_record": (through(recorder), routed),
            }
            for client, url in scenarios.values():  # warm up: connections, TLS, the proxy's caches
                _round(client, url, 50, 2)
            rounds: dict[str, list[dict[str, float]]] = {name: [] for name in scenarios}
            for _ in range(args.rounds):
                for name, (client, url) in scenarios.items():
                    rounds[name].append(_round(client, url, args.tokens, args.requests))
            for client, _ in scenarios.values():
                client.close()
        finally:
            for proc in (proxy, server):
                proc.terminate()
                proc.wait(10)
    median = {name: sorted(values, key=lambda r: r["tokens_per_s"])[len(values) // 2]
              for name, values in rounds.items()}
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": vars(args),
        "median_round": {name: {k: round(v, 2) for k, v in r.items()} for name, r in median.items()},
        "all_rounds_tokens_per_s": {name: [round(r["tokens_per_s"]) for r in values]
                                    for name, values in rounds.items()},
        "ratio_vs_direct": {name: round(median[name]["tokens_per_s"] / median["direct"]["tokens_per_s"], 3)
                            for name in ("proxy", "proxy_record")},
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "routes.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "routes.md").write_text(_markdown(report))
    print(_markdown(report))


def _markdown(report: dict) -> str:
    s = report["settings"]
    lines = [
        "# Streamed tokens through a route to a model server",
        "",
        f"`python bench/bench_routes.py --tokens {s['tokens']} --requests {s['requests']} --rounds {s['rounds']}`"
        f" ({report['machine']['cpus']} cores, Python {report['machine']['python']}). A stand-in OpenAI-compatible",
        "server streams one token per server-sent event as fast as it can; the client reads them with httpx.",
        "Median round of each scenario; client, proxy and server share the cores.",
        "",
        "| scenario | tokens/s | time to first token (median) | vs direct |",
        "|---|---|---|---|",
    ]
    for name, r in report["median_round"].items():
        ratio = report["ratio_vs_direct"].get(name, 1.0)
        lines.append(f"| {name} | {r['tokens_per_s']:.0f} | {r['ttft_ms_median']:.1f} ms | {ratio:.2f} |")
    lines += ["", "All rounds (tokens/s): " + "; ".join(
        f"{name} {values}" for name, values in report["all_rounds_tokens_per_s"].items()), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
