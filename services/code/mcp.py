"""GitHub's MCP server, as `github/github-mcp-server` defines its issue tools (`get_me`,
`list_issues`, `get_issue`, `get_issue_comments`, `create_issue`, `add_issue_comment`,
`update_issue`), served where GitHub hosts it: `https://api.githubcopilot.com/mcp/`. The bearer is
the token, so the episode is bound exactly as on the REST API.

Each tool runs the fake's own REST route (services/common/mcp_rest.py), so an issue created here is
the row `POST /repos/{owner}/{repo}/issues` writes. GitHub's `{"message": ...}` error becomes an
`isError` result carrying that message.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from services.common import mcp_rest
from services.common.mcp import McpServer, Tool, ToolError, add_mcp_endpoint
from services.common.mcp_rest import segment

RULES = ("/mcp", "/mcp/")
HOST = "api.githubcopilot.com"


def _rest(method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = None) -> Any:
    query = {k: str(v) for k, v in (query or {}).items() if v is not None}
    # The REST answers' URLs name api.github.com, as GitHub's server returns them, not the MCP host.
    rest_host = "api.github.com" if request.host.split(":")[0] == HOST else None
    answer = mcp_rest.call(method, path, query=query or None, json_body=body,
                           headers={"Accept": "application/vnd.github+json"}, host=rest_host)
    if not answer.ok:
        message = answer.body.get("message") if isinstance(answer.body, dict) else None
        raise ToolError(f"{message or 'failed'} (HTTP {answer.status} from {method} {path})")
    return answer.body


def _issue_path(args: dict[str, Any], suffix: str = "") -> str:
    return f"/repos/{segment(args['owner'])}/{segment(args['repo'])}/issues{suffix}"


def get_me(args: dict[str, Any]) -> Any:
    return _rest("GET", "/user")


def list_issues(args: dict[str, Any]) -> Any:
    labels = args.get("labels")
    query = {"state": args.get("state"), "labels": ",".join(labels) if labels else None, "sort": args.get("sort"),
             "direction": args.get("direction"), "since": args.get("since"), "per_page": args.get("perPage"),
             "page": args.get("page")}
    return _rest("GET", _issue_path(args), query=query)


def get_issue(args: dict[str, Any]) -> Any:
    return _rest("GET", _issue_path(args, f"/{segment(args['issue_number'])}"))


def get_issue_comments(args: dict[str, Any]) -> Any:
    return _rest("GET", _issue_path(args, f"/{segment(args['issue_number'])}/comments"),
                 query={"per_page": args.get("perPage"), "page": args.get("page")})


def _fields(args: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: args[name] for name in names if name in args}


def create_issue(args: dict[str, Any]) -> Any:
    return _rest("POST", _issue_path(args), body=_fields(args, ("title", "body", "assignees", "labels", "milestone")))


def add_issue_comment(args: dict[str, Any]) -> Any:
    return _rest("POST", _issue_path(args, f"/{segment(args['issue_number'])}/comments"), body={"body": args["body"]})


def update_issue(args: dict[str, Any]) -> Any:
    fields = _fields(args, ("title", "body", "state", "state_reason", "labels", "assignees", "milestone"))
    return _rest("PATCH", _issue_path(args, f"/{segment(args['issue_number'])}"), body=fields)


def _schema(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


_OWNER = {"type": "string", "description": "Repository owner"}
_REPO = {"type": "string", "description": "Repository name"}
_NUMBER = {"type": "number", "description": "Issue number"}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_PAGE = {"page": {"type": "number", "minimum": 1, "description": "Page number for pagination (min 1)"},
         "perPage": {"type": "number", "minimum": 1, "maximum": 100,
                     "description": "Results per page for pagination (min 1, max 100)"}}

TOOLS = (
    Tool("get_me", "Get details of the authenticated GitHub user. Use this when a request is about the user's own"
         " profile for GitHub.", _schema({}), get_me, read_only=True),
    Tool("list_issues", "List issues in a GitHub repository.", _schema({
        "owner": _OWNER, "repo": _REPO,
        "state": {"type": "string", "enum": ["open", "closed", "all"], "description": "Filter by state"},
        "labels": {**_STRINGS, "description": "Filter by labels"},
        "sort": {"type": "string", "enum": ["created", "updated", "comments"], "description": "Sort order"},
        "direction": {"type": "string", "enum": ["asc", "desc"], "description": "Sort direction"},
        "since": {"type": "string", "description": "Filter by date (ISO 8601 timestamp)"},
        **_PAGE,
    }, ("owner", "repo")), list_issues, read_only=True),
    Tool("get_issue", "Get details of a specific issue in a GitHub repository.", _schema({
        "owner": {"type": "string", "description": "The owner of the repository"},
        "repo": {"type": "string", "description": "The name of the repository"},
        "issue_number": {"type": "number", "description": "The number of the issue"},
    }, ("owner", "repo", "issue_number")), get_issue, read_only=True),
    Tool("get_issue_comments", "Get comments for a specific issue in a GitHub repository.", _schema({
        "owner": _OWNER, "repo": _REPO, "issue_number": _NUMBER, **_PAGE,
    }, ("owner", "repo", "issue_number")), get_issue_comments, read_only=True),
    Tool("create_issue", "Create a new issue in a GitHub repository.", _schema({
        "owner": _OWNER, "repo": _REPO,
        "title": {"type": "string", "description": "Issue title"},
        "body": {"type": "string", "description": "Issue body content"},
        "assignees": {**_STRINGS, "description": "Usernames to assign to this issue"},
        "labels": {**_STRINGS, "description": "Labels to apply to this issue"},
        "milestone": {"type": "number", "description": "Milestone number"},
    }, ("owner", "repo", "title")), create_issue),
    Tool("add_issue_comment", "Add a comment to a specific issue in a GitHub repository.", _schema({
        "owner": _OWNER, "repo": _REPO,
        "issue_number": {"type": "number", "description": "Issue number to comment on"},
        "body": {"type": "string", "description": "Comment content"},
    }, ("owner", "repo", "issue_number", "body")), add_issue_comment),
    Tool("update_issue", "Update an existing issue in a GitHub repository.", _schema({
        "owner": _OWNER, "repo": _REPO,
        "issue_number": {"type": "number", "description": "Issue number to update"},
        "title": {"type": "string", "description": "New title"},
        "body": {"type": "string", "description": "New description"},
        "state": {"type": "string", "enum": ["open", "closed"], "description": "New state"},
        "state_reason": {"type": "string", "enum": ["completed", "not_planned", "duplicate"],
                         "description": "Reason for the state change. Ignored unless state is changed."},
        "labels": {**_STRINGS, "description": "New labels"},
        "assignees": {**_STRINGS, "description": "New assignees"},
        "milestone": {"type": "number", "description": "New milestone number"},
    }, ("owner", "repo", "issue_number")), update_issue),
)

SERVER = McpServer("github-mcp-server", "0.20.0", TOOLS)


def init_app(app: Flask) -> None:
    add_mcp_endpoint(app, RULES, SERVER)
