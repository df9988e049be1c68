"""Issue comments through PyGithub: list, create, edit, delete; the repository-wide list and its
sorts; and the bad inputs GitHub refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from github import GithubException, UnknownObjectException

from tests.services.code_fixtures import *  # noqa: F403 (fixtures)
from tests.services.code_fixtures import BOT, ORG, REPO, W

DISCUSSED = next(i for i in W.code.issues if i.repo == REPO and i.comments)
REPO_COMMENTS = [c for i in W.code.issues if i.repo == REPO for c in i.comments]


def test_world_comments(gh, code_served):
    issue = gh.get_repo(f"{ORG}/{REPO}").get_issue(DISCUSSED.number)
    comments = list(issue.get_comments())
    assert [(c.id, c.user.login, c.body) for c in comments] == [
        (c.id, c.author_login, c.body) for c in DISCUSSED.comments
    ]
    first = comments[0]
    assert first.url == f"{code_served.url}/repos/{ORG}/{REPO}/issues/comments/{first.id}"
    assert first.html_url == f"https://github.com/{ORG}/{REPO}/issues/{DISCUSSED.number}#issuecomment-{first.id}"
    assert first.raw_data["issue_url"] == issue.url and first.raw_data["author_association"] == "MEMBER"
    assert first.created_at == datetime.fromtimestamp(DISCUSSED.comments[0].created, UTC)


def test_create_edit_delete(gh, code_served, ep):
    repo = gh.get_repo(f"{ORG}/{REPO}")
    issue = repo.get_issue(DISCUSSED.number)
    before = issue.updated_at
    made = issue.create_comment("Reproduced on staging.")
    assert made.user.login == BOT and made.body == "Reproduced on staging."
    refreshed = repo.get_issue(DISCUSSED.number)
    assert refreshed.comments == len(DISCUSSED.comments) + 1 and refreshed.updated_at > before
    assert [c.id for c in issue.get_comments()][-1] == made.id
    fetched = repo.get_issue(DISCUSSED.number).get_comment(made.id)
    assert fetched.body == "Reproduced on staging."
    made.edit("Reproduced on staging and prod.")
    assert made.body == "Reproduced on staging and prod." and made.updated_at >= made.created_at
    made.delete()
    with pytest.raises(UnknownObjectException):
        issue.get_comment(made.id)
    assert repo.get_issue(DISCUSSED.number).comments == len(DISCUSSED.comments)
    with code_served.ledger(ep) as ledger:
        ops = [(c["tbl"], c["op"]) for c in ledger.state_changes()]
    assert ops.count(("comments", "insert")) == 1 and ops.count(("comments", "delete")) == 1
    assert ("comments", "update") in ops and ("issues", "update") in ops


def test_mentioned_filter_reads_bodies_and_comments(gh, http):
    quiet = next(i for i in W.code.issues if i.repo == REPO and i.state == "open" and not i.comments)
    gh.get_repo(f"{ORG}/{REPO}").get_issue(quiet.number).create_comment(f"@{BOT} can you take this?")
    found = http("GET", f"/repos/{ORG}/{REPO}/issues?mentioned={BOT}").json()
    assert [i["number"] for i in found] == [quiet.number]


def test_repository_comments_sorted_and_paged(code_served, ep):
    from tests.services.code_fixtures import github_for

    gh = github_for(code_served.url, ep.api_keys["code"], per_page=2)
    try:
        repo = gh.get_repo(f"{ORG}/{REPO}")
        ids = [c.id for c in repo.get_issues_comments()]
        assert ids == [c.id for c in sorted(REPO_COMMENTS, key=lambda c: (c.created, c.id))]
        newest = [c.id for c in repo.get_issues_comments(sort="created", direction="desc")]
        assert newest == ids[::-1]
        cutoff = sorted(c.created for c in REPO_COMMENTS)[-2]
        recent = [c.id for c in repo.get_issues_comments(since=datetime.fromtimestamp(cutoff, UTC))]
        assert recent == ids[-2:]
    finally:
        gh.close()


def test_comment_validation(gh, http):
    issue = gh.get_repo(f"{ORG}/{REPO}").get_issue(DISCUSSED.number)
    with pytest.raises(GithubException) as err:
        issue.create_comment("")
    assert err.value.status == 422 and err.value.data["errors"][0]["field"] == "body"
    path = f"/repos/{ORG}/{REPO}/issues/{DISCUSSED.number}/comments"
    missing = http("POST", path, json={})
    assert missing.status_code == 422 and missing.json()["message"] == 'Invalid request.\n\n"body" wasn\'t supplied.'
    assert http("POST", path, json={"body": 5}).status_code == 422
    assert http("POST", path, json={"body": "x" * 65537}).json()["errors"][0]["code"] == "custom"
    assert http("POST", path, data=b'{"body": ').json()["message"] == "Problems parsing JSON"
    assert http("GET", f"/repos/{ORG}/{REPO}/issues/comments/1").status_code == 404
    assert http("PATCH", f"/repos/{ORG}/{REPO}/issues/comments/1", json={"body": "x"}).status_code == 404
    assert http("DELETE", f"/repos/{ORG}/{REPO}/issues/comments/1").status_code == 404
    assert http("GET", f"/repos/{ORG}/{REPO}/issues/comments?sort=random").status_code == 422
    other_repo = next(r.name for r in W.code.repos if r.name != REPO)
    foreign = http("GET", f"/repos/{ORG}/{other_repo}/issues/comments/{DISCUSSED.comments[0].id}")
    assert foreign.status_code == 404  # a comment is found only under its own repository
