"""People, the organisation and its repositories through PyGithub: the token's bot user, users,
members, the organisation's and the caller's repositories (the private one included)."""

from __future__ import annotations

import pytest
from github import UnknownObjectException

from tests.services.code_fixtures import *  # noqa: F403 (fixtures)
from tests.services.code_fixtures import BOT, ENGINEERS, ORG, OUTSIDER, PRIVATE, REPO, W, github_for

STAFF = {s.github_login: s for s in W.staff}


def test_the_token_belongs_to_the_organisations_bot(gh, code_served):
    me = gh.get_user()
    assert me.login == BOT and me.type == "User"
    assert me.url == f"{code_served.url}/users/{BOT}" and me.html_url == f"https://github.com/{BOT}"
    assert me.raw_data["two_factor_authentication"] is True and me.raw_data["site_admin"] is False
    assert me.id == gh.get_user(BOT).id and me.raw_data["node_id"]
    assert [o.login for o in gh.get_organization(ORG).get_members() if o.login == BOT] == [BOT]


def test_users(gh):
    person = STAFF[ENGINEERS[0]]
    user = gh.get_user(person.github_login.upper())  # logins match without regard to case
    assert (user.login, user.id, user.name) == (person.github_login, person.github_id, person.name)
    assert user.email is None and user.company == f"@{ORG}"  # no personal address leaks
    outsider = gh.get_user(OUTSIDER)
    assert outsider.name == W.code.outsiders[0].name and outsider.company is None
    assert gh.get_user(ORG).type == "Organization"
    with pytest.raises(UnknownObjectException):
        gh.get_user("nobody-here-at-all")


def test_organisation_and_members(gh, code_served):
    org = gh.get_organization(ORG)
    assert (org.login, org.id, org.name) == (ORG, W.code.org_id, W.org.name)
    assert org.url == f"{code_served.url}/orgs/{ORG}"
    assert org.public_repos == len(W.code.repos) - 1 and org.total_private_repos == 1
    members = [m.login for m in org.get_members()]
    assert sorted(members) == sorted([*STAFF, BOT])
    admins = [m.login for m in org.get_members(role="admin")]
    assert admins == [s.github_login for s in W.staff if s.role == "lead"]
    assert org.has_in_members(gh.get_user(ENGINEERS[1])) is True
    assert org.has_in_members(gh.get_user(OUTSIDER)) is False
    with pytest.raises(UnknownObjectException):
        gh.get_organization("another-org")


def test_members_page_through_with_a_small_page(code_served, ep):
    gh = github_for(code_served.url, ep.api_keys["code"], per_page=4)
    try:
        members = [m.login for m in gh.get_organization(ORG).get_members()]
        assert len(members) == len(set(members)) == len(STAFF) + 1
    finally:
        gh.close()


def test_repositories(gh, code_served):
    org = gh.get_organization(ORG)
    names = [r.name for r in org.get_repos()]
    assert sorted(names) == sorted(r.name for r in W.code.repos)
    assert [r.name for r in org.get_repos(type="private")] == [PRIVATE]
    assert PRIVATE not in [r.name for r in org.get_repos(type="public")]
    mine = [r.full_name for r in gh.get_user().get_repos()]
    assert mine == sorted(f"{ORG}/{r.name}" for r in W.code.repos)  # sorted by full_name
    assert [r.name for r in gh.get_user().get_repos(visibility="private")] == [PRIVATE]

    repo = gh.get_repo(f"{ORG}/{REPO}")
    source = next(r for r in W.code.repos if r.name == REPO)
    assert (repo.id, repo.full_name, repo.description) == (source.id, f"{ORG}/{REPO}", source.description)
    assert repo.url == f"{code_served.url}/repos/{ORG}/{REPO}" and repo.html_url == f"https://github.com/{ORG}/{REPO}"
    assert (repo.private, repo.visibility, repo.default_branch, repo.fork) == (False, "public", "main", False)
    assert repo.owner.login == ORG and repo.owner.type == "Organization" and repo.organization.login == ORG
    assert repo.topics == repo.get_topics() == list(source.topics) and repo.has_issues is True
    open_issues = [i for i in W.code.issues if i.repo == REPO and i.state == "open"]
    assert repo.open_issues_count == len(open_issues)
    assert repo.permissions.push is True and repo.permissions.admin is False


def test_the_private_runbooks_are_visible_to_the_member_bot(gh):
    runbooks = gh.get_repo(f"{ORG}/{PRIVATE}")
    assert (runbooks.private, runbooks.visibility) == (True, "private")
    assert runbooks.get_issues(state="all").totalCount == sum(1 for i in W.code.issues if i.repo == PRIVATE)


def test_repository_list_validation(http):
    assert http("GET", f"/orgs/{ORG}/repos?type=secret").status_code == 422
    assert http("GET", "/user/repos?sort=stars").status_code == 422
    assert http("GET", f"/orgs/{ORG}/members?role=owner").status_code == 422
    created = http("GET", f"/orgs/{ORG}/repos?sort=full_name").json()
    assert [r["name"] for r in created] == sorted(r.name for r in W.code.repos)
