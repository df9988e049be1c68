"""Search (`GET /search/issues`, `GET /search/repositories`) through PyGithub and raw HTTP:
qualifiers, words, sorting, paging, and GitHub's answer to a missing or bad query."""

from __future__ import annotations

from tests.services.code_fixtures import *  # noqa: F403 (fixtures)
from tests.services.code_fixtures import ORG, PRIVATE, REPO, W

REPO_ISSUES = [i for i in W.code.issues if i.repo == REPO]
TRIAGE = W.code.facts["triage"]["issues"]


def test_pygithub_search_by_repo_and_state_matches_the_world(gh):
    found = gh.search_issues(f"repo:{ORG}/{REPO} is:issue is:open")
    assert sorted(i.number for i in found) == sorted(i.number for i in REPO_ISSUES if i.state == "open")
    assert found.totalCount == len([i for i in REPO_ISSUES if i.state == "open"])
    closed = gh.search_issues(f"repo:{ORG}/{REPO} state:closed")
    assert sorted(i.number for i in closed) == sorted(i.number for i in REPO_ISSUES if i.state == "closed")


def test_words_and_phrases_must_all_appear(http):
    target = TRIAGE[0]
    phrase = " ".join(target["title"].split()[:3])
    body = http("GET", "/search/issues", params={"q": f'"{phrase}" repo:{ORG}/{REPO}'}).json()
    assert [(i["number"], i["title"]) for i in body["items"]] == [(target["number"], target["title"])]
    assert body["total_count"] == 1 and body["incomplete_results"] is False and body["items"][0]["score"] == 1.0
    assert body["items"][0]["repository_url"].endswith(f"/repos/{ORG}/{REPO}")
    nothing = http("GET", "/search/issues", params={"q": f'"{phrase}" zzzunlikelyword'}).json()
    assert (nothing["total_count"], nothing["items"]) == (0, [])


def test_label_assignee_author_negation_and_no(http):
    def numbers(q: str) -> list[int]:
        items = http("GET", "/search/issues", params={"q": q, "per_page": 100}).json()["items"]
        return sorted(i["number"] for i in items)

    labelled = [i for i in W.code.issues if i.repo == REPO and "bug" in i.labels]
    assert numbers(f"repo:{ORG}/{REPO} label:bug") == sorted(i.number for i in labelled)
    assert numbers(f"repo:{ORG}/{REPO} -label:bug") == sorted(i.number for i in REPO_ISSUES if i not in labelled)
    unassigned = sorted(i.number for i in REPO_ISSUES if not i.assignees)
    assert numbers(f"repo:{ORG}/{REPO} no:assignee") == unassigned
    author = REPO_ISSUES[0].author_login
    assert numbers(f"repo:{ORG}/{REPO} author:{author}") == sorted(
        i.number for i in REPO_ISSUES if i.author_login == author)
    assert numbers(f"repo:{ORG}/{REPO} is:pr") == []  # the fake has no pull requests
    private = sorted(i.number for i in W.code.issues if i.repo == PRIVATE)
    assert numbers(f"repo:{ORG}/{PRIVATE}") == private  # the bot is a member: it sees private repositories


def test_sort_order_and_paging(http):
    q = {"q": f"repo:{ORG}/{REPO}", "sort": "created", "order": "asc", "per_page": 4}
    first = http("GET", "/search/issues", params=q)
    expected = [i.number for i in sorted(REPO_ISSUES, key=lambda i: (i.created, i.id))]
    assert [i["number"] for i in first.json()["items"]] == expected[:4]
    assert first.json()["total_count"] == len(REPO_ISSUES) and "next" in first.links
    second = http("GET", "/search/issues", params={**q, "page": 2})
    assert [i["number"] for i in second.json()["items"]] == expected[4:8]


def test_missing_or_bad_query_is_githubs_422(http):
    missing = http("GET", "/search/issues")
    assert missing.status_code == 422
    assert missing.json()["errors"] == [{"resource": "Search", "field": "q", "code": "missing"}]
    assert missing.json()["documentation_url"].endswith("search/search#search-issues-and-pull-requests")
    bad_sort = http("GET", "/search/issues", params={"q": "bug", "sort": "stars"})
    assert bad_sort.status_code == 422 and "'sort'" in bad_sort.json()["message"]
    too_long = http("GET", "/search/issues", params={"q": "x" * 300})
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["code"] == "invalid"


def test_unknown_qualifier_matches_nothing_rather_than_everything(http):
    body = http("GET", "/search/issues", params={"q": f"repo:{ORG}/{REPO} milestone:v9"}).json()
    assert body["total_count"] == 0


def test_search_is_a_read_and_changes_no_row(http, code_served, ep):
    http("GET", "/search/issues", params={"q": f"repo:{ORG}/{REPO}"})
    with code_served.ledger(ep) as ledger:
        assert ledger.state_changes() == []
        assert [(e["path"], e["status"]) for e in ledger.exchanges()] == [("/search/issues", 200)]


def test_pygithub_search_repositories_by_org_visibility_topic_and_words(gh, http):
    everything = gh.search_repositories(f"org:{ORG}")
    assert sorted(r.name for r in everything) == sorted(r.name for r in W.code.repos)
    assert sorted(r.name for r in gh.search_repositories(f"org:{ORG} is:private")) == [PRIVATE]
    assert PRIVATE not in [r.name for r in gh.search_repositories(f"org:{ORG} -is:private")]
    assert [r.name for r in gh.search_repositories(f"kit in:name topic:{REPO.split('-')[0]}")] == [REPO]
    described = next(r for r in W.code.repos if r.name == REPO).description.split()[1]
    found = http("GET", "/search/repositories", params={"q": f"{described} in:description org:{ORG}"}).json()
    assert REPO in [r["full_name"].split("/")[1] for r in found["items"]] and found["items"][0]["score"] == 1.0
    assert http("GET", "/search/repositories", params={"q": f"{REPO} in:description"}).json()["total_count"] == 0
    stars = http("GET", "/search/repositories", params={"q": "kit", "sort": "size"})
    assert stars.status_code == 422 and "'sort'" in stars.json()["message"]
    assert http("GET", "/search/repositories").status_code == 422
