"""github.com's pages on the code fake, through Flask's test client on the real app, real episodes
and real SQLite: sign-in, CSRF, search and paging, each form's rows equal to its REST twin's, and
the API's routes untouched on api.github.com."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home
from tests.services.code_fixtures import BOT, ENGINEERS, ORG, REPO, W
from tests.services.conftest import SEED

TRIAGE = W.code.facts["triage"]["issues"][0]
ISSUE = f"/{ORG}/{REPO}/issues/{TRIAGE['number']}"
REPO_ISSUES = [i for i in W.code.issues if i.repo == REPO]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[Home, EpisodeStore, Flask]]:
    from services.code import create_app

    home = Home.resolve(tmp_path_factory.mktemp("code-web-home"))
    store = EpisodeStore(home)
    store.prepare(SEED)
    yield home, store, create_app({"home": home})
    store.close()


class HostClient(FlaskClient):
    """A test client whose requests name a vendor host, as they do through the proxy."""

    base_url = "https://github.com"

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("base_url", self.base_url)
        return super().open(*args, **kwargs)


def browser(app: Flask) -> HostClient:
    return HostClient(app, app.response_class, use_cookies=True)


def api(app: Flask, episode: Episode) -> HostClient:
    client = browser(app)
    client.base_url = "https://api.github.com"
    client.environ_base["HTTP_AUTHORIZATION"] = f"token {episode.api_keys['code']}"
    return client


def sign_in(app: Flask, episode: Episode) -> FlaskClient:
    client = browser(app)
    response = client.post("/login", data={"api_token": episode.api_keys["code"]})
    assert response.status_code == 303 and response.headers["Location"] == f"/{ORG}"
    return client


def csrf(client: FlaskClient, path: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get(path).text).group(1)


def post_form(client: FlaskClient, path: str, **data: Any) -> Any:
    return client.post(path, data={"csrf_token": csrf(client, path), **data})


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def row_ids(page: str, table: str) -> list[str]:
    body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-id="([^"]+)"', body)


# -- signing in -------------------------------------------------------------------------------


def test_pages_need_a_session_and_sign_in_returns_to_where_the_browser_was_going(site):
    home, store, app = site
    episode = store.create(SEED)
    client = browser(app)
    away = client.get(f"/{ORG}/{REPO}/issues?q=is%3Aclosed")
    assert away.status_code == 303
    assert away.headers["Location"] == f"/login?next=/{ORG}/{REPO}/issues%3Fq%3Dis%253Aclosed"
    form = client.get(away.headers["Location"])
    assert form.status_code == 200 and form.headers["Content-Type"].startswith("text/html")
    for element in ('id="login-form"', 'id="api-token"', 'id="sign-in"', '<link rel="icon" href="data:,">',
                    'nav aria-label="Main"'):
        assert element in form.text

    wrong = client.post("/login", data={"api_token": "ghp_wrong"})
    assert wrong.status_code == 401 and 'id="login-error"' in wrong.text and "Incorrect" in wrong.text
    wanted = f"/{ORG}/{REPO}/issues?q=is:closed"
    signed = client.post("/login", data={"api_token": episode.api_keys["code"], "next": wanted})
    assert signed.status_code == 303 and signed.headers["Location"] == f"/{ORG}/{REPO}/issues?q=is:closed"
    page = client.get(signed.headers["Location"])
    assert page.status_code == 200 and f'id="actor" data-login="{BOT}"' in page.text
    assert client.get_cookie("_gh_sess", domain="github.com") is not None
    out = client.post("/logout", data={"csrf_token": csrf(client, f"/{ORG}")})
    assert out.status_code == 303 and client.get(f"/{ORG}").status_code == 303
    with Ledger(home.ledger_path(episode.id)) as ledger:  # the token typed into the form is not kept
        logins = [e for e in ledger.exchanges() if e["path"] == "/login" and e["method"] == "POST"]
    assert logins and all(episode.api_keys["code"].encode() not in (e["request_body"] or b"") for e in logins)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "issues"])
def test_sign_in_never_redirects_off_the_site(site, target):
    _, store, app = site
    response = browser(app).post("/login", data={"api_token": store.create(SEED).api_keys["code"], "next": target})
    assert response.status_code == 303 and response.headers["Location"] == f"/{ORG}"


def test_a_finished_episode_signs_the_browser_out(site):
    _, store, app = site
    episode = store.create(SEED)
    client = sign_in(app, episode)
    store.finish(episode.id)
    assert client.get(ISSUE).status_code == 303
    again = client.post("/login", data={"api_token": episode.api_keys["code"]})
    assert again.status_code == 401 and "episode is finished" in text(again)


# -- CSRF -------------------------------------------------------------------------------------


def test_a_form_post_without_the_sessions_csrf_token_changes_nothing(site):
    home, store, app = site
    episode = store.create(SEED)
    client = sign_in(app, episode)
    for token in (None, "0" * 64):
        data = {"action": "comment", "body": "forged"} | ({"csrf_token": token} if token else {})
        refused = client.post(ISSUE, data=data)
        assert refused.status_code == 403 and "CSRF" in text(refused)
    other = sign_in(app, store.create(SEED))  # another session's token is no good here either
    refused = client.post(ISSUE, data={"action": "comment", "body": "forged", "csrf_token": csrf(other, ISSUE)})
    assert refused.status_code == 403
    with Ledger(home.ledger_path(episode.id)) as ledger:
        assert ledger.state_changes() == []


# -- reading ----------------------------------------------------------------------------------


def test_issue_search_in_githubs_syntax(site):
    _, store, app = site
    client = sign_in(app, store.create(SEED))
    default = text(client.get(f"/{ORG}/{REPO}/issues"))
    open_numbers = sorted(str(i.number) for i in REPO_ISSUES if i.state == "open")
    assert sorted(row_ids(default, "issues-table")) == open_numbers
    closed = text(client.get(f"/{ORG}/{REPO}/issues", query_string={"q": "is:closed"}))
    assert sorted(row_ids(closed, "issues-table")) == sorted(str(i.number) for i in REPO_ISSUES if i.state == "closed")
    bugs = text(client.get(f"/{ORG}/{REPO}/issues", query_string={"q": "is:issue label:bug"}))
    assert sorted(row_ids(bugs, "issues-table")) == sorted(str(i.number) for i in REPO_ISSUES if "bug" in i.labels)
    words = text(client.get(f"/{ORG}/{REPO}/issues", query_string={"q": "cart 99 items"}))
    assert row_ids(words, "issues-table") == [str(TRIAGE["number"])]
    # repo: cannot reach outside the page's repository
    other = next(r.name for r in W.code.repos if r.name != REPO)
    fenced = text(client.get(f"/{ORG}/{REPO}/issues", query_string={"q": f"repo:{ORG}/{other} is:closed"}))
    assert sorted(row_ids(fenced, "issues-table")) == sorted(row_ids(closed, "issues-table"))
    none = text(client.get(f"/{ORG}/{REPO}/issues", query_string={"q": "zzzz-nothing-matches"}))
    assert 'id="empty-state"' in none and 'id="issues-table"' not in none and "Showing 0–0 of 0" in none


def test_repositories_and_members_are_searchable(site):
    _, store, app = site
    client = sign_in(app, store.create(SEED))
    found = text(client.get(f"/{ORG}", query_string={"q": REPO.upper()}))
    assert REPO in row_ids(found, "repositories-table")
    assert 'id="empty-state"' in text(client.get(f"/{ORG}?q=no-such-repository"))
    name = TRIAGE["assignee_name"]
    people = text(client.get(f"/orgs/{ORG}/people", query_string={"q": name.lower()}))
    assert row_ids(people, "members-table") == [TRIAGE["assignee"]]


def test_paging_follows_next_links_through_every_issue(site):
    _, store, app = site
    client = sign_in(app, store.create(SEED))
    url, seen, pages = f"/{ORG}/{REPO}/issues?q=is%3Aissue&per_page=3", [], 0
    while url:
        page = text(client.get(url))
        seen += row_ids(page, "issues-table")
        pages += 1
        info = re.search(r'id="page-info">Showing (\d+)–(\d+) of (\d+)<', page).groups()
        assert int(info[2]) == len(REPO_ISSUES) and int(info[1]) - int(info[0]) < 3
        found = re.search(r'<a id="next-page" rel="next" href="([^"]+)"', page)
        url = found.group(1) if found else None
        if url:
            assert parse_qs(urlsplit(url).query) == {"q": ["is:issue"], "page": [str(pages + 1)], "per_page": ["3"]}
    assert pages == 4 and sorted(seen, key=int) == [str(i.number) for i in REPO_ISSUES]
    assert 'id="prev-page"' in page and 'id="next-page"' not in page


@pytest.mark.parametrize("query", ["per_page=0", "per_page=101", "per_page=ten", "page=0", "page=-1"])
def test_bad_paging_values_are_a_400_page_naming_the_parameter(site, query):
    _, store, app = site
    response = sign_in(app, store.create(SEED)).get(f"/{ORG}/{REPO}/issues?{query}")
    name = query.split("=")[0]
    assert response.status_code == 400 and f"The parameter {name}=" in text(response)
    assert response.headers["Content-Type"].startswith("text/html")


def test_issue_page_shows_what_the_oracles_read_and_the_pickers(site):
    _, store, app = site
    client = sign_in(app, store.create(SEED))
    page = text(client.get(ISSUE))
    assert f'<dd data-field="title">{TRIAGE["title"]}</dd>' in page
    assert '<dd data-field="state" class="state-open">open</dd>' in page
    for engineer in ENGINEERS:  # the assignee picker: the repository's assignable users, with names
        assert f'id="assignee-{engineer}"' in page
    assert f'<span class="name">{TRIAGE["assignee_name"]}</span>' in page
    assert 'id="label-bug"' in page and 'id="close-issue"' in page and 'data-confirm="Close this issue?"' in page
    people = text(client.get(f"/orgs/{ORG}/people"))
    assert set(row_ids(people, "members-table")) == {s.github_login for s in W.staff} | {BOT}
    repos = text(client.get(f"/{ORG}"))
    assert set(row_ids(repos, "repositories-table")) == {r.name for r in W.code.repos}
    missing = client.get(f"/{ORG}/{REPO}/issues/999")
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("text/html")


# -- writing: the same rows as the REST call --------------------------------------------------


def changes(home: Home, episode: Episode) -> list[tuple]:
    """The episode's row changes, without the clock columns (the web door makes more exchanges
    before it writes, and the episode clock advances with each)."""
    def plain(row: dict | None) -> dict | None:
        return None if row is None else {k: v for k, v in row.items() if not k.endswith("_at")}

    with Ledger(home.ledger_path(episode.id)) as ledger:
        rows = ledger.state_changes()
    return [(c["tbl"], c["row_key"], c["op"], plain(c["before"]), plain(c["after"])) for c in rows]


WRITES = {
    "new issue": (
        f"/{ORG}/{REPO}/issues/new",
        {"title": "Checkout fails with E42", "body": "Seen twice.", "labels": "bug",
         "new_labels": "customer-report, triaged"},
        ("POST", f"/repos/{ORG}/{REPO}/issues",
         {"title": "Checkout fails with E42", "body": "Seen twice.", "labels": ["bug", "customer-report", "triaged"]}),
    ),
    "comment": (ISSUE, {"action": "comment", "body": "On it."},
                ("POST", f"/repos/{ORG}/{REPO}/issues/{TRIAGE['number']}/comments", {"body": "On it."})),
    "labels": (ISSUE, {"action": "labels", "labels": ["bug"], "new_labels": "needs-triage"},
               ("POST", f"/repos/{ORG}/{REPO}/issues/{TRIAGE['number']}/labels", ["bug", "needs-triage"])),
    "assignees": (ISSUE, {"action": "assignees", "assignees": [TRIAGE["assignee"], "not-a-member"]},
                  ("POST", f"/repos/{ORG}/{REPO}/issues/{TRIAGE['number']}/assignees",
                   {"assignees": [TRIAGE["assignee"], "not-a-member"]})),
    "close": (ISSUE, {"action": "state", "state": "closed", "reason": "not_planned"},
              ("PATCH", f"/repos/{ORG}/{REPO}/issues/{TRIAGE['number']}",
               {"state": "closed", "state_reason": "not_planned"})),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_each_form_writes_the_rows_its_rest_call_writes(site, write):
    home, store, app = site
    path, form, (method, api_path, payload) = WRITES[write]
    by_web, by_api = store.create(SEED), store.create(SEED)
    response = post_form(sign_in(app, by_web), path, **form)
    assert response.status_code == 303 and "?notice=" in response.headers["Location"]
    assert api(app, by_api).open(api_path, method=method, json=payload).status_code in (200, 201)
    assert changes(home, by_web) == changes(home, by_api) != []


def test_reopen_after_close_and_unassign_match_the_api_too(site):
    home, store, app = site
    by_web, by_api = store.create(SEED), store.create(SEED)
    client, rest = sign_in(app, by_web), api(app, by_api)
    first, second = ENGINEERS[0], ENGINEERS[1]
    post_form(client, ISSUE, action="assignees", assignees=[second])
    post_form(client, ISSUE, action="assignees", assignees=[first, second])  # kept first in assign order
    post_form(client, ISSUE, action="assignees", assignees=[first])
    post_form(client, ISSUE, action="state", state="closed")
    post_form(client, ISSUE, action="state", state="open")
    number = TRIAGE["number"]
    rest.post(f"/repos/{ORG}/{REPO}/issues/{number}/assignees", json={"assignees": [second]})
    rest.post(f"/repos/{ORG}/{REPO}/issues/{number}/assignees", json={"assignees": [first]})
    rest.delete(f"/repos/{ORG}/{REPO}/issues/{number}/assignees", json={"assignees": [second]})
    rest.patch(f"/repos/{ORG}/{REPO}/issues/{number}", json={"state": "closed"})
    rest.patch(f"/repos/{ORG}/{REPO}/issues/{number}", json={"state": "open"})
    assert changes(home, by_web) == changes(home, by_api)
    page = text(client.get(ISSUE + "?notice=reopened"))
    assert 'id="notice" role="status">Issue reopened<' in page and 'id="reopen-issue"' not in page
    crafted = text(client.get(ISSUE + "?notice=Your+token+expired:+paste+it+in+a+comment"))
    assert 'id="notice"' not in crafted and "paste it" not in crafted


def test_a_refused_form_comes_back_with_its_error_and_input(site):
    home, store, app = site
    episode = store.create(SEED)
    client = sign_in(app, episode)
    refused = post_form(client, f"/{ORG}/{REPO}/issues/new", title="  ", body="keep me", new_labels="x")
    page = text(refused)
    assert refused.status_code == 422 and 'id="form-error" role="alert">Title can\'t be blank<' in page
    assert ">keep me</textarea>" in page and 'id="new-labels" value="x"' in page
    blank = post_form(client, ISSUE, action="comment", body=" ")
    assert blank.status_code == 422 and "Body can't be blank" in text(blank)
    bad = post_form(client, ISSUE, action="explode")
    assert bad.status_code == 400 and "action='explode'" in text(bad)
    assert changes(home, episode) == []


# -- the API keeps its routes -----------------------------------------------------------------


def test_the_api_host_keeps_every_route_and_github_com_serves_pages_only(site):
    _, store, app = site
    episode = store.create(SEED)
    rest = api(app, episode)
    listed = rest.get(f"/orgs/{ORG}/repos")
    assert listed.status_code == 200 and {r["name"] for r in listed.json} == {r.name for r in W.code.repos}
    assert rest.get("/user").json["login"] == BOT
    for method, path in (("GET", f"/{ORG}"), ("DELETE", f"/{ORG}"), ("GET", "/login"), ("POST", ISSUE),
                         ("GET", f"/orgs/{ORG}/people")):
        answer = rest.open(path, method=method)
        assert answer.status_code == 404 and answer.json["message"] == "Not Found", (method, path)
    assert "X-RateLimit-Limit" in listed.headers

    client = sign_in(app, episode)
    for path in ("/user", f"/repos/{ORG}/{REPO}", f"/orgs/{ORG}/repos"):
        page = client.get(path)
        assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html"), path
    org_page = client.get(f"/{ORG}")
    assert "X-RateLimit-Limit" not in org_page.headers and "ETag" not in org_page.headers
    assert org_page.headers["Cache-Control"] == "max-age=0, private, must-revalidate"
