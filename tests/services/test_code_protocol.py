"""The code fake's wire protocol: auth, GitHub's headers and error bodies for every kind of failure,
and its OpenAPI document."""

from __future__ import annotations

import json

import pytest
from github import BadCredentialsException, GithubException, RateLimitExceededException

from sandbox.clock import EPISODE_START
from services.code import SERVICE
from services.code.errors import vendor_error
from tests.services.code_fixtures import *  # noqa: F403 (fixtures)
from tests.services.code_fixtures import ORG, PRIVATE, REPO, W, github_for

ISSUES = f"/repos/{ORG}/{REPO}/issues"


@pytest.mark.parametrize("scheme", ["token", "Bearer", "bearer"])
def test_token_and_bearer_both_work(http, ep, scheme):
    response = http("GET", "/user", headers={"Authorization": f"{scheme} {ep.api_keys['code']}"})
    assert response.status_code == 200 and response.json()["login"] == f"{ORG}-agent"


def test_bad_credentials(code_served, http, ep):
    body = http("GET", "/user", headers={"Authorization": "token ghp_wrong"}).json()
    assert body == {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}
    gh = github_for(code_served.url, "ghp_not_a_real_token")
    with pytest.raises(BadCredentialsException):
        gh.get_user().login  # noqa: B018 (the lazy user fetches here)
    gh.close()
    payments_key = ep.api_keys["payments"]  # a real key, but of another service
    assert http("GET", "/user", headers={"Authorization": f"token {payments_key}"}).status_code == 401


def test_missing_credentials(http):
    user = http("GET", "/user", auth=False)
    assert user.status_code == 401 and user.json()["message"] == "Requires authentication"
    assert http("POST", ISSUES, auth=False, json={"title": "x"}).status_code == 401
    hidden = http("GET", f"/repos/{ORG}/{PRIVATE}", auth=False)
    assert hidden.status_code == 404 and hidden.json()["message"] == "Not Found"  # like GitHub for private repos


def test_finished_episode_token_is_refused(code_served):
    episode = code_served.episode()
    code_served.store.finish(episode.id)
    gh = github_for(code_served.url, episode.api_keys["code"])
    with pytest.raises(BadCredentialsException) as err:
        gh.get_repo(f"{ORG}/{REPO}")
    assert "is finished" in err.value.headers["x-sandbox-reason"]
    gh.close()


def test_github_headers_on_every_answer(http, ep):
    ok = http("GET", f"/repos/{ORG}/{REPO}")
    failed = http("GET", f"/repos/{ORG}/nope")
    for response in (ok, failed):
        headers = response.headers
        assert headers["X-RateLimit-Limit"] == "5000" and headers["X-RateLimit-Resource"] == "core"
        used, remaining = int(headers["X-RateLimit-Used"]), int(headers["X-RateLimit-Remaining"])
        assert used + remaining == 5000
        assert int(headers["X-RateLimit-Reset"]) > EPISODE_START
        assert len(headers["X-GitHub-Request-Id"].split(":")) == 5
        assert headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert ok.headers["X-GitHub-Request-Id"] != failed.headers["X-GitHub-Request-Id"]
    assert int(failed.headers["X-RateLimit-Used"]) == int(ok.headers["X-RateLimit-Used"]) + 1
    assert ok.headers["ETag"].startswith('W/"')


def test_pygithub_reads_the_rate_limit_headers(gh):
    gh.get_user().login  # noqa: B018
    remaining, limit = gh.rate_limiting
    assert limit == 5000 and remaining < 5000


def test_unknown_route_wrong_method_and_oversized_body(http):
    for method, path in (("GET", "/nowhere"), ("DELETE", f"/repos/{ORG}/{REPO}"), ("PUT", "/user")):
        response = http(method, path)
        assert response.status_code == 404, (method, path)
        assert response.json() == {"message": "Not Found", "documentation_url": "https://docs.github.com/rest",
                                   "status": "404"}
    big = http("POST", ISSUES, data=b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}')
    assert big.status_code == 413 and big.json()["status"] == "413"


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"\xff\xfe", b'{"title": "unterminated', b"title=form-encoded"],
)
def test_malformed_json_is_400(http, raw):
    response = http("POST", ISSUES, data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["message"] == "Problems parsing JSON"
    assert response.json()["documentation_url"] == "https://docs.github.com/rest/issues/issues#create-an-issue"


def test_nothing_written_by_refused_requests(code_served, ep, http):
    http("POST", ISSUES, json={"labels": ["bug"]})
    http("POST", ISSUES, json={"title": "t", "labels": [""]})
    http("POST", f"/repos/{ORG}/{REPO}/labels", json={"name": "x", "color": "nothex"})
    with code_served.ledger(ep) as ledger:
        assert ledger.state_changes() == []
        assert [e["status"] for e in ledger.exchanges()] == [422, 422, 422]


def test_vendor_error_for_faults():
    headers, body = vendor_error(403, "whatever")
    parsed = json.loads(body)
    assert parsed["message"].startswith("API rate limit exceeded for user ID") and parsed["status"] == "403"
    assert headers["X-RateLimit-Remaining"] == "0"
    exc = GithubException  # PyGithub picks its rate-limit exception from exactly this wording
    from github.Requester import Requester

    assert isinstance(Requester.createException(403, headers, parsed), RateLimitExceededException)
    assert issubclass(RateLimitExceededException, exc)
    _, server = vendor_error(502, "upstream broke")
    assert json.loads(server) == {"message": "upstream broke", "documentation_url": "https://docs.github.com/rest",
                                  "status": "502"}
    assert SERVICE.rate_limit_headers(30)["Retry-After"] == "30"


def test_service_spec_hooks():
    # REST, web pages, MCP
    assert SERVICE.hosts == ("api.github.com", "github.com", "api.githubcopilot.com") and SERVICE.key_prefix == "ghp_"
    assert SERVICE.web_login(W) == "https://github.com/login"
    assert SERVICE.env_vars == ("GITHUB_TOKEN", "GH_TOKEN")
    assert SERVICE.agent_env(W) == {"GITHUB_ORG": ORG, "GH_PROMPT_DISABLED": "1", "GH_NO_UPDATE_NOTIFIER": "1"}
    assert SERVICE.auth_headers("ghp_x", W)["Authorization"] == "token ghp_x"


def test_probe_answers(http):
    assert http("GET", SERVICE.probe).status_code == 200


def test_health_and_openapi_list_exactly_the_served_routes(code_served):
    import requests

    from services.code import create_app
    from services.code.openapi import API
    from services.common.openapi import vendor_rules

    assert requests.get(f"{code_served.url}/_sandbox/health", timeout=10).json() == {"ok": True, "service": "code"}
    document = requests.get(f"{code_served.url}/_sandbox/openapi.json", timeout=10).json()
    app = create_app({"home": code_served.home})
    served = {(path, method.lower()) for path, method, _ in vendor_rules(app, API)} | {("/", "get")}  # the API root
    listed = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert listed == served
    assert ("/graphql", "post") in listed
    assert ("/repos/{owner}/{repo}/issues/{number}", "patch") in listed
    assert ("/repos/{owner}/{repo}/issues/comments/{comment_id}", "delete") in listed
    assert document["servers"] == [{"url": "https://api.github.com"}]
