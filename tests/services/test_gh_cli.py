"""The real gh CLI (Debian's package) through the real proxy to the code fake, configured only by what
`sandbox env` gives an agent (HTTPS_PROXY, SSL_CERT_FILE, GH_TOKEN) and a config folder of its own:
`gh auth status`, `gh issue list|view|create|comment|close` and `gh repo view` print the seeded world,
their writes reach the ledger linked to the GraphQL exchange that made them, and a task solved with
`gh issue create` scores as the PyGithub oracle does."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.run.agent_env import agent_env
from tests.services.code_fixtures import BOT, ORG, REPO, W

pytestmark = pytest.mark.skipif(shutil.which("gh") is None,
                                reason="the gh CLI is not installed (apt-get install gh; .ci/run installs it)")

FULL = f"{ORG}/{REPO}"
SEEDED = [i for i in W.code.issues if i.repo == REPO]
TRIAGE = W.code.facts["triage"]["issues"][0]


@pytest.fixture
def episode(running_sandbox) -> Iterator[Episode]:
    store = EpisodeStore(running_sandbox.home)
    yield store.create(W.seed)
    store.close()


@pytest.fixture
def gh(running_sandbox, episode, tmp_path) -> Callable[..., subprocess.CompletedProcess[str]]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GH_CONFIG_DIR": str(tmp_path / "gh"),
           **agent_env(running_sandbox.home, episode, running_sandbox.ports)}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["gh", *args], env=env, capture_output=True, text=True, timeout=60)
        if ok:
            assert done.returncode == 0, f"gh {' '.join(args)}: {done.stderr}"
        return done

    return run


def _ledger(running_sandbox, episode) -> tuple[list[dict], list[dict]]:
    with EpisodeStore(running_sandbox.home).ledger(episode.id) as ledger:
        return ledger.exchanges(), [c for c in ledger.state_changes() if c["service"] == "code"]


def _rows(listing: str) -> list[list[str]]:
    return [line.split("\t") for line in listing.strip().splitlines()]


def test_auth_status_reads_the_api_root_and_the_token_scopes(gh):
    status = gh("auth", "status")
    assert f"Logged in to github.com as {BOT} (GH_TOKEN)" in status.stderr
    assert "Token scopes: read:org, repo" in status.stderr


def test_issue_list_prints_the_seeded_issues_with_and_without_filters(gh):
    listed = _rows(gh("issue", "list", "-R", FULL).stdout)
    open_issues = sorted((i for i in SEEDED if i.state == "open"), key=lambda i: i.created, reverse=True)
    assert [(int(r[0]), r[1], r[2]) for r in listed] == [(i.number, "OPEN", i.title) for i in open_issues]

    some = next(i for i in SEEDED if i.assignees and i.labels)
    filtered = _rows(gh("issue", "list", "-R", FULL, "--state", "all", "--label", some.labels[0], "--assignee",
                        some.assignees[0], "--limit", "5").stdout)
    expected = [i for i in SEEDED if some.labels[0] in i.labels and some.assignees[0] in i.assignees]
    assert {int(r[0]) for r in filtered} == {i.number for i in expected[:5]}
    assert some.number in {int(r[0]) for r in filtered}
    as_json = json.loads(gh("issue", "list", "-R", FULL, "--state", "closed", "--json", "number,state").stdout)
    assert {i["number"] for i in as_json} == {i.number for i in SEEDED if i.state == "closed"}


def test_issue_view_prints_the_issue_and_its_comments(gh):
    issue = next(i for i in SEEDED if i.comments)
    shown = gh("issue", "view", str(issue.number), "-R", FULL).stdout
    assert f"title:\t{issue.title}" in shown and f"number:\t{issue.number}" in shown
    assert issue.body.strip() in shown
    comments = gh("issue", "view", str(issue.number), "-R", FULL, "--comments").stdout
    assert all(c.body.strip() in comments for c in issue.comments)
    missing = gh("issue", "view", "9999", "-R", FULL, ok=False)
    assert missing.returncode != 0
    assert "Could not resolve to an issue or pull request with the number of 9999." in missing.stderr


def test_repo_view_prints_the_repository(gh):
    shown = gh("repo", "view", FULL).stdout
    repo = next(r for r in W.code.repos if r.name == REPO)
    assert f"name:\t{FULL}" in shown and f"description:\t{repo.description}" in shown


def test_create_comment_close_write_the_ledger_through_graphql(running_sandbox, episode, gh):
    created = gh("issue", "create", "-R", FULL, "-t", "Checkout fails with E4021", "-b", "Steps to reproduce.",
                 "-l", "bug").stdout.strip()
    number = max(i.number for i in SEEDED) + 1
    assert created == f"https://github.com/{FULL}/issues/{number}"
    commented = gh("issue", "comment", str(TRIAGE["number"]), "-R", FULL, "-b", "Looking into it.").stdout.strip()
    assert commented.startswith(f"https://github.com/{FULL}/issues/{TRIAGE['number']}#issuecomment-")
    closed = gh("issue", "close", str(TRIAGE["number"]), "-R", FULL)
    assert f"Closed issue #{TRIAGE['number']}" in closed.stderr

    exchanges, changes = _ledger(running_sandbox, episode)
    assert {(e["via"], e["host"]) for e in exchanges} == {("proxy", "api.github.com")}
    graphql = {e["id"] for e in exchanges if (e["method"], e["path"]) == ("POST", "/graphql")}
    assert changes and all(c["exchange_id"] in graphql for c in changes)
    kinds = [(c["tbl"], c["op"]) for c in changes]
    assert kinds == [("issues", "insert"), ("comments", "insert"), ("issues", "update"), ("issues", "update")]
    inserted = json.loads(changes[0]["after"]) if isinstance(changes[0]["after"], str) else changes[0]["after"]
    assert (inserted["title"], inserted["labels"], inserted["author"]) == ("Checkout fails with E4021", '["bug"]', BOT)
    closing = json.loads(changes[-1]["after"]) if isinstance(changes[-1]["after"], str) else changes[-1]["after"]
    assert (closing["state"], closing["state_reason"], closing["closed_by"]) == ("closed", "completed", BOT)


def test_a_task_solved_with_gh_scores_as_the_pygithub_oracle(running_sandbox, tmp_path):
    from sandbox.run.runner import run_task
    from sandbox.tasks.registry import load_task

    task = load_task("bug-report-escalation")
    agent = Path(__file__).parent / "agents" / "bug_report_with_gh.py"
    extra = {"HOME": str(tmp_path), "GH_CONFIG_DIR": str(tmp_path / "gh"), "PYTHONPATH": str(Path.cwd())}
    # Isolated where the kernel allows it, as `sandbox run` runs an agent: gh's only way out is the proxy.
    with_gh = run_task(task, [sys.executable, str(agent)], home=running_sandbox.home, ports=running_sandbox.ports,
                       extra_env=extra, timeout=120)
    oracle = run_task(task, [sys.executable, "-m", "sandbox.tasks.oracles.bug_report_escalation"],
                      home=running_sandbox.home, ports=running_sandbox.ports, timeout=120)
    assert (with_gh.exit_code, oracle.exit_code) == (0, 0)
    assert with_gh.score.success and oracle.score.success
    assert with_gh.score.score == oracle.score.score == 1.0
    assert with_gh.score.details["errors"] == oracle.score.details["errors"] == 0

    def issue_insert(result) -> dict:
        with EpisodeStore(running_sandbox.home).ledger(result.episode.id) as ledger:
            rows = [c for c in ledger.state_changes() if (c["service"], c["tbl"], c["op"]) == ("code", "issues",
                                                                                              "insert")]
        assert len(rows) == 1
        after = json.loads(rows[0]["after"]) if isinstance(rows[0]["after"], str) else dict(rows[0]["after"])
        return {k: v for k, v in after.items() if k not in ("created_at", "updated_at")}

    assert issue_insert(with_gh) == issue_insert(oracle)


def test_issue_edit_labels_and_assigns_through_graphql(running_sandbox, episode, gh):
    number = str(TRIAGE["number"])
    gh("issue", "edit", number, "-R", FULL, "--add-label", TRIAGE["label"], "--add-assignee", TRIAGE["assignee"])
    shown = gh("issue", "view", number, "-R", FULL, "--json", "labels,assignees").stdout
    shown = json.loads(shown)
    assert [label["name"] for label in shown["labels"]] == [TRIAGE["label"]]
    assert [person["login"] for person in shown["assignees"]] == [TRIAGE["assignee"]]
    _, changes = _ledger(running_sandbox, episode)
    last = json.loads(changes[-1]["after"]) if isinstance(changes[-1]["after"], str) else changes[-1]["after"]
    assert (changes[-1]["tbl"], changes[-1]["op"]) == ("issues", "update")
    assert json.loads(last["labels"]) == [TRIAGE["label"]] and json.loads(last["assignees"]) == [TRIAGE["assignee"]]


def test_search_through_graphql_and_rest(gh):
    issue = next(i for i in SEEDED if i.state == "open")
    word = max(issue.title.split(), key=len)
    expected = {i.number for i in SEEDED if i.state == "open" and word.lower() in f"{i.title}\n{i.body}".lower()}
    listed = _rows(gh("issue", "list", "-R", FULL, "--search", word).stdout)
    assert {int(r[0]) for r in listed} == expected and issue.number in expected
    searched = json.loads(gh("search", "issues", word, "--repo", FULL, "--state", "open", "--json", "number").stdout)
    assert {i["number"] for i in searched} == expected
