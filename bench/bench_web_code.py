"""github.com page loads per second through the proxy, next to the API calls that read the same rows.

    python bench/bench_web_code.py [--requests 300] [--concurrency 4] [--rounds 3]

One embedded sandbox (code only: its gunicorn fake, the proxy) and two episodes of one seed, one
plain and one under tests/fixtures/faults/code-ui.yaml (the proxy rewrites every issue page), each
signed in to https://github.com once (the session cookie is then sent by hand):

    org       GET /<org>                               (the repositories)  vs  GET /orgs/<org>/repos
    issues    GET /<org>/<repo>/issues                 (open issues)       vs  GET /repos/<org>/<repo>/issues
    search    GET /<org>/<repo>/issues?q=is:closed label:bug               vs  GET /search/issues?q=...
    issue     GET /<org>/<repo>/issues/<n>  (comments, pickers, forms)     vs  GET /repos/<org>/<repo>/issues/<n>
    issue_nuisance   the issue page in the nuisance episode (the proxy parses and rewrites it)

each through the proxy (CONNECT + TLS, every exchange to the ledger), and the pages also directly
to the fake (Host: github.com), which says what the proxy costs. The load generator is bench_mcp's
aiohttp client in this process; scenarios rotate over `--rounds` and the median round is reported.

Writes bench/results/web_code.json and bench/results/web_code.md.
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
from urllib.parse import quote

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
SITE = "https://github.com"
API = "https://api.github.com"
NUISANCE = ROOT / "tests" / "fixtures" / "faults" / "code-ui.yaml"


async def sign_in(url: str, token: str, proxy: str | None, ca: ssl.SSLContext, host: str | None = None) -> str:
    """The `Cookie` header of a fresh github.com session."""
    headers = {"Host": host} if host else {}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        async with session.post(url + "/login", data={"api_token": token}, headers=headers, proxy=proxy, ssl=ca,
                                allow_redirects=False) as response:
            assert response.status == 303, f"sign-in answered {response.status}"
            return "; ".join(f"{c.key}={c.value}" for c in response.cookies.values())


def scenarios(token: str, cookies: dict[str, str], fake: str) -> dict[str, Callable[[int], tuple]]:
    """name -> call(n) -> (method, url, body, headers, through_proxy), as bench_mcp's load generator takes."""
    code = world(SEED).code
    org, repo = code.org, code.facts["triage"]["repo"]
    number = code.facts["triage"]["issues"][0]["number"]
    pages = {"org": f"/{org}", "issues": f"/{org}/{repo}/issues",
             "search": f"/{org}/{repo}/issues?q={quote('is:closed label:bug')}",
             "issue": f"/{org}/{repo}/issues/{number}"}
    out: dict[str, Callable[[int], tuple]] = {}
    for name, path in pages.items():
        out[f"{name}_page_proxy"] = lambda n, p=path: ("GET", SITE + p, b"", {"Cookie": cookies["plain"]}, True)
        out[f"{name}_page_direct"] = lambda n, p=path: (
            "GET", fake + p, b"", {"Cookie": cookies["direct"], "Host": "github.com"}, False)
    out["issue_nuisance_page_proxy"] = lambda n: ("GET", SITE + pages["issue"], b"", {"Cookie": cookies["nuisance"]},
                                                  True)
    api = {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}
    calls = (("org", f"/orgs/{org}/repos"), ("issues", f"/repos/{org}/{repo}/issues"),
             ("search", f"/search/issues?q={quote(f'repo:{org}/{repo} is:closed label:bug')}"),
             ("issue", f"/repos/{org}/{repo}/issues/{number}"))
    for name, path in calls:
        out[f"{name}_api_proxy"] = lambda n, p=path: ("GET", API + p, b"", api, True)
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
            if response.status != 200 or ("_api_" not in name and 'id="actor"' not in text):
                raise SystemExit(f"{name}: {response.status} from {url}, not the signed-in page or object")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ["SANDBOX_SERVICES"] = "code"
    from sandbox.run.supervisor import Sandbox

    with tempfile.TemporaryDirectory(prefix="bench-web-code-") as tmp:
        home = Home.resolve(Path(tmp) / "home")
        with Sandbox(home, ephemeral=True, reap_every=None) as sandbox:
            store = EpisodeStore(home)
            plain, nuisance = store.create(SEED), store.create(SEED, faults=str(NUISANCE))
            store.close()
            env = agent_env(home, plain, sandbox.ports)
            proxies = {"plain": env["HTTPS_PROXY"], "nuisance": agent_env(home, nuisance, sandbox.ports)["HTTPS_PROXY"]}
            ca = ssl.create_default_context(cafile=env["SSL_CERT_FILE"])
            fake = f"http://127.0.0.1:{sandbox.service_ports['code']}"
            token = env["GITHUB_TOKEN"]
            cookies = {
                "plain": asyncio.run(sign_in(SITE, token, proxies["plain"], ca)),
                "direct": asyncio.run(sign_in(fake, token, None, ca, host="github.com")),
                "nuisance": asyncio.run(sign_in(SITE, nuisance.api_keys["code"], proxies["nuisance"], ca)),
            }
            plan = scenarios(token, cookies, fake)
            asyncio.run(check(plan, proxies, ca))
            rounds: dict[str, list[dict]] = {name: [] for name in plan}
            for _ in range(args.rounds):
                for name, call in plan.items():
                    proxy = proxies["nuisance"] if "nuisance" in name else proxies["plain"]
                    rounds[name].append(asyncio.run(run_scenario(call, args.requests, args.concurrency, proxy, ca)))
            with EpisodeStore(home).ledger(nuisance.id) as ledger:
                rewrites = len(ledger.faults())
    report = {"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "cpus": os.cpu_count(), "python": platform.python_version(),
              "requests": args.requests, "concurrency": args.concurrency, "rounds": args.rounds,
              "scenarios": {name: _median(runs) for name, runs in rounds.items()}, "nuisance_rewrites": rewrites}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "web_code.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "web_code.md").write_text(render(report))
    print(render(report))


def render(report: dict) -> str:
    lines = [f"# github.com page loads ({report['at']}, {report['cpus']} CPUs, Python {report['python']})", "",
             f"`python bench/bench_web_code.py --requests {report['requests']} --concurrency"
             f" {report['concurrency']} --rounds {report['rounds']}`: median round of {report['rounds']}.", "",
             "| scenario | req/s | p50 ms | p90 ms | failures | rounds (req/s) |", "|---|---|---|---|---|---|"]
    for name, r in report["scenarios"].items():
        lines.append(f"| {name} | {r['req_s']} | {r['p50_ms']} | {r['p90_ms']} | {r['failures']} |"
                     f" {', '.join(map(str, r['rounds_req_s']))} |")
    lines += ["", f"Nuisance rules fired in the nuisance episode: {report['nuisance_rewrites']}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
