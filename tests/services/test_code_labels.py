"""Labels through PyGithub: a repository's labels, creating one, and an issue's labels (add, set,
remove one, remove all), with GitHub's errors for bad names, colours and unknown labels."""

from __future__ import annotations

import pytest
from github import GithubException, UnknownObjectException

from tests.services.code_fixtures import *  # noqa: F403 (fixtures)
from tests.services.code_fixtures import ORG, REPO, W

TRIAGE = W.code.facts["triage"]["issues"]


def test_repository_labels(gh, code_served):
    repo = gh.get_repo(f"{ORG}/{REPO}")
    labels = list(repo.get_labels())
    assert sorted(label.name for label in labels) == sorted(label.name for label in W.code.labels)
    bug = repo.get_label("BUG")  # names match without regard to case
    assert (bug.name, bug.color, bug.description) == ("bug", "d73a4a", "Something isn't working")
    assert bug.url == f"{code_served.url}/repos/{ORG}/{REPO}/labels/bug"
    assert bug.raw_data["default"] is True and bug.raw_data["node_id"].startswith("LA_kwDO")
    assert repo.get_label("billing").raw_data["default"] is False
    spaced = repo.get_label("customer-report")
    assert spaced.name == "customer-report"
    with pytest.raises(UnknownObjectException):
        repo.get_label("no-such-label")


def test_create_label(gh, code_served, ep):
    repo = gh.get_repo(f"{ORG}/{REPO}")
    made = repo.create_label("needs triage", "#FF8800", "Nobody looked yet")
    assert (made.name, made.color, made.description) == ("needs triage", "ff8800", "Nobody looked yet")
    assert made.url.endswith("/labels/needs%20triage")
    assert repo.get_label("needs triage").id == made.id
    with pytest.raises(GithubException) as err:
        repo.create_label("Needs Triage", "00ff00")
    assert err.value.status == 422
    assert err.value.data["errors"] == [{"resource": "Label", "code": "already_exists", "field": "name"}]
    with pytest.raises(GithubException) as err:
        repo.create_label("orange", "orange")
    assert err.value.data["errors"][0]["field"] == "color" and err.value.data["errors"][0]["code"] == "invalid"
    with code_served.ledger(ep) as ledger:
        assert [(c["tbl"], c["op"], c["after"]["name"]) for c in ledger.state_changes()] == [
            ("labels", "insert", "needs triage")
        ]


def test_issue_labels_add_set_remove(gh):
    repo = gh.get_repo(f"{ORG}/{REPO}")
    issue = repo.get_issue(TRIAGE[0]["number"])
    assert list(issue.get_labels()) == []
    issue.add_to_labels("bug", "billing")
    assert [label.name for label in issue.get_labels()] == ["billing", "bug"]
    issue.add_to_labels("Bug")  # already there, whatever the case
    assert [label.name for label in repo.get_issue(issue.number).labels] == ["billing", "bug"]
    issue.set_labels("enhancement")
    assert [label.name for label in issue.get_labels()] == ["enhancement"]
    issue.add_to_labels("customer-report")
    issue.remove_from_labels("enhancement")
    assert [label.name for label in repo.get_issue(issue.number).labels] == ["customer-report"]
    with pytest.raises(GithubException) as err:
        issue.remove_from_labels("question")
    assert (err.value.status, err.value.data["message"]) == (404, "Label does not exist")
    issue.delete_labels()
    assert list(repo.get_issue(issue.number).get_labels()) == []


def test_issue_label_bodies_in_every_shape_github_takes(http):
    path = f"/repos/{ORG}/{REPO}/issues/{TRIAGE[1]['number']}/labels"
    assert [x["name"] for x in http("POST", path, json={"labels": ["question"]}).json()] == ["question"]
    assert [x["name"] for x in http("POST", path, json={"labels": [{"name": "bug"}]}).json()] == ["bug", "question"]
    assert [x["name"] for x in http("PUT", path, json=[{"name": "duplicate"}]).json()] == ["duplicate"]
    assert [x["name"] for x in http("PUT", path, json={"labels": []}).json()] == []
    assert http("POST", path, json={"labels": "bug"}).status_code == 200  # a lone name is taken too
    bad = http("POST", path, json={"labels": [3]})
    assert bad.status_code == 422 and bad.json()["message"].startswith("Invalid request.")
    assert http("POST", path, json={"labels": [""]}).json()["errors"][0]["code"] == "missing_field"
    assert http("POST", path, data=b"labels=bug").status_code == 400
    assert http("POST", f"/repos/{ORG}/{REPO}/issues/999/labels", json=["bug"]).status_code == 404
    assert http("DELETE", f"/repos/{ORG}/{REPO}/issues/999/labels").status_code == 404
