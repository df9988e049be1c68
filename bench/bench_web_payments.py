"""Dashboard page loads per second through the proxy, next to the API call that reads the same rows.

    python bench/bench_web_payments.py [--requests 300] [--concurrency 4] [--rounds 3]

One embedded sandbox (payments only: its gunicorn fake, the proxy) and two episodes of one seed,
one plain and one under tests/fixtures/faults/payments-ui.yaml (the proxy rewrites every charge page),
each signed in to https://dashboard.stripe.com once (the session cookie is then sent by hand):

    list      GET /test/payments                     (25 rows)       vs  GET /v1/charges?limit=25
    search    GET /test/payments?q=<order id>                        vs  GET /v1/charges/search?query=...
    charge    GET /test/payments/<ch_id>  (refund form, refunds)     vs  GET /v1/charges/<ch_id>
    customer  GET /test/customers/<cus_id> (their payments)
    charge_nuisance   the charge page in the nuisance episode (the proxy parses and rewrites it)

each through the proxy (CONNECT + TLS, every exchange to the ledger) and the pages also directly
to the fake (Host: dashboard.stripe.com), which says what the proxy costs. The load generator is
an aiohttp client in this process; scenarios rotate over `--rounds` and the median round is reported.

Writes bench/results/web_payments.json and bench/results/web_payments.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import ssl
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.bench_mcp import _median, run_scenario  # noqa: E402
from sandbox.episodes.store import EpisodeStore  # noqa: E402
from sandbox.home import Home  # noqa: E402
from sandbox.run.agent_env import agent_env  # noqa: E402
from sandbox.world import world  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SEED = 7
DASHBOARD = "https://dashboard.stripe.com"
# The browser test's nuisance: the first charge page covered by a notice, the refund button renamed.
NUISANCE = ROOT / "tests" / "fixtures" / "faults" / "payments-ui.yaml"


async def sign_in(url: str, key: str, proxy: str | None, ca: ssl.SSLContext, host: str | None = None) -> str:
    """The `Cookie` header of a fresh dashboard session."""
    headers = {"Host": host} if host else {}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        async with session.post(url + "/login", data={"api_token": key}, headers=headers, proxy=proxy, ssl=ca,
                                allow_redirects=False) as response:
            assert response.status == 303, f"sign-in answered {response.status}"
            return "; ".join(f"{c.key}={c.value}" for c in response.cookies.values())


def scenarios(key: str, cookies: dict[str, str], fake: str) -> dict[str, Callable[[int], tuple]]:
    """name -> call(n) -> (method, url, body, headers, through_proxy), as bench_mcp's load generator takes."""
    facts = world(SEED).facts["double_charge"]
    charge, customer, order = facts["duplicate_charge"], facts["customer"], facts["order_id"]
    api = {"Authorization": f"Bearer {key}"}
    pages = {"list": "/test/payments", "search": f"/test/payments?q={order}", "charge": f"/test/payments/{charge}",
             "customer": f"/test/customers/{customer}"}
    out: dict[str, Callable[[int], tuple]] = {}
    for name, path in pages.items():
        out[f"{name}_page_proxy"] = lambda n, p=path: ("GET", DASHBOARD + p, b"", {"Cookie": cookies["plain"]}, True)
        out[f"{name}_page_direct"] = lambda n, p=path: (
            "GET", fake + p, b"", {"Cookie": cookies["direct"], "Host": "dashboard.stripe.com"}, False)
    out["charge_nuisance_page_proxy"] = lambda n: ("GET", DASHBOARD + pages["charge"], b"",
                                                   {"Cookie": cookies["nuisance"]}, True)
    search = f"/v1/charges/search?query=metadata['order_id']:'{order}'"
    for name, path in (("list", "/v1/charges?limit=25"), ("search", search), ("charge", f"/v1/charges/{charge}")):
        out[f"{name}_api_proxy"] = lambda n, p=path: ("GET", "https://api.stripe.com" + p, b"", api, True)
    return out


