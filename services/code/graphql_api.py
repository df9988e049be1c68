"""`POST /graphql` (and `/api/graphql`, GitHub Enterprise's path): GitHub's GraphQL API, the door the gh
CLI uses for issues and repositories.

graphql-core (the reference implementation's Python port) parses, validates and executes against
`graphql_schema.graphql`, a subset of GitHub's public schema; the objects come from
`graphql_types`, the writes from `graphql_mutations` (through the REST routes' own write functions).
Every answer is HTTP 200 in GitHub's shape (`graphql_errors`), except what GitHub itself answers
otherwise: 400 for a body that is not JSON, 401 without credentials (the binding's).
"""

from __future__ import annotations

from functools import cache, lru_cache
from importlib import resources
from typing import Any

from flask import Blueprint, Response, g
from graphql import GraphQLSchema, GraphQLSyntaxError, build_schema, execute, parse, specified_rules, validate
from graphql.language import DocumentNode, FieldNode, FragmentSpreadNode, OperationDefinitionNode, SelectionSetNode
from graphql.validation import OverlappingFieldsCanBeMergedRule

from services.code import issue_search, store
from services.code.bodies import MISSING, raw_json
from services.code.graphql_connections import Connection, not_found
from services.code.graphql_errors import execution_error, syntax_error, validation_error, variable_error
from services.code.graphql_mutations import Mutation
from services.code.graphql_types import IssueNode, OrgNode, RepoNode, UserNode, find_node, user_node
from services.code.wire import json_response, rate_limit_state, request_id

bp = Blueprint("graphql", __name__)

GRAPHQL_DOCS = "https://docs.github.com/graphql"
# GitHub's own limit: a query may ask for at most 500,000 nodes (the product of the page sizes of
# nested connections). It also keeps a hostile query from building millions of objects here.
MAX_NODES = 500_000
MAX_DEPTH = 25
# gh's largest query is under 1,000 tokens. Validation time grows faster than a query's size (200,000
# fields took 19 s): the cap keeps one hostile query from holding a worker long (at the cap: ~0.6 s).
MAX_TOKENS = 10_000
# The spec forbids `...on Issue{state}` beside `...on PullRequest{state}` (IssueState vs
# PullRequestState); GitHub's graphql-ruby allows it, and gh sends exactly that.
RULES = [rule for rule in specified_rules if rule is not OverlappingFieldsCanBeMergedRule]


@cache
def schema() -> GraphQLSchema:
    return build_schema(resources.files(__package__).joinpath("graphql_schema.graphql").read_text())


