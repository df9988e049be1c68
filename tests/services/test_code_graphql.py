"""The code fake's GraphQL API over real HTTP: GitHub's schema subset, its error shapes, pagination,
search, node ids shared with REST, and mutations that leave the same ledger rows as REST calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.services.code_fixtures import *  # noqa: F403
from tests.services.code_fixtures import BOT, ORG, REPO, W

TRIAGE = W.code.facts["triage"]["issues"][0]


def q(query: str) -> str:
    """A query with the triage repository put in: `repository(OWNER_AND_NAME)`, `owner: "ORG"`."""
    return query.replace("OWNER_AND_NAME", f'owner: "{ORG}", name: "{REPO}"').replace('"ORG"', f'"{ORG}"')


@pytest.fixture
def gql(http):
    def call(query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        response = http("POST", "/graphql", json={"query": q(query), "variables": variables or {}}, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    return call


def test_api_root_lists_github_templates_and_the_token_scopes(http):
    response = http("GET", "/")
    assert response.status_code == 200
    body = response.json()
    assert body["repository_url"].endswith("/repos/{owner}/{repo}")
    assert body["issue_search_url"].endswith("/search/issues?q={query}{&page,per_page,sort,order}")
    assert response.headers["X-OAuth-Scopes"] == "read:org, repo"
    refused = http("GET", "/", headers={"Authorization": "token ghp_wrong"})
    assert refused.status_code == 401 and "X-OAuth-Scopes" not in refused.headers


def test_graphql_needs_a_token_and_json(http):
    anonymous = http("POST", "/graphql", auth=False, json={"query": "{ viewer { login } }"})
    assert anonymous.status_code == 401
    assert anonymous.json()["message"] == "This endpoint requires you to be authenticated."
    broken = http("POST", "/graphql", data=b"{not json")
    assert broken.status_code == 400 and broken.json()["message"] == "Problems parsing JSON"
    no_query = http("POST", "/graphql", json={"variables": {}})
    assert no_query.json() == {"errors": [{"message": "A query attribute must be specified and must be a string."}]}


def test_viewer_user_and_organisation(gql):
    data = gql("{ viewer { login id organizations(first: 5) { nodes { login } } } }")["data"]
    assert data["viewer"]["login"] == BOT
    assert data["viewer"]["organizations"]["nodes"] == [{"login": ORG}]
    org = gql("query($o: String!) { organization(login: $o) { login name viewerIsAMember } }", {"o": ORG})
    assert org["data"]["organization"]["login"] == ORG and org["data"]["organization"]["viewerIsAMember"]


def test_issue_list_pages_with_cursors_like_rest(gql, http):
    query = """query($after: String) { repository(OWNER_AND_NAME) {
        issues(first: 3, after: $after, states: [OPEN, CLOSED], orderBy: {field: CREATED_AT, direction: DESC}) {
          totalCount nodes { number } pageInfo { hasNextPage endCursor } } } }"""
    numbers, after = [], None
    while True:
        issues = gql(query, {"after": after})["data"]["repository"]["issues"]
        numbers += [n["number"] for n in issues["nodes"]]
        if not issues["pageInfo"]["hasNextPage"]:
            break
        after = issues["pageInfo"]["endCursor"]
    rest = http("GET", f"/repos/{ORG}/{REPO}/issues?state=all&per_page=100").json()
    assert numbers == [i["number"] for i in rest]
    assert issues["totalCount"] == len(rest) > 3


def test_filters_match_rest_filters(gql, http):
    query = """query($a: String) { repository(OWNER_AND_NAME) {
        issues(first: 100, filterBy: {assignee: $a}, states: OPEN) { nodes { number } } } }"""
    rest = http("GET", f"/repos/{ORG}/{REPO}/issues?assignee=*&per_page=100").json()
    assert rest, "the seeded repository has assigned open issues"
    assert sorted(n["number"] for n in gql(query, {"a": "*"})["data"]["repository"]["issues"]["nodes"]) == sorted(
        i["number"] for i in rest)
    one = rest[0]["assignees"][0]["login"]
    mine = gql(query, {"a": one})["data"]["repository"]["issues"]["nodes"]
    assert {n["number"] for n in mine} == {i["number"] for i in rest if one in [a["login"] for a in i["assignees"]]}


def test_search_reads_the_qualifiers_gh_sends(gql, http):
    rest = http("GET", f"/repos/{ORG}/{REPO}/issues?state=all&labels=bug&per_page=100").json()
    query = """query($q: String!) { search(type: ISSUE, last: 100, query: $q) {
        issueCount nodes { ... on Issue { number labels(first: 10) { nodes { name } } } } } }"""
    found = gql(query, {"q": f"repo:{ORG}/{REPO} label:bug type:issue"})["data"]["search"]
    assert found["issueCount"] == len(rest) > 0
    assert [n["number"] for n in found["nodes"]] == [i["number"] for i in rest]  # newest first, as REST
    closed = gql(query, {"q": f"repo:{ORG}/{REPO} state:closed label:bug"})["data"]["search"]["nodes"]
    assert {n["number"] for n in closed} == {i["number"] for i in rest if i["state"] == "closed"}


def test_issue_comments_and_node_ids_are_the_rest_ones(gql, http):
    rest_issue = http("GET", f"/repos/{ORG}/{REPO}/issues/{TRIAGE['number']}").json()
    query = """query($n: Int!) { repository(OWNER_AND_NAME) { issue(number: $n) {
        id number title body state author { login } comments(first: 100) { totalCount nodes { id body } } } } }"""
    issue = gql(query, {"n": TRIAGE["number"]})["data"]["repository"]["issue"]
    assert (issue["id"], issue["title"], issue["state"]) == (rest_issue["node_id"], rest_issue["title"], "OPEN")
    assert issue["comments"]["totalCount"] == rest_issue["comments"]
    found = gql("query($id: ID!) { node(id: $id) { __typename ... on Issue { number } } }", {"id": issue["id"]})
    assert found["data"]["node"] == {"__typename": "Issue", "number": TRIAGE["number"]}


def test_unknown_field_answers_githubs_undefined_field_error(gql):
    answer = gql("query Mine { viewer { login nickname } }")
    assert answer == {"errors": [{
        "path": ["query Mine", "viewer", "nickname"],
        "extensions": {"code": "undefinedField", "typeName": "User", "fieldName": "nickname"},
        "locations": [{"line": 1, "column": 29}],
        "message": "Field 'nickname' doesn't exist on type 'User'",
    }]}


def test_missing_objects_answer_not_found_with_data(gql):
    query = '{ repository(OWNER_AND_NAME) { issue(number: 99999) { title } } }'
    answer = gql(query)
    assert answer == {"data": {"repository": {"issue": None}}, "errors": [{
        "type": "NOT_FOUND", "path": ["repository", "issue"],
        "locations": [{"line": 1, "column": q(query).index("issue(") + 1}],
        "message": "Could not resolve to an Issue with the number of 99999.",
    }]}
    missing = gql('{ repository(owner: "ORG", name: "nope") { id } }')
    assert missing["errors"][0]["message"] == f"Could not resolve to a Repository with the name '{ORG}/nope'."


def test_other_errors_in_githubs_words(gql):
    assert gql("{ viewer { login ")["errors"][0]["message"].startswith("Unexpected end of document")
    unbounded = gql('{ repository(OWNER_AND_NAME) { issues { nodes { number } } } }')
    assert unbounded["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    assert gql('{ repository(OWNER_AND_NAME) { issues { totalCount } } }')["data"]
    too_many = gql('{ repository(OWNER_AND_NAME) { issues(first: 101) { nodes { number } } } }')
    assert too_many["errors"][0]["type"] == "EXCESSIVE_PAGINATION"
    bad_variable = gql("query($n: Int!) { repository(owner: \"a\", name: \"b\") { issue(number: $n) { id } } }",
                       {"n": "seven"})
    assert bad_variable["errors"][0]["message"] == "Variable $n of type Int! was provided invalid value"
    argument = gql("{ viewer { login(size: 3) } }")["errors"][0]
    assert argument["extensions"]["code"] == "argumentNotAccepted"


def test_a_query_for_too_many_nodes_is_refused_before_it_runs(gql):
    nested = """{ repository(OWNER_AND_NAME) { issues(first: 100) { nodes {
        comments(first: 100) { nodes { reactionGroups { users(first: 100) { totalCount } } } } } } } }"""
    answer = gql(nested)
    assert answer["errors"][0]["type"] == "MAX_NODE_LIMIT_EXCEEDED" and "data" not in answer


# -- writes: the same ledger rows whichever door ---------------------------------------------------


def _changes(code_served, episode) -> list[tuple[str, str, Any, dict[str, Any]]]:
    """(table, op, row key, after without the times), and each change's exchange is the write's."""
    with code_served.ledger(episode) as ledger:
        changes = [c for c in ledger.state_changes() if c["service"] == "code"]
        writes = {e["id"] for e in ledger.exchanges() if e["method"] in ("POST", "PATCH")}
    assert changes and all(c["exchange_id"] in writes for c in changes)
    out = []
    for c in changes:
        after = json.loads(c["after"]) if isinstance(c["after"], str) else dict(c["after"] or {})
        for clock in ("created_at", "updated_at", "closed_at"):
            after.pop(clock, None)
        out.append((c["tbl"], c["op"], c["row_key"], after))
    return out


def _issue_id(gql, number: int) -> str:
    query = 'query($n: Int!) { repository(OWNER_AND_NAME) { issue(number: $n) { id } } }'
    return gql(query, {"n": number})["data"]["repository"]["issue"]["id"]


def _second(code_served):
    """Raw HTTP on a second, fresh episode: the REST door of a comparison."""
    import requests

    episode = code_served.episode()
    session = requests.Session()
    session.headers["Authorization"] = f"token {episode.api_keys['code']}"
    return episode, session


def test_add_comment_and_close_write_what_rest_writes(code_served, ep, gql):
    subject = _issue_id(gql, TRIAGE["number"])
    added = gql("mutation($i: AddCommentInput!) { addComment(input: $i) { commentEdge { node { body url } } } }",
                {"i": {"subjectId": subject, "body": "Triaged."}})
    assert added["data"]["addComment"]["commentEdge"]["node"]["body"] == "Triaged."
    closed = gql("mutation($i: CloseIssueInput!) { closeIssue(input: $i) { issue { state stateReason } } }",
                 {"i": {"issueId": subject, "stateReason": "NOT_PLANNED"}})
    assert closed["data"]["closeIssue"]["issue"] == {"state": "CLOSED", "stateReason": "NOT_PLANNED"}

    other, session = _second(code_served)
    base = f"{code_served.url}/repos/{ORG}/{REPO}/issues/{TRIAGE['number']}"
    assert session.post(f"{base}/comments", json={"body": "Triaged."}, timeout=10).status_code == 201
    assert session.patch(base, json={"state": "closed", "state_reason": "not_planned"}, timeout=10).ok
    session.close()
    assert _changes(code_served, ep) == _changes(code_served, other)


def test_create_issue_writes_what_rest_writes(code_served, ep, gql):
    repo = gql('{ repository(OWNER_AND_NAME) { id label(name: "bug") { id } } }')["data"]
    created = gql("mutation($i: CreateIssueInput!) { createIssue(input: $i) { issue { number title url labels(first: 5)"
                  " { nodes { name } } } } }",
                  {"i": {"repositoryId": repo["repository"]["id"], "title": "Checkout fails", "body": "Steps.",
                         "labelIds": [repo["repository"]["label"]["id"]]}})["data"]["createIssue"]["issue"]
    assert created["labels"]["nodes"] == [{"name": "bug"}]
    assert created["url"] == f"https://github.com/{ORG}/{REPO}/issues/{created['number']}"

    other, session = _second(code_served)
    response = session.post(f"{code_served.url}/repos/{ORG}/{REPO}/issues", timeout=10,
                            json={"title": "Checkout fails", "body": "Steps.", "labels": ["bug"]})
    session.close()
    assert response.json()["number"] == created["number"]
    assert _changes(code_served, ep) == _changes(code_served, other)


def test_mutation_errors_write_nothing(code_served, ep, gql):
    repo_id = gql('{ repository(OWNER_AND_NAME) { id } }')["data"]["repository"]["id"]
    blank = gql("mutation($i: CreateIssueInput!) { createIssue(input: $i) { issue { number } } }",
                {"i": {"repositoryId": repo_id, "title": "  "}})
    assert blank["data"] == {"createIssue": None}
    assert blank["errors"][0]["type"] == "UNPROCESSABLE" and blank["errors"][0]["path"] == ["createIssue"]
    ghost = gql("mutation { addComment(input: {subjectId: \"I_kwDOnothing\", body: \"x\"}) { subject { id } } }")
    assert ghost["errors"][0]["type"] == "NOT_FOUND"
    with code_served.ledger(ep) as ledger:
        assert [c for c in ledger.state_changes() if c["service"] == "code"] == []


def test_update_issue_and_label_mutations_write_what_rest_writes(code_served, ep, gql):
    subject = _issue_id(gql, TRIAGE["number"])
    ids = gql('query($l: String!, $u: String!) { repository(OWNER_AND_NAME) { label(name: $l) { id } }'
              ' user(login: $u) { id } }', {"l": TRIAGE["label"], "u": TRIAGE["assignee"]})["data"]
    added = gql("mutation($i: AddLabelsToLabelableInput!) { addLabelsToLabelable(input: $i) { labelable {"
                " ... on Issue { labels(first: 5) { nodes { name } } } } } }",
                {"i": {"labelableId": subject, "labelIds": [ids["repository"]["label"]["id"]]}})
    assert added["data"]["addLabelsToLabelable"]["labelable"]["labels"]["nodes"] == [{"name": TRIAGE["label"]}]
    updated = gql("mutation($i: UpdateIssueInput!) { updateIssue(input: $i) { issue { title assignees(first: 5)"
                  " { nodes { login } } } } }",
                  {"i": {"id": subject, "title": "Renamed", "assigneeIds": [ids["user"]["id"]]}})
    assert updated["data"]["updateIssue"]["issue"] == {"title": "Renamed",
                                                       "assignees": {"nodes": [{"login": TRIAGE["assignee"]}]}}

    other, session = _second(code_served)
    base = f"{code_served.url}/repos/{ORG}/{REPO}/issues/{TRIAGE['number']}"
    assert session.post(f"{base}/labels", json={"labels": [TRIAGE["label"]]}, timeout=10).ok
    assert session.patch(base, json={"title": "Renamed", "assignees": [TRIAGE["assignee"]]}, timeout=10).ok
    session.close()
    assert _changes(code_served, ep) == _changes(code_served, other)


def test_rest_issue_search_reads_the_same_syntax(http, gql):
    found = http("GET", f"/search/issues?q=repo:{ORG}/{REPO}+label:bug+type:issue&per_page=2").json()
    rest = http("GET", f"/repos/{ORG}/{REPO}/issues?state=all&labels=bug&per_page=100").json()
    assert found["total_count"] == len(rest) and found["incomplete_results"] is False
    assert [i["number"] for i in found["items"]] == [i["number"] for i in rest][:2]
    assert found["items"][0]["score"] == 1.0 and found["items"][0]["repository_url"].endswith(f"/repos/{ORG}/{REPO}")
    missing = http("GET", "/search/issues")
    assert missing.status_code == 422
    assert missing.json()["errors"] == [{"resource": "Search", "code": "missing", "field": "q"}]


def test_oversized_and_overnested_queries_are_refused_unparsed(gql):
    huge = gql("{ viewer { " + "login " * 20_000 + "} }")["errors"][0]["message"]
    assert huge == "Document contains more than 10000 tokens. Parsing aborted."
    deep = gql("{a" * 500 + "}" * 500)["errors"][0]["message"]
    assert deep == "Document is nested too deeply. Parsing aborted."


def test_rate_limit_is_the_headers_quota(http):
    response = http("POST", "/graphql", json={"query": "{ rateLimit { limit remaining used resetAt cost } }"})
    limit = response.json()["data"]["rateLimit"]
    assert response.headers["X-RateLimit-Resource"] == "graphql"
    assert (limit["limit"], limit["remaining"], limit["used"]) == (
        int(response.headers["X-RateLimit-Limit"]), int(response.headers["X-RateLimit-Remaining"]),
        int(response.headers["X-RateLimit-Used"]))
    assert limit["resetAt"].endswith(":00:00Z") and limit["cost"] == 1
