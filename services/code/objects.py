"""Rows -> GitHub's JSON objects (users, the organisation, repositories, labels, issues, comments).

Every API URL in a body starts with the base the client called (`api_base()`), since PyGithub
follows them; `html_url`s point at github.com, GitHub's web pages, as they do on GitHub.
"""

from __future__ import annotations

import base64
import sqlite3
from typing import Any
from urllib.parse import quote

from sandbox.clock import stable_token
from services.code import store
from services.code.store import iso, load
from services.code.wire import WEB, api_base

NO_REACTIONS = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")


def legacy_node_id(kind: str, number: int) -> str:
    """GitHub's old global ids, still used for users and organisations: base64("04:User123")."""
    code = {"User": "04", "Organization": "12"}[kind]
    return base64.b64encode(f"{code}:{kind}{number}".encode()).decode()


def node_id(prefix: str, number: int) -> str:
    """GitHub's newer node ids (`I_kwDO...`), derived from the object's id."""
    return f"{prefix}_kwDO{stable_token('node', prefix, number, length=16)}"


def _reactions(url: str) -> dict[str, Any]:
    return {"url": f"{url}/reactions", "total_count": 0, **dict.fromkeys(NO_REACTIONS, 0)}


def simple_user(login: str) -> dict[str, Any] | None:
    """The short user object every issue, comment and list carries; None for an unknown login."""
    row = store.user(login)
    if row is None:
        return None
    return _account(row["login"], row["id"], "User")


def _account(login: str, number: int, kind: str) -> dict[str, Any]:
    base = api_base()
    prefix = "orgs" if kind == "Organization" else "users"
    url = f"{base}/{prefix}/{login}"
    return {
        "login": login,
        "id": number,
        "node_id": legacy_node_id(kind, number),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{number}?v=4",
        "gravatar_id": "",
        "url": f"{base}/users/{login}",
        "html_url": f"{WEB}/{login}",
        "followers_url": f"{base}/users/{login}/followers",
        "following_url": f"{base}/users/{login}/following{{/other_user}}",
        "gists_url": f"{base}/users/{login}/gists{{/gist_id}}",
        "starred_url": f"{base}/users/{login}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/users/{login}/subscriptions",
        "organizations_url": f"{base}/users/{login}/orgs",
        "repos_url": f"{url}/repos",
        "events_url": f"{base}/users/{login}/events{{/privacy}}",
        "received_events_url": f"{base}/users/{login}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def full_user(row: sqlite3.Row, *, private: bool = False) -> dict[str, Any]:
    """`GET /users/{login}`, or with `private` the extra fields `GET /user` shows its owner."""
    public_repos = 0  # the people own no repositories; the organisation does
    body = {
        **_account(row["login"], row["id"], "User"),
        "name": row["name"],
        "company": row["company"],
        "blog": "",
        "location": row["location"],
        "email": None,  # staff keep their addresses private, as most GitHub users do
        "hireable": None,
        "bio": row["bio"],
        "twitter_username": None,
        "notification_email": None,
        "public_repos": public_repos,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["created_at"]),
    }
    if private:
        body.update(
            {
                "private_gists": 0,
                "total_private_repos": 0,
                "owned_private_repos": 0,
                "disk_usage": 0,
                "collaborators": 0,
                "two_factor_authentication": True,
                "plan": {"name": "free", "space": 976562499, "collaborators": 0, "private_repos": 10000},
            }
        )
    return body


def org_summary(row: sqlite3.Row) -> dict[str, Any]:
    base = api_base()
    url = f"{base}/orgs/{row['login']}"
    return {
        "login": row["login"],
        "id": row["id"],
        "node_id": legacy_node_id("Organization", row["id"]),
        "url": url,
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events",
        "hooks_url": f"{url}/hooks",
        "issues_url": f"{url}/issues",
        "members_url": f"{url}/members{{/member}}",
        "public_members_url": f"{url}/public_members{{/member}}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{row['id']}?v=4",
        "description": row["description"],
    }


