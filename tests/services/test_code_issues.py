"""Issues through PyGithub: read the world's issues, page through them, create, edit, close and
reopen, assign; and the rows each write changes reach the ledger."""

from __future__ import annotations

import json

import pytest
from github import GithubException, UnknownObjectException

from sandbox.clock import EPISODE_START
from tests.services.code_fixtures import *  # noqa: F403 (fixtures)
from tests.services.code_fixtures import BOT, ENGINEERS, ORG, OUTSIDER, REPO, W, github_for

WORLD_ISSUES = [i for i in W.code.issues if i.repo == REPO]
TRIAGE = W.code.facts["triage"]["issues"]


def test_world_issue_is_github_shaped(gh, code_served):
    source = next(i for i in WORLD_ISSUES if i.state == "closed")
    issue = gh.get_repo(f"{ORG}/{REPO}").get_issue(source.number)
    assert (issue.id, issue.number, issue.title, issue.body) == (source.id, source.number, source.title, source.body)
    assert issue.user.login == source.author_login and issue.state == "closed"
    assert issue.state_reason == "completed" and issue.closed_at.timestamp() == source.closed_at
    assert [label.name for label in issue.labels] == list(source.labels)
    assert issue.comments == len(source.comments)
    discussed = next(i for i in WORLD_ISSUES if i.comments)
    assert gh.get_repo(f"{ORG}/{REPO}").get_issue(discussed.number).comments == len(discussed.comments)
    assert issue.url == f"{code_served.url}/repos/{ORG}/{REPO}/issues/{source.number}"
    assert issue.html_url == f"https://github.com/{ORG}/{REPO}/issues/{source.number}"
    raw = issue.raw_data
    assert raw["repository_url"] == f"{code_served.url}/repos/{ORG}/{REPO}"
    assert raw["comments_url"] == issue.url + "/comments" and raw["labels_url"] == issue.url + "/labels{/name}"
    assert raw["node_id"].startswith("I_kwDO") and raw["milestone"] is None and raw["locked"] is False
    assert raw["created_at"].endswith("Z") and raw["reactions"]["total_count"] == 0
    assert raw["closed_by"]["login"] in {*source.assignees, source.author_login}
    member = source.author_login in {s.github_login for s in W.staff}
    assert raw["author_association"] == ("MEMBER" if member else "NONE")


def test_pygithub_pages_through_every_issue(code_served, ep):
    gh = github_for(code_served.url, ep.api_keys["code"], per_page=3)
    try:
        repo = gh.get_repo(f"{ORG}/{REPO}")
        numbers = [i.number for i in repo.get_issues(state="all")]
        assert sorted(numbers) == sorted(i.number for i in WORLD_ISSUES)  # 10 issues on 4 pages
        # totalCount reads the page number of rel="last" at per_page=1
        assert repo.get_issues(state="all").totalCount == len(WORLD_ISSUES)
        created = [i.created for i in sorted(WORLD_ISSUES, key=lambda i: (i.created, i.number), reverse=True)]
        assert [next(w.created for w in WORLD_ISSUES if w.number == n) for n in numbers] == created
    finally:
        gh.close()


def test_link_header_pagination_with_raw_requests(http, code_served):
    base = f"{code_served.url}/repos/{ORG}/{REPO}/issues"
    first = http("GET", f"/repos/{ORG}/{REPO}/issues?state=all&per_page=4")
    assert first.status_code == 200 and len(first.json()) == 4
    assert first.links["next"]["url"] == f"{base}?state=all&per_page=4&page=2"
    assert first.links["last"]["url"] == f"{base}?state=all&per_page=4&page=3"
    assert "prev" not in first.links and "first" not in first.links
    seen, response = [], first
    while True:
        seen += [i["number"] for i in response.json()]
        if "next" not in response.links:
            break
        response = http("GET", response.links["next"]["url"])
    assert sorted(seen) == sorted(i.number for i in WORLD_ISSUES) and len(seen) == len(set(seen))
    assert response.links["prev"]["url"].endswith("page=2") and response.links["first"]["url"].endswith("page=1")
    assert "next" not in response.links
    one_page = http("GET", f"/repos/{ORG}/{REPO}/issues?state=all&per_page=100")
    assert "Link" not in one_page.headers and len(one_page.json()) == len(WORLD_ISSUES)
    beyond = http("GET", f"/repos/{ORG}/{REPO}/issues?state=all&page=9")
    assert beyond.json() == [] and beyond.links["prev"]["url"].endswith("page=1")
    capped = http("GET", f"/repos/{ORG}/{REPO}/issues?state=all&per_page=1000")
    assert len(capped.json()) == len(WORLD_ISSUES)  # per_page is capped at 100, not refused