async def check(plan: dict[str, Callable[[int], tuple]], proxies: dict[str, str], ca: ssl.SSLContext) -> None:
    """Each scenario once, without following redirects: a page answered with the sign-in form
    (a lost cookie) would otherwise count as a fast success."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        for name, call in plan.items():
            method, url, body, headers, proxied = call(0)
            proxy = (proxies["nuisance"] if "nuisance" in name else proxies["plain"]) if proxied else None
            async with session.request(method, url, headers=headers, proxy=proxy, ssl=ca,
                                       allow_redirects=False) as response:
                text = await response.text()
            page_ok = "_api_" in name or 'id="actor"' in text
            if response.status != 200 or not page_ok:
                raise SystemExit(f"{name}: {response.status} from {url}, not the signed-in page or object")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ["SANDBOX_SERVICES"] = "payments"
    from sandbox.run.supervisor import Sandbox

    with tempfile.TemporaryDirectory(prefix="bench-web-payments-") as tmp:
        home = Home.resolve(Path(tmp) / "home")
        with Sandbox(home, ephemeral=True, reap_every=None) as sandbox:
            store = EpisodeStore(home)
            plain, nuisance = store.create(SEED), store.create(SEED, faults=str(NUISANCE))
            store.close()
            env = agent_env(home, plain, sandbox.ports)
            nuisance_proxy = agent_env(home, nuisance, sandbox.ports)["HTTPS_PROXY"]
            ca = ssl.create_default_context(cafile=env["SSL_CERT_FILE"])
            fake = f"http://127.0.0.1:{sandbox.service_ports['payments']}"
            key = env["STRIPE_API_KEY"]
            cookies = {
                "plain": asyncio.run(sign_in(DASHBOARD, key, env["HTTPS_PROXY"], ca)),
                "direct": asyncio.run(sign_in(fake, key, None, ca, host="dashboard.stripe.com")),
                "nuisance": asyncio.run(sign_in(DASHBOARD, nuisance.api_keys["payments"], nuisance_proxy, ca)),
            }
            plan = scenarios(key, cookies, fake)
            asyncio.run(check(plan, {"plain": env["HTTPS_PROXY"], "nuisance": nuisance_proxy}, ca))
            rounds: dict[str, list[dict]] = {name: [] for name in plan}
            for _ in range(args.rounds):
                for name, call in plan.items():
                    proxy = nuisance_proxy if "nuisance" in name else env["HTTPS_PROXY"]
                    rounds[name].append(asyncio.run(run_scenario(call, args.requests, args.concurrency, proxy, ca)))
            with EpisodeStore(home).ledger(nuisance.id) as ledger:
                rewrites = len(ledger.faults())
    results = {name: _median(runs) for name, runs in rounds.items()}
    report = {"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "cpus": os.cpu_count(), "python": platform.python_version(),
              "requests": args.requests, "concurrency": args.concurrency, "rounds": args.rounds,
              "scenarios": results, "nuisance_rewrites": rewrites}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "web_payments.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "web_payments.md").write_text(render(report))
    print(render(report))


def render(report: dict) -> str:
    lines = [f"# Dashboard page loads ({report['at']}, {report['cpus']} CPUs, Python {report['python']})", "",
             f"`python bench/bench_web_payments.py --requests {report['requests']} --concurrency"
             f" {report['concurrency']} --rounds {report['rounds']}`: median round of {report['rounds']}.", "",
             "| scenario | req/s | p50 ms | p90 ms | failures | rounds (req/s) |", "|---|---|---|---|---|---|"]
    for name, r in report["scenarios"].items():
        lines.append(f"| {name} | {r['req_s']} | {r['p50_ms']} | {r['p90_ms']} | {r['failures']} |"
                     f" {', '.join(map(str, r['rounds_req_s']))} |")
    lines += ["", f"Nuisance rules fired in the nuisance episode: {report['nuisance_rewrites']}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
