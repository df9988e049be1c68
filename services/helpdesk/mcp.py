"""A Zendesk MCP server, with the tools of `reminia/zendesk-mcp-server` (the most used published one:
`get_tickets`, `get_ticket`, `get_ticket_comments`, `create_ticket_comment`, `update_ticket`), served on
the account's own host at `https://{subdomain}.zendesk.com/api/v2/mcp` (that server is stdio-only;
Zendesk's API host keeps it behind the route the proxy already has). The credentials are the REST
API's (Basic `{email}/token:{token}`, or a Bearer token), so the episode is bound exactly as on REST.

Each tool runs the fake's own REST route (services/common/mcp_rest.py), so a comment made here is
the row `PUT /api/v2/tickets/{id}` writes. Zendesk's `{"error", "description"}` becomes an `isError`
result carrying that description.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from services.common import mcp_rest
from services.common.mcp import McpServer, Tool, ToolError, add_mcp_endpoint
from services.common.mcp_rest import segment

RULES = ("/api/v2/mcp",)


def _rest(method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = None) -> Any:
    query = {k: str(v) for k, v in (query or {}).items() if v is not None}
    answer = mcp_rest.call(method, path, query=query or None, json_body=body)
    if not answer.ok:
        error = answer.body if isinstance(answer.body, dict) else {}
        message = error.get("description") or error.get("error") or "failed"
        raise ToolError(f"Zendesk error {answer.status} from {method} {path}: {message}")
    return answer.body


def get_tickets(args: dict[str, Any]) -> Any:
    page = _rest("GET", "/api/v2/tickets.json", query={
        "page": args.get("page", 1), "per_page": args.get("per_page", 25),
        "sort_by": args.get("sort_by", "created_at"), "sort_order": args.get("sort_order", "desc")})
    return {"tickets": page.get("tickets", []), "page": args.get("page", 1), "per_page": args.get("per_page", 25),
            "count": page.get("count"), "has_more": bool(page.get("next_page")),
            "next_page": page.get("next_page"), "previous_page": page.get("previous_page")}


def get_ticket(args: dict[str, Any]) -> Any:
    return _rest("GET", f"/api/v2/tickets/{segment(args['ticket_id'])}.json")["ticket"]


def get_ticket_comments(args: dict[str, Any]) -> Any:
    return _rest("GET", f"/api/v2/tickets/{segment(args['ticket_id'])}/comments.json")["comments"]


def create_ticket_comment(args: dict[str, Any]) -> Any:
    comment = {"html_body": args["comment"], "public": args.get("public", True)}
    _rest("PUT", f"/api/v2/tickets/{segment(args['ticket_id'])}.json", body={"ticket": {"comment": comment}})
    return f"Comment created successfully on ticket {args['ticket_id']}"


_UPDATABLE = ("subject", "status", "priority", "type", "assignee_id", "requester_id", "tags", "custom_fields",
              "due_at")


def update_ticket(args: dict[str, Any]) -> Any:
    fields = {name: args[name] for name in _UPDATABLE if name in args}
    return _rest("PUT", f"/api/v2/tickets/{segment(args['ticket_id'])}.json", body={"ticket": fields})["ticket"]


def _schema(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


_TICKET = {"type": "integer", "description": "The ID of the ticket"}

TOOLS = (
    Tool("get_tickets", "Fetch the latest tickets with pagination support", _schema({
        "page": {"type": "integer", "description": "Page number", "default": 1},
        "per_page": {"type": "integer", "description": "Number of tickets per page (max 100)", "default": 25},
        "sort_by": {"type": "string", "description": "Field to sort by (created_at, updated_at, priority, status)",
                    "default": "created_at"},
        "sort_order": {"type": "string", "description": "Sort order (asc or desc)", "default": "desc"},
    }), get_tickets, read_only=True),
    Tool("get_ticket", "Retrieve a Zendesk ticket by its ID", _schema({
        "ticket_id": {"type": "integer", "description": "The ID of the ticket to retrieve"},
    }, ("ticket_id",)), get_ticket, read_only=True),
    Tool("get_ticket_comments", "Retrieve all comments for a Zendesk ticket by its ID", _schema({
        "ticket_id": {"type": "integer", "description": "The ID of the ticket to get comments for"},
    }, ("ticket_id",)), get_ticket_comments, read_only=True),
    Tool("create_ticket_comment", "Create a new comment on an existing Zendesk ticket", _schema({
        "ticket_id": {"type": "integer", "description": "The ID of the ticket to comment on"},
        "comment": {"type": "string", "description": "The comment text/content to add"},
        "public": {"type": "boolean", "description": "Whether the comment should be public", "default": True},
    }, ("ticket_id", "comment")), create_ticket_comment),
    Tool("update_ticket", "Update fields on an existing Zendesk ticket (e.g., status, priority, assignee_id)", _schema({
        "ticket_id": _TICKET,
        "subject": {"type": "string"},
        "status": {"type": "string", "description": "new, open, pending, on-hold, solved, closed"},
        "priority": {"type": "string", "description": "low, normal, high, urgent"},
        "type": {"type": "string", "description": "problem, incident, question, task"},
        "assignee_id": {"type": "integer"},
        "requester_id": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "custom_fields": {"type": "array", "items": {"type": "object"}},
        "due_at": {"type": "string", "description": "ISO8601 datetime"},
    }, ("ticket_id",)), update_ticket),
)

SERVER = McpServer("Zendesk Server", "0.1.0", TOOLS)


def init_app(app: Flask) -> None:
    add_mcp_endpoint(app, RULES, SERVER)