def full_org(row: sqlite3.Row, public_repos: int, private_repos: int) -> dict[str, Any]:
    return {
        **org_summary(row),
        "name": row["name"],
        "company": None,
        "blog": row["blog"],
        "location": None,
        "email": None,
        "twitter_username": None,
        "is_verified": False,
        "has_organization_projects": True,
        "has_repository_projects": True,
        "public_repos": public_repos,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "html_url": f"{WEB}/{row['login']}",
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["created_at"]),
        "archived_at": None,
        "type": "Organization",
        # What a member sees beside the public fields.
        "total_private_repos": private_repos,
        "owned_private_repos": private_repos,
        "collaborators": 0,
        "members_can_create_repositories": False,
        "two_factor_requirement_enabled": True,
        "plan": {"name": "team", "space": 976562499, "private_repos": 999999, "filled_seats": 0, "seats": 0},
    }


def repository(row: sqlite3.Row, open_issues: int, *, full: bool = False) -> dict[str, Any]:
    base = api_base()
    full_name = f"{row['owner']}/{row['name']}"
    url = f"{base}/repos/{full_name}"
    organisation = store.org()
    owner = _account(organisation["login"], organisation["id"], "Organization")
    body: dict[str, Any] = {
        "id": row["id"],
        "node_id": node_id("R", row["id"]),
        "name": row["name"],
        "full_name": full_name,
        "private": bool(row["private"]),
        "owner": owner,
        "html_url": f"{WEB}/{full_name}",
        "description": row["description"],
        "fork": False,
        "url": url,
    }
    for name, suffix in (
        ("forks", "forks"), ("keys", "keys{/key_id}"), ("collaborators", "collaborators{/collaborator}"),
        ("teams", "teams"), ("hooks", "hooks"), ("issue_events", "issues/events{/number}"), ("events", "events"),
        ("assignees", "assignees{/user}"), ("branches", "branches{/branch}"), ("tags", "tags"),
        ("blobs", "git/blobs{/sha}"), ("git_tags", "git/tags{/sha}"), ("git_refs", "git/refs{/sha}"),
        ("trees", "git/trees{/sha}"), ("statuses", "statuses/{sha}"), ("languages", "languages"),
        ("stargazers", "stargazers"), ("contributors", "contributors"), ("subscribers", "subscribers"),
        ("subscription", "subscription"), ("commits", "commits{/sha}"), ("git_commits", "git/commits{/sha}"),
        ("comments", "comments{/number}"), ("issue_comment", "issues/comments{/number}"),
        ("contents", "contents/{+path}"), ("compare", "compare/{base}...{head}"), ("merges", "merges"),
        ("archive", "{archive_format}{/ref}"), ("downloads", "downloads"), ("issues", "issues{/number}"),
        ("pulls", "pulls{/number}"), ("milestones", "milestones{/number}"),
        ("notifications", "notifications{?since,all,participating}"), ("labels", "labels{/name}"),
        ("releases", "releases{/id}"), ("deployments", "deployments"),
    ):
        body[f"{name}_url"] = f"{url}/{suffix}"
    body.update(
        {
            "created_at": iso(row["created_at"]),
            "updated_at": iso(row["updated_at"]),
            "pushed_at": iso(row["pushed_at"]),
            "git_url": f"git://github.com/{full_name}.git",
            "ssh_url": f"git@github.com:{full_name}.git",
            "clone_url": f"{WEB}/{full_name}.git",
            "svn_url": f"{WEB}/{full_name}",
            "homepage": None,
            "size": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": "Python",
            "has_issues": bool(row["has_issues"]),
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": False,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_issues,
            "license": None,
            "allow_forking": not row["private"],
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": load(row["topics"]),
            "visibility": "private" if row["private"] else "public",
            "forks": 0,
            "open_issues": open_issues,
            "watchers": 0,
            "default_branch": row["default_branch"],
            # The bot is a member with write access: it can triage, not administer.
            "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
        }
    )
    if full:
        body.update(
            {
                "organization": owner,
                "network_count": 0,
                "subscribers_count": 0,
                "temp_clone_token": None,
                "allow_squash_merge": True,
                "allow_merge_commit": True,
                "allow_rebase_merge": True,
                "allow_auto_merge": False,
                "delete_branch_on_merge": False,
                "allow_update_branch": False,
            }
        )
    return body