def test_list_filters(http):
    def numbers(query: str) -> list[int]:
        response = http("GET", f"/repos/{ORG}/{REPO}/issues?{query}")
        assert response.status_code == 200, response.text
        return sorted(i["number"] for i in response.json())

    def expect(keep) -> list[int]:
        return sorted(i.number for i in WORLD_ISSUES if keep(i))

    assert numbers("") == expect(lambda i: i.state == "open")
    assert numbers("state=closed") == expect(lambda i: i.state == "closed")
    assert numbers("state=all&labels=bug") == expect(lambda i: "bug" in i.labels)
    assert numbers("state=all&labels=BUG,question") == []
    assert numbers("state=all&assignee=none") == expect(lambda i: not i.assignees)
    assert numbers("state=all&assignee=*") == expect(lambda i: i.assignees)
    someone = next(i.assignees[0] for i in WORLD_ISSUES if i.assignees)
    assert numbers(f"state=all&assignee={someone}") == expect(lambda i: someone in i.assignees)
    author = WORLD_ISSUES[0].author_login
    assert numbers(f"state=all&creator={author}") == expect(lambda i: i.author_login == author)
    assert numbers("state=all&since=2026-01-14T00:00:00Z") == expect(lambda i: (i.closed_at or i.updated) >= 1768348800)
    assert numbers("state=all&milestone=*") == []
    oldest = http("GET", f"/repos/{ORG}/{REPO}/issues?state=all&sort=created&direction=asc&per_page=1").json()
    assert oldest[0]["number"] == min(WORLD_ISSUES, key=lambda i: (i.created, i.number)).number


def test_create_issue_with_labels_and_assignees(gh, code_served, ep):
    repo = gh.get_repo(f"{ORG}/{REPO}")
    issue = repo.create_issue(
        "Checkout times out on slow networks", body="Seen twice today.", labels=["bug", "needs-repro"],
        assignees=[ENGINEERS[0], OUTSIDER],
    )
    assert issue.number == max(i.number for i in WORLD_ISSUES) + 1
    assert issue.user.login == BOT and issue.state == "open" and issue.state_reason is None
    assert [label.name for label in issue.labels] == ["bug", "needs-repro"]
    # The outsider is not a collaborator: GitHub drops them without a word.
    assert [a.login for a in issue.assignees] == [ENGINEERS[0]] and issue.raw_data["assignee"]["login"] == ENGINEERS[0]
    assert EPISODE_START < issue.created_at.timestamp() < EPISODE_START + 60
    assert issue.raw_data["author_association"] == "MEMBER"
    # A label named for the first time now exists, grey, like GitHub makes it.
    created_label = repo.get_label("needs-repro")
    assert (created_label.color, created_label.description) == ("ededed", None)
    assert repo.get_issue(issue.number).title == "Checkout times out on slow networks"

    with code_served.ledger(ep) as ledger:
        changes = ledger.state_changes()
    inserted = [c for c in changes if c["tbl"] == "issues" and c["op"] == "insert"]
    assert [int(c["row_key"]) for c in inserted] == [issue.id]
    assert any(c["tbl"] == "labels" and c["op"] == "insert" for c in changes)


def test_new_ids_and_numbers_repeat_in_every_episode_of_the_seed(code_served):
    made = []
    for _ in range(2):
        gh = github_for(code_served.url, code_served.episode().api_keys["code"])
        issue = gh.get_repo(f"{ORG}/{REPO}").create_issue("Same in every episode")
        made.append((issue.id, issue.number, issue.created_at))
        gh.close()
    assert made[0] == made[1]


