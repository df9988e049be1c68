"""The vendors' official MCP servers, unchanged, against the fakes: `@modelcontextprotocol/server-slack`,
`@modelcontextprotocol/server-github` and `@stripe/mcp` (pinned in tools/mcp-servers/), each
spawned over stdio by an MCP client (the `mcp` SDK's stdio_client, examples/official_mcp_client.py)
that runs inside an isolated episode of the session's sandbox, with the episode's credentials.

Each lists the seeded world (channels, issues, customers) and makes one write that the episode's
score counts. The Slack and GitHub servers call the vendors with Node's global fetch, which (before
Node 24) ignores HTTPS_PROXY: the isolation's relay is what brings those calls to the proxy.
@stripe/mcp is a bridge to https://mcp.stripe.com, which the payments fake serves.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import sandbox
from sandbox.episodes.ledger import Ledger
from sandbox.interfaces.api import EpisodeHandle, SandboxHandle
from sandbox.isolation import available
from sandbox.world import world

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "examples" / "official_mcp_client.py"
SERVERS = ROOT / "tools" / "mcp-servers"
ENTRIES = ("@modelcontextprotocol/server-github/dist/index.js", "@modelcontextprotocol/server-slack/dist/index.js",
           "@stripe/mcp/dist/index.js")
W = world(7)  # the seed of triage-from-chat and refund-duplicate-charge
TRIAGE, THREAD, DOUBLE = W.facts["triage"], W.facts["triage_thread"], W.facts["double_charge"]
REPO = f"{W.code.org}/{TRIAGE['repo']}"


def _node_major() -> int:
    out = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout
    return int(out.strip().lstrip("v").split(".")[0])


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (.ci/run installs it)"),
]


@pytest.fixture(scope="module")
def official_servers() -> Path:
    """The pinned servers' node_modules: `npm ci` from the lock file once, never npx at test time."""
    modules = SERVERS / "node_modules"
    if all((modules / entry).is_file() for entry in ENTRIES):
        return modules
    if shutil.which("npm") is None:
        pytest.skip(f"npm is not installed, so the pinned MCP servers in {SERVERS} cannot be installed "
                    "(.ci/run installs npm and runs npm ci there)")
    done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=SERVERS,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"npm ci in {SERVERS} failed:\n{done.stdout}\n{done.stderr}"
    return modules


@pytest.fixture(scope="module")
def sandbox_handle(running_sandbox) -> SandboxHandle:
    # Node < 24 ignores HTTPS_PROXY: without isolation its fetch would go around the sandbox.
    if _node_major() < 24 and not available()[0]:
        pytest.skip(f"isolation unavailable here ({available()[1]}) and node < 24 ignores HTTPS_PROXY")
    return SandboxHandle(running_sandbox.home, running_sandbox.ports)