class Query:
    """The query root. Method names are the schema's field names."""

    def viewer(self, info: Any) -> UserNode:
        return UserNode(store.user(store.me()))

    def user(self, info: Any, login: str) -> UserNode:
        found = user_node(login)
        if found is None:
            raise not_found(f"Could not resolve to a User with the login of '{login}'.")
        return found

    def organization(self, info: Any, login: str) -> OrgNode:
        org = store.org()
        if org["login"].lower() != login.lower():
            raise not_found(f"Could not resolve to an Organization with the login of '{login}'.")
        return OrgNode(org)

    def rateLimit(self, info: Any, dryRun: bool = False) -> dict[str, Any]:
        """The quota the response headers report (`wire.rate_limit_state`), in GraphQL's words."""
        state = rate_limit_state()
        return {"cost": 1, "limit": int(state["X-RateLimit-Limit"]), "nodeCount": 0,
                "remaining": int(state["X-RateLimit-Remaining"]), "used": int(state["X-RateLimit-Used"]),
                "resetAt": store.iso(int(state["X-RateLimit-Reset"]))}

    def repositoryOwner(self, info: Any, login: str) -> UserNode | OrgNode | None:
        org = store.org()
        return OrgNode(org) if org["login"].lower() == login.lower() else user_node(login)

    def repository(self, info: Any, owner: str, name: str, followRenames: bool = True) -> RepoNode:
        row = g.db.execute("SELECT * FROM repos WHERE owner = ? COLLATE NOCASE AND name = ?", (owner, name)).fetchone()
        if row is None:
            raise not_found(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return RepoNode(row)

    def node(self, info: Any, id: str) -> Any:
        found = find_node(id)
        if found is None:
            raise not_found(f"Could not resolve to a node with the global id of '{id}'")
        return found

    def nodes(self, info: Any, ids: list[str]) -> list[Any]:
        return [find_node(node_id) for node_id in ids]

    def search(self, info: Any, query: str, type: str, first: int | None = None, last: int | None = None,
               after: str | None = None, before: str | None = None) -> dict[str, Any]:
        found = [IssueNode(repo, row) for repo, row in issue_search.search(issue_search.parse(query))] \
            if type == "ISSUE" else []
        # GitHub's search reads `last` as a page size from the top (gh sends `last: $limit, after:`
        # and follows `endCursor` forward), not as "the final N".
        page = Connection(found, "search", first=first if first is not None else last, after=after, before=before)
        counts = dict.fromkeys(("codeCount", "discussionCount", "repositoryCount", "userCount", "wikiCount"), 0)
        return {**counts, "issueCount": len(found), "nodes": page.nodes, "edges": page.edges,
                "pageInfo": page.pageInfo}


def _size(value: Any, variables: dict[str, Any]) -> int | None:
    from graphql.language import IntValueNode, VariableNode

    if isinstance(value, IntValueNode):
        return int(value.value)
    if isinstance(value, VariableNode):
        given = variables.get(value.name.value)
        return given if isinstance(given, int) else None
    return None


def _nodes_asked(document: DocumentNode, variables: dict[str, Any]) -> tuple[int, int]:
    """(nodes, depth) a query asks for at most, as GitHub counts them: each connection's `first` or
    `last` times the connections around it."""
    fragments = {d.name.value: d for d in document.definitions if not isinstance(d, OperationDefinitionNode)}

    def walk(selections: SelectionSetNode | None, multiplier: int, depth: int, seen: frozenset[str]) -> tuple[int, int]:
        total, deepest = 0, depth
        for selection in selections.selections if selections else ():
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in seen or name not in fragments:
                    continue
                inner = walk(fragments[name].selection_set, multiplier, depth, seen | {name})  # type: ignore[attr-defined]
            elif isinstance(selection, FieldNode):
                pages = [a.value for a in selection.arguments or () if a.name.value in ("first", "last")]
                sizes = [s for s in (_size(v, variables) for v in pages) if s is not None]
                here = multiplier * max(sizes) if sizes else multiplier
                inner = walk(selection.selection_set, here, depth + 1, seen)
                inner = (inner[0] + (here if sizes else 0), inner[1])
            else:
                inner = walk(selection.selection_set, multiplier, depth, seen)  # type: ignore[attr-defined]
            total, deepest = total + inner[0], max(deepest, inner[1])
        return total, deepest

    total, deepest = 0, 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            nodes, depth = walk(definition.selection_set, 1, 0, frozenset())
            total, deepest = total + nodes, max(deepest, depth)
    return total, deepest


# Clients send the same few query texts again and again (gh's are constants): parsing and validating
# one costs more than running it, so the outcome is kept per worker, for short texts only (the cache
# must not become a way to hold megabytes of an agent's queries).
CACHED_QUERY_CHARS = 16_384


@lru_cache(maxsize=256)
def _prepare_cached(query: str) -> tuple[DocumentNode | None, list[dict[str, Any]]]:
    return _prepare_uncached(query)


def _prepare_uncached(query: str) -> tuple[DocumentNode | None, list[dict[str, Any]]]:
    """(the parsed document, or None; GitHub's errors for a query that does not parse or validate)."""
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLSyntaxError as error:
        return None, [syntax_error(error)]
    return document, [validation_error(e, document) for e in validate(schema(), document, RULES)]


def prepare(query: str) -> tuple[DocumentNode | None, list[dict[str, Any]]]:
    return (_prepare_cached if len(query) <= CACHED_QUERY_CHARS else _prepare_uncached)(query)


def _errors(errors: list[dict[str, Any]]) -> Response:
    return json_response({"errors": errors})


@bp.post("/graphql")
@bp.post("/api/graphql")
def graphql_endpoint() -> Response:
    """GitHub's GraphQL API (the subset in graphql_schema.graphql): queries and mutations."""
    body = raw_json()  # not JSON: 400 "Problems parsing JSON", as GitHub answers
    if body is MISSING or not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return _errors([{"message": "A query attribute must be specified and must be a string."}])
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        return _errors([{"message": "Variables are invalid JSON."}])
    operation = body.get("operationName") or None
    document, problems = prepare(body["query"])
    if document is None or problems:
        return _errors(problems)
    nodes, depth = _nodes_asked(document, variables)
    if nodes > MAX_NODES:
        return _errors([{"type": "MAX_NODE_LIMIT_EXCEEDED", "path": None, "locations": [],
                         "message": f"This query requests up to {nodes:,} possible nodes which exceeds the"
                                    f" maximum limit of {MAX_NODES:,}."}])
    if depth > MAX_DEPTH:
        return _errors([{"message": f"Query has depth of {depth}, which exceeds max depth of {MAX_DEPTH}"}])
    result = execute(schema(), document, root_value=_Root(), variable_values=variables, operation_name=operation)
    if result.data is None and result.errors and all(not e.path for e in result.errors):
        # Variables that do not fit their types, or no operation to run: nothing was executed.
        return _errors([variable_error(e, variables) for e in result.errors])
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [execution_error(e, request_id()) for e in result.errors]
    return json_response(payload)


class _Root(Query, Mutation):
    """One root for both operation types: graphql-core reads a query's fields and a mutation's from it."""