def test_edit_close_reopen(gh, code_served, ep):
    target = TRIAGE[0]
    issue = gh.get_repo(f"{ORG}/{REPO}").get_issue(target["number"])
    before = issue.updated_at
    issue.edit(title="Crash with 100+ items in the cart", labels=[target["label"]], assignees=[target["assignee"]])
    assert issue.title == "Crash with 100+ items in the cart" and issue.updated_at > before
    assert [label.name for label in issue.labels] == [target["label"]]
    assert [a.login for a in issue.assignees] == [target["assignee"]]
    issue.edit(state="closed", state_reason="not_planned")
    assert (issue.state, issue.state_reason) == ("closed", "not_planned")
    assert issue.closed_at is not None and issue.closed_by.login == BOT
    issue.edit(state="open")
    assert (issue.state, issue.state_reason, issue.closed_at) == ("open", "reopened", None)

    with code_served.ledger(ep) as ledger:
        updates = [c for c in ledger.state_changes() if c["tbl"] == "issues"]
    assert {c["op"] for c in updates} == {"update"} and len(updates) == 3
    first = updates[0]["after"]
    assert json.loads(first["labels"]) == [target["label"]] and json.loads(first["assignees"]) == [target["assignee"]]


def test_edit_without_a_change_writes_nothing(gh, code_served, ep):
    issue = gh.get_repo(f"{ORG}/{REPO}").get_issue(TRIAGE[1]["number"])
    issue.edit(title=issue.title)
    with code_served.ledger(ep) as ledger:
        assert ledger.state_changes() == []


def test_assignees_add_remove_and_check(gh):
    repo = gh.get_repo(f"{ORG}/{REPO}")
    issue = repo.get_issue(TRIAGE[2]["number"])
    issue.add_to_assignees(ENGINEERS[1], OUTSIDER, ENGINEERS[2])
    assert [a.login for a in issue.assignees] == [ENGINEERS[1], ENGINEERS[2]]
    issue.remove_from_assignees(ENGINEERS[1])
    assert [a.login for a in repo.get_issue(issue.number).assignees] == [ENGINEERS[2]]
    members = {s.github_login for s in W.staff} | {BOT}
    assert {u.login for u in repo.get_assignees()} == members
    assert repo.has_in_assignees(ENGINEERS[0]) is True
    assert repo.has_in_assignees(OUTSIDER) is False


def test_unknown_repo_and_issue_are_404(gh):
    with pytest.raises(UnknownObjectException) as err:
        gh.get_repo(f"{ORG}/no-such-repo")
    assert err.value.status == 404 and err.value.data["message"] == "Not Found"
    assert err.value.data["documentation_url"] == "https://docs.github.com/rest/repos/repos#get-a-repository"
    with pytest.raises(UnknownObjectException):
        gh.get_repo(f"someone-else/{REPO}")
    repo = gh.get_repo(f"{ORG}/{REPO}")
    with pytest.raises(UnknownObjectException):
        repo.get_issue(999)


def test_create_validation(gh, http):
    repo = gh.get_repo(f"{ORG}/{REPO}")
    with pytest.raises(GithubException) as err:
        repo.create_issue("   ")
    assert err.value.status == 422
    assert err.value.data["errors"] == [{"resource": "Issue", "code": "missing_field", "field": "title"}]
    path = f"/repos/{ORG}/{REPO}/issues"
    missing = http("POST", path, json={"body": "no title"})
    assert missing.status_code == 422 and missing.json()["message"] == "Validation Failed"
    assert missing.json()["errors"][0]["field"] == "title" and missing.json()["status"] == "422"
    wrong = http("POST", path, json={"title": "t", "labels": "bug"})
    assert wrong.status_code == 422
    assert wrong.json()["message"] == "Invalid request.\n\nFor 'properties/labels', \"bug\" is not an array."
    assert http("POST", path, json={"title": "t", "assignees": [1]}).status_code == 422
    assert http("POST", path, json={"title": ["t"]}).status_code == 422
    assert http("POST", path, json={"title": "x" * 257}).json()["errors"][0]["code"] == "custom"
    assert http("POST", path, json={"title": "t", "milestone": 3}).json()["errors"][0]["field"] == "milestone"
    assert http("POST", path, json=["a list"]).status_code == 422
    assert http("PATCH", f"{path}/1", json={"state": "done"}).status_code == 422
    assert http("PATCH", f"{path}/1", json={"state_reason": "bored"}).status_code == 422
    assert http("GET", f"{path}?state=shut").status_code == 422
    assert http("GET", f"{path}?since=yesterday").status_code == 422
    assert http("GET", f"{path}?per_page=many").status_code == 422
    # numbers stay unique and nothing was written by any of these
    assert http("POST", path, json={"title": 42}).json()["title"] == "42"
