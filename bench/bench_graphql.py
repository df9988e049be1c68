"""What GraphQL costs the code fake against REST for the same answer, and what the real gh CLI takes
end to end through the proxy.

    python bench/bench_graphql.py [--requests 300] [--gh-runs 10]

One embedded sandbox (sandbox.run.supervisor.Sandbox: proxy, fakes in gunicorn, control API), one
live episode of seed 7. Scenarios, each `--requests` sequential keep-alive requests straight to the
code fake (no proxy: the fake's own cost), median and p99:

    rest_list      GET /repos/{o}/{r}/issues?per_page=30
    graphql_list   POST /graphql, gh's own IssueList query (30 issues, their labels)
    rest_issue     GET /repos/{o}/{r}/issues/{n} + GET .../comments
    graphql_issue  POST /graphql, gh's IssueByNumber query with --comments' fields

and `gh issue list` / `gh issue view N --comments` / `gh auth status` through the proxy (HTTPS_PROXY,
the sandbox CA), `--gh-runs` runs each (median wall ms, process start included), when gh is installed.

Writes bench/results/graphql.json and bench/results/graphql.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ISSUE_LIST = """fragment issue on Issue {number,title,url,state,updatedAt,
labels(first:100){nodes{id,name,description,color},totalCount},stateReason}
query IssueList($owner: String!, $repo: String!, $limit: Int, $endCursor: String, $states: [IssueState!] = OPEN) {
  repository(owner: $owner, name: $repo) {
    hasIssuesEnabled
    issues(first: $limit, after: $endCursor, orderBy: {field: CREATED_AT, direction: DESC}, states: $states) {
      totalCount nodes { ...issue } pageInfo { hasNextPage endCursor }
    }
  }
}"""

ISSUE_VIEW = """query IssueByNumber($owner: String!, $repo: String!, $number: Int!) { repository(owner: $owner,
name: $repo) { hasIssuesEnabled issue: issueOrPullRequest(number: $number) { __typename ...on Issue{number,url,state,
createdAt,title,body,author{login,...on User{id,name}},milestone{number,title,description,dueOn},
assignees(first:100){nodes{id,login,name},totalCount},labels(first:100){nodes{id,name,description,color},totalCount},
projectCards(first:100){nodes{project{name}column{name}},totalCount},reactionGroups{content,users{totalCount}},
stateReason,comments(first: 100) {nodes {id,author{login,...on User{id,name}},authorAssociation,body,createdAt,
includesCreatedEdit,isMinimized,minimizedReason,reactionGroups{content,users{totalCount}},url,viewerDidAuthor},
pageInfo{hasNextPage,endCursor},totalCount},id} } } }"""


def _timed(calls: int, request) -> dict[str, float]:
    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        request()
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {"p50_ms": round(statistics.median(latencies), 2),
            "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 2)}


def _checked(response):
    assert response.status_code == 200 and "errors" not in response.json(), response.text[:300]
    return response


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--gh-runs", type=int, default=10)
    args = parser.parse_args()

    import requests

    from sandbox.episodes.store import EpisodeStore
    from sandbox.home import Home
    from sandbox.run.agent_env import agent_env
    from sandbox.run.supervisor import Sandbox
    from sandbox.world import world

    w = world(7)
    org, repo = w.code.org, w.code.facts["triage"]["repo"]
    number = next(i.number for i in w.code.issues if i.repo == repo and i.comments)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-graphql-") as tmp, \
            Sandbox(Home.resolve(Path(tmp) / "home"), ephemeral=True, workers=2) as sandbox:
        store = EpisodeStore(sandbox.home)
        episode = store.create(7)
        store.close()
        base = f"http://127.0.0.1:{sandbox.ports['services']['code']}"
        session = requests.Session()
        session.headers["Authorization"] = f"token {episode.api_keys['code']}"
        rest = f"{base}/repos/{org}/{repo}/issues"
        variables = {"owner": org, "repo": repo, "limit": 30, "number": number}

        def graphql(query: str):
            return lambda: _checked(session.post(f"{base}/graphql", json={"query": query, "variables": variables}))

        scenarios = {
            "rest_list": lambda: _checked(session.get(f"{rest}?per_page=30")),
            "graphql_list": graphql(ISSUE_LIST),
            "rest_issue": lambda: (_checked(session.get(f"{rest}/{number}")),
                                   _checked(session.get(f"{rest}/{number}/comments"))),
            "graphql_issue": graphql(ISSUE_VIEW),
        }
        for scenario in scenarios.values():
            scenario()  # warm: connections, templates, the schema
        for name, scenario in scenarios.items():
            results[name] = _timed(args.requests, scenario)

        if shutil.which("gh"):
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "GH_CONFIG_DIR": f"{tmp}/gh",
                   **agent_env(sandbox.home, episode, sandbox.ports)}
            for name, command in (("gh_auth_status", ["auth", "status"]),
                                  ("gh_issue_list", ["issue", "list", "-R", f"{org}/{repo}"]),
                                  ("gh_issue_view_comments", ["issue", "view", str(number), "-R", f"{org}/{repo}",
                                                              "--comments"])):
                def run(command=command):
                    done = subprocess.run(["gh", *command], env=env, capture_output=True, text=True, timeout=60)
                    assert done.returncode == 0, done.stderr
                results[name] = _timed(args.gh_runs, run)

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    meta = {"cpus": os.cpu_count(), "python": platform.python_version(), "requests": args.requests,
            "gh_runs": args.gh_runs}
    (out / "graphql.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    lines = ["# GraphQL against REST on the code fake, and the real gh CLI", "",
             f"{meta['cpus']} CPUs, Python {meta['python']}; {args.requests} sequential keep-alive requests straight"
             f" to the fake per scenario, gh {args.gh_runs} runs through the proxy. Generated by"
             " `python bench/bench_graphql.py`.", "",
             "| scenario | p50 ms | p99 ms |", "|---|---:|---:|"]
    lines += [f"| {name} | {r['p50_ms']} | {r['p99_ms']} |" for name, r in results.items()]
    (out / "graphql.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
