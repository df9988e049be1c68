"""PyGithub through the real proxy over HTTPS to the code fake in its own process, configured only
by what `sandbox env` gives an agent (HTTPS_PROXY, REQUESTS_CA_BUNDLE, GITHUB_TOKEN)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from github import Auth, Github

from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.run.agent_env import agent_env
from tests.services.code_fixtures import BOT, ORG, REPO, W

TRIAGE = W.code.facts["triage"]["issues"][0]


@pytest.fixture
def episode(running_sandbox) -> Iterator[Episode]:
    store = EpisodeStore(running_sandbox.home)
    yield store.create(7)
    store.close()


@pytest.fixture
def agent(running_sandbox, episode, monkeypatch) -> Iterator[Github]:
    """PyGithub with its default base URL (https://api.github.com); requests finds the proxy and the
    sandbox CA in the environment, as in an agent's process."""
    env = agent_env(running_sandbox.home, episode, running_sandbox.ports)
    for name in ("HTTPS_PROXY", "https_proxy", "REQUESTS_CA_BUNDLE", "NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, env[name])
    assert env["GITHUB_ORG"] == ORG and env["GH_TOKEN"] == env["GITHUB_TOKEN"]
    client = Github(auth=Auth.Token(env["GITHUB_TOKEN"]), per_page=4, retry=None, seconds_between_requests=None,
                    seconds_between_writes=None)
    yield client
    client.close()


def test_triage_through_the_proxy_and_the_ledger_links_each_change(running_sandbox, episode, agent):
    assert agent.get_user().login == BOT
    repo = agent.get_repo(f"{ORG}/{REPO}")
    assert repo.url == f"https://api.github.com/repos/{ORG}/{REPO}"
    untriaged = [i.number for i in repo.get_issues(assignee="none", state="open") if not i.labels]
    assert TRIAGE["number"] in untriaged  # three pages of four, followed by PyGithub through the proxy
    issue = repo.get_issue(TRIAGE["number"])
    issue.add_to_labels(TRIAGE["label"])
    issue.add_to_assignees(TRIAGE["assignee"])
    comment = issue.create_comment(f"Triaged: {TRIAGE['label']}, @{TRIAGE['assignee']}.")
    assert comment.url.startswith("https://api.github.com/repos/")
    assert [a.login for a in repo.get_issue(TRIAGE["number"]).assignees] == [TRIAGE["assignee"]]

    with EpisodeStore(running_sandbox.home).ledger(episode.id) as ledger:
        exchanges = ledger.exchanges()
        changes = ledger.state_changes()
    assert {(e["via"], e["host"], e["service"]) for e in exchanges} == {("proxy", "api.github.com", "code")}
    writes = [e for e in exchanges if e["method"] == "POST"]
    assert [(e["path"], e["status"]) for e in writes] == [
        (f"/repos/{ORG}/{REPO}/issues/{TRIAGE['number']}/labels", 200),
        (f"/repos/{ORG}/{REPO}/issues/{TRIAGE['number']}/assignees", 201),
        (f"/repos/{ORG}/{REPO}/issues/{TRIAGE['number']}/comments", 201),
    ]
    issue_updates = [c for c in changes if c["service"] == "code" and c["tbl"] == "issues"]
    assert [c["exchange_id"] for c in issue_updates][:2] == [writes[0]["id"], writes[1]["id"]]
    assert any(c["tbl"] == "comments" and c["op"] == "insert" and c["exchange_id"] == writes[2]["id"]
               for c in changes)


def test_pagination_links_use_the_vendor_base(running_sandbox, episode, agent):
    import requests

    env = agent_env(running_sandbox.home, episode, running_sandbox.ports)
    response = requests.get(
        f"https://api.github.com/repos/{ORG}/{REPO}/issues?state=all&per_page=3",
        headers={"Authorization": f"Bearer {env['GITHUB_TOKEN']}"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.links["next"]["url"] == f"https://api.github.com/repos/{ORG}/{REPO}/issues?state=all&per_page=3&page=2"
    assert response.json()[0]["repository_url"] == f"https://api.github.com/repos/{ORG}/{REPO}"
    refused = requests.get("https://api.github.com/user", headers={"Authorization": "token ghp_nope"}, timeout=10)
    assert refused.status_code == 401 and refused.json()["message"] == "Bad credentials"
