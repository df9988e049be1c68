"""`GET /`: GitHub's API root, the map of URL templates. `gh auth status` calls it to read the token's
scopes from `X-OAuth-Scopes` (added to every authenticated answer by `wire.add_github_headers`)."""

from __future__ import annotations

from flask import Blueprint, Response

from services.code.wire import WEB, api_base, docs, json_response

bp = Blueprint("api_root", __name__)

# GitHub's templates, in GitHub's order, relative to the API base (the web one to github.com).
_TEMPLATES = (
    ("current_user_url", "/user"),
    ("current_user_authorizations_html_url", WEB + "/settings/connections/applications{/client_id}"),
    ("authorizations_url", "/authorizations"),
    ("code_search_url", "/search/code?q={query}{&page,per_page,sort,order}"),
    ("commit_search_url", "/search/commits?q={query}{&page,per_page,sort,order}"),
    ("emails_url", "/user/emails"),
    ("emojis_url", "/emojis"),
    ("events_url", "/events"),
    ("feeds_url", "/feeds"),
    ("followers_url", "/user/followers"),
    ("following_url", "/user/following{/target}"),
    ("gists_url", "/gists{/gist_id}"),
    ("issue_search_url", "/search/issues?q={query}{&page,per_page,sort,order}"),
    ("issues_url", "/issues"),
    ("keys_url", "/user/keys"),
    ("label_search_url", "/search/labels?q={query}&repository_id={repository_id}{&page,per_page}"),
    ("notifications_url", "/notifications"),
    ("organization_url", "/orgs/{org}"),
    ("organization_repositories_url", "/orgs/{org}/repos{?type,page,per_page,sort}"),
    ("organization_teams_url", "/orgs/{org}/teams"),
    ("public_gists_url", "/gists/public"),
    ("rate_limit_url", "/rate_limit"),
    ("repository_url", "/repos/{owner}/{repo}"),
    ("repository_search_url", "/search/repositories?q={query}{&page,per_page,sort,order}"),
    ("current_user_repositories_url", "/user/repos{?type,page,per_page,sort}"),
    ("starred_url", "/user/starred{/owner}{/repo}"),
    ("starred_gists_url", "/gists/starred"),
    ("topic_search_url", "/search/topics?q={query}{&page,per_page}"),
    ("user_url", "/users/{user}"),
    ("user_organizations_url", "/user/orgs"),
    ("user_repositories_url", "/users/{user}/repos{?type,page,per_page,sort}"),
    ("user_search_url", "/search/users?q={query}{&page,per_page,sort,order}"),
)


@bp.get("/")
@docs("meta/meta#github-api-root")
def root() -> Response:
    """GitHub API Root: the URL templates of the API (not all of them served by the fake)."""
    base = api_base()
    return json_response({name: path if path.startswith(WEB) else base + path for name, path in _TEMPLATES})