def drive(ep: EpisodeHandle, server: str, *calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """Run the MCP client in the episode; its steps by tool name ("tools": the listed names)."""
    args = [f"{tool}={json.dumps(arguments)}" for tool, arguments in calls]
    proc = ep.run([sys.executable, str(CLIENT), server, *args], timeout=90)
    assert proc.returncode == 0, f"{server}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}"
    steps = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    out: dict[str, Any] = {"tools": steps[0]["tools"]}
    for step in steps[1:]:
        assert "error" not in step and not step["is_error"], step
        out[step["call"]] = step["result"]
    return out


def exchanges(ep: EpisodeHandle) -> list[tuple[str, str, str, int]]:
    """The episode's exchanges so far; and none of its keys, which the servers sent, in its ledger."""
    written = b"".join(path.read_bytes() for path in ep.ledger_path.parent.glob(ep.ledger_path.name + "*"))
    assert written and not [service for service, key in ep.episode.api_keys.items() if key.encode() in written]
    with Ledger(ep.ledger_path) as ledger:
        return [(e["method"], e["host"], e["path"], e["status"]) for e in ledger.exchanges()]


def test_server_slack_lists_channels_and_replies_in_the_triage_thread(official_servers, sandbox_handle):
    text = "Done: labelled and assigned all three."
    reply = {"channel_id": THREAD["channel"], "thread_ts": THREAD["ts"], "text": text}
    with sandbox.episode("triage-from-chat", sandbox=sandbox_handle) as ep:
        out = drive(ep, "slack", ("slack_list_channels", {"limit": 100}), ("slack_reply_to_thread", reply))
        assert {"slack_list_channels", "slack_post_message", "slack_get_user_profile"} <= set(out["tools"])
        listed = out["slack_list_channels"]
        assert listed["ok"] is True
        assert sorted((c["id"], c["name"]) for c in listed["channels"]) == sorted(
            (c.id, c.name) for c in W.chat.channels if not c.is_private)
        posted = out["slack_reply_to_thread"]
        assert (posted["ok"], posted["channel"], posted["message"]["text"]) == (True, THREAD["channel"], text)
        assert exchanges(ep) == [("GET", "slack.com", "/api/conversations.list", 200),
                                 ("POST", "slack.com", "/api/chat.postMessage", 200)]
    reasons = ep.result.reasons
    assert "ok: a reply in the triage thread (1 found, at least 1 wanted)" in reasons
    assert not [r for r in reasons if r.startswith(("collateral damage", "forbidden", "leak"))], reasons
    assert ep.result.details["calls"] == 2 and not ep.result.success  # the issues are GitHub's part


def test_server_github_lists_issues_and_triages_one(official_servers, sandbox_handle):
    owner, repo = REPO.split("/")
    first = TRIAGE["issues"][0]
    with sandbox.episode("triage-from-chat", sandbox=sandbox_handle) as ep:
        out = drive(ep, "github", ("search_repositories", {"query": f"org:{owner}"}),
                    ("list_issues", {"owner": owner, "repo": repo, "state": "open", "per_page": 100}),
                    ("search_issues", {"q": f"repo:{REPO} is:issue is:open no:assignee"}),
                    ("update_issue", {"owner": owner, "repo": repo, "issue_number": first["number"],
                                      "labels": [first["label"]], "assignees": [first["assignee"]]}))
        assert {"list_issues", "update_issue", "add_issue_comment", "search_issues"} <= set(out["tools"])
        # server-github checks this answer against its own schema of GitHub's search response
        assert sorted(r["name"] for r in out["search_repositories"]["items"]) == sorted(r.name for r in W.code.repos)
        open_issues = [i for i in W.code.issues if i.repo == TRIAGE["repo"] and i.state == "open"]
        assert sorted((i["number"], i["title"]) for i in out["list_issues"]) == sorted(
            (i.number, i.title) for i in open_issues)
        untriaged = sorted(i.number for i in open_issues if not i.assignees)
        assert sorted(i["number"] for i in out["search_issues"]["items"]) == untriaged
        assert {i["number"] for i in TRIAGE["issues"]} <= set(untriaged)
        updated = out["update_issue"]
        assert [label["name"] for label in updated["labels"]] == [first["label"]]
        assert [a["login"] for a in updated["assignees"]] == [first["assignee"]]
        path = f"/repos/{REPO}/issues"
        assert exchanges(ep) == [("GET", "api.github.com", "/search/repositories", 200),
                                 ("GET", "api.github.com", path, 200), ("GET", "api.github.com", "/search/issues", 200),
                                 ("PATCH", "api.github.com", f"{path}/{first['number']}", 200)]
    reasons = ep.result.reasons
    assert (f"ok: #{first['number']} labelled {first['label']} and assigned to {first['assignee']} "
            "(1 found, at least 1 wanted)") in reasons
    assert not [r for r in reasons if r.startswith(("collateral damage", "forbidden", "leak"))], reasons


def test_both_servers_in_one_episode_finish_the_triage_task(official_servers, sandbox_handle):
    """The task as an agent with both servers would do it: three issue updates, then the reply."""
    owner, repo = REPO.split("/")
    updates = [("update_issue", {"owner": owner, "repo": repo, "issue_number": i["number"], "labels": [i["label"]],
                                 "assignees": [i["assignee"]]}) for i in TRIAGE["issues"]]
    with sandbox.episode("triage-from-chat", sandbox=sandbox_handle) as ep:
        drive(ep, "github", *updates)
        drive(ep, "slack", ("slack_get_thread_replies", {"channel_id": THREAD["channel"], "thread_ts": THREAD["ts"]}),
              ("slack_reply_to_thread", {"channel_id": THREAD["channel"], "thread_ts": THREAD["ts"],
                                         "text": "All three labelled and assigned."}))
    assert (ep.result.success, ep.result.score) == (True, 1.0), ep.result.render()


def test_stripe_mcp_bridge_lists_customers_and_refunds_the_duplicate(official_servers, sandbox_handle):
    duplicate = next(c for c in W.charges if c.id == DOUBLE["duplicate_charge"])
    with sandbox.episode("refund-duplicate-charge", sandbox=sandbox_handle) as ep:
        out = drive(ep, "stripe", ("list_customers", {"email": DOUBLE["customer_email"]}),
                    ("list_payment_intents", {"customer": DOUBLE["customer"], "limit": 100}),
                    ("create_refund", {"payment_intent": duplicate.payment_intent_id, "reason": "duplicate"}))
        assert {"list_customers", "create_refund"} <= set(out["tools"])
        customers = [(c["id"], c["email"]) for c in out["list_customers"]]
        assert customers == [(DOUBLE["customer"], DOUBLE["customer_email"])]
        intents = {i["id"]: i["latest_charge"] for i in out["list_payment_intents"]}
        assert intents[duplicate.payment_intent_id] == duplicate.id
        assert out["create_refund"]["amount"] == DOUBLE["amount"]
        hosts = {(host, path) for _, host, path, _ in exchanges(ep)}
        assert hosts == {("mcp.stripe.com", "/")}  # the bridge's streamable HTTP, nothing else
    assert (ep.result.success, ep.result.score) == (True, 1.0), ep.result.render()


def test_the_client_says_what_is_missing_before_starting_a_server(official_servers, tmp_path):
    def client(*args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(CLIENT), *args], capture_output=True, text=True, timeout=30,
                              env={"PATH": "/usr/bin:/bin", **env})

    outside = client("slack", "slack_list_channels")  # no episode: no SLACK_BOT_TOKEN
    assert outside.returncode == 1
    assert "SLACK_BOT_TOKEN, SLACK_TEAM_ID not set: run this inside an episode" in outside.stderr
    bad = client("github", "list_issues={owner: 1}", GITHUB_TOKEN="ghp_x")
    assert bad.returncode == 1 and "the arguments after '=' are not JSON" in bad.stderr
    not_installed = client("stripe", OFFICIAL_MCP_SERVERS=str(tmp_path), STRIPE_API_KEY="sk_test_x")
    assert not_installed.returncode == 1 and "npm ci --prefix tools/mcp-servers" in not_installed.stderr
    assert client("gitlab").returncode == 2