def label(repo_row: sqlite3.Row, row: sqlite3.Row) -> dict[str, Any]:
    url = f"{api_base()}/repos/{repo_row['owner']}/{repo_row['name']}/labels/{quote(row['name'], safe='')}"
    return {
        "id": row["id"],
        "node_id": node_id("LA", row["id"]),
        "url": url,
        "name": row["name"],
        "color": row["color"],
        "default": bool(row["is_default"]),
        "description": row["description"],
    }


def author_association(login: str) -> str:
    row = store.user(login)
    return "MEMBER" if row is not None and row["member"] else "NONE"


def issue(repo_row: sqlite3.Row, row: sqlite3.Row, comments: int, *, single: bool = False) -> dict[str, Any]:
    repo_url = f"{api_base()}/repos/{repo_row['owner']}/{repo_row['name']}"
    url = f"{repo_url}/issues/{row['number']}"
    known = store.labels_of(repo_row["id"])
    labels = [label(repo_row, known[name.lower()]) for name in load(row["labels"]) if name.lower() in known]
    assignees = [u for u in (simple_user(login) for login in load(row["assignees"])) if u]
    body: dict[str, Any] = {
        "url": url,
        "repository_url": repo_url,
        "labels_url": f"{url}/labels{{/name}}",
        "comments_url": f"{url}/comments",
        "events_url": f"{url}/events",
        "html_url": f"{WEB}/{repo_row['owner']}/{repo_row['name']}/issues/{row['number']}",
        "id": row["id"],
        "node_id": node_id("I", row["id"]),
        "number": row["number"],
        "title": row["title"],
        "user": simple_user(row["author"]),
        "labels": labels,
        "state": row["state"],
        "locked": bool(row["locked"]),
        "assignee": assignees[0] if assignees else None,
        "assignees": assignees,
        "milestone": None,
        "comments": comments,
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "closed_at": iso(row["closed_at"]),
        "author_association": author_association(row["author"]),
        "type": None,
        "active_lock_reason": None,
        "sub_issues_summary": {"total": 0, "completed": 0, "percent_completed": 0},
        "issue_dependencies_summary": {"blocked_by": 0, "total_blocked_by": 0, "blocking": 0, "total_blocking": 0},
        "body": row["body"],
        "reactions": _reactions(url),
        "timeline_url": f"{url}/timeline",
        "performed_via_github_app": None,
        "state_reason": row["state_reason"],
    }
    if single:
        # Only a single issue names who closed it, as on GitHub.
        body["closed_by"] = simple_user(row["closed_by"]) if row["closed_by"] else None
    return body


def comment(repo_row: sqlite3.Row, issue_number: int, row: sqlite3.Row) -> dict[str, Any]:
    repo_url = f"{api_base()}/repos/{repo_row['owner']}/{repo_row['name']}"
    url = f"{repo_url}/issues/comments/{row['id']}"
    return {
        "url": url,
        "html_url": f"{WEB}/{repo_row['owner']}/{repo_row['name']}/issues/{issue_number}#issuecomment-{row['id']}",
        "issue_url": f"{repo_url}/issues/{issue_number}",
        "id": row["id"],
        "node_id": node_id("IC", row["id"]),
        "user": simple_user(row["author"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "author_association": author_association(row["author"]),
        "body": row["body"],
        "reactions": _reactions(url),
        "performed_via_github_app": None,
    }
