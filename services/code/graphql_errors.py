"""GitHub's GraphQL error shapes, from graphql-core's errors.

GitHub runs graphql-ruby: a query that fails validation answers HTTP 200 with only `errors`, each
`{"path", "extensions": {"code": "undefinedField", ...}, "locations", "message": "Field 'x' doesn't
exist on type 'Y'"}`, the path naming the operation ("query IssueList") and the fields down to the
culprit; a resolver's failure answers `data` with the field null and `{"type": "NOT_FOUND", "path",
"locations", "message"}`. graphql-core words its errors like graphql-js, so they are translated here
by their (stable) message patterns; one without a translation keeps graphql-core's message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from graphql.language import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
)

from services.code.graphql_connections import GitHubGraphQLError

log = logging.getLogger(__name__)

_TOKEN_NAMES = {"}": "RCURLY", "{": "LCURLY", "(": "LPAREN", ")": "RPAREN", ":": "COLON", "[": "LBRACKET",
                "]": "RBRACKET", "$": "VAR_SIGN", "!": "BANG", "=": "EQUALS", "...": "ELLIPSIS", "@": "DIR_SIGN"}


def _locations(error: GraphQLError) -> list[dict[str, int]]:
    return [{"line": loc.line, "column": loc.column} for loc in error.locations or []]


def syntax_error(error: GraphQLSyntaxError) -> dict[str, Any]:
    """`Parse error on "}" (RCURLY) at [1, 9]`, as graphql-ruby words it."""
    found = re.search(r"(?:found|Unexpected) (.+?)\.?$", error.message)
    where = error.locations[0] if error.locations else None
    at = f" at [{where.line}, {where.column}]" if where else ""
    if not found:  # a limit (too deeply nested, too many tokens): graphql-core's words say which
        return {"message": error.message.removeprefix("Syntax Error: "), "locations": _locations(error)}
    token = found.group(1).strip("'\"")
    if token == "<EOF>":
        message = f"Unexpected end of document{at}"
    else:
        message = f'Parse error on "{token}" ({_TOKEN_NAMES.get(token, token.split()[0].upper())}){at}'
    return {"message": message, "locations": _locations(error)}


# graphql-core's validation messages -> (GitHub's message, extensions), from the match's groups.
_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], tuple[str, dict[str, Any]]]]] = [
    (re.compile(r"Cannot query field '(\w+)' on type '(\w+)'"),
     lambda m: (f"Field '{m[1]}' doesn't exist on type '{m[2]}'",
                {"code": "undefinedField", "typeName": m[2], "fieldName": m[1]})),
    (re.compile(r"Unknown argument '(\w+)' on field '\w+\.(\w+)'"),
     lambda m: (f"Field '{m[2]}' doesn't accept argument '{m[1]}'",
                {"code": "argumentNotAccepted", "name": m[2], "typeName": "Field", "argumentName": m[1]})),
    (re.compile(r"Field '(\w+)' argument '(\w+)' of type '.+' is required, but it was not provided"),
     lambda m: (f"Field '{m[1]}' is missing required arguments: {m[2]}",
                {"code": "missingRequiredArguments", "className": "Field", "name": m[1], "arguments": m[2]})),
    (re.compile(r"Unknown type '(\w+)'"),
     lambda m: (f"No such type {m[1]}, so it can't be a fragment condition",
                {"code": "undefinedType", "typeName": m[1]})),
    (re.compile(r"Variable '\$(\w+)' is not defined by operation '(\w+)'"),
     lambda m: (f"Variable ${m[1]} is used by {m[2]} but not declared",
                {"code": "variableNotDefined", "variableName": m[1]})),
    (re.compile(r"Variable '\$(\w+)' is never used in operation '(\w+)'"),
     lambda m: (f"Variable ${m[1]} is declared by {m[2]} but not used",
                {"code": "variableNotUsed", "variableName": m[1]})),
    (re.compile(r"Field '(\w+)' of type '(.+?)' must have a selection of subfields"),
     lambda m: (f"Field must have selections (field '{m[1]}' returns {m[2].strip('[]!')} but has no selections."
                f" Did you mean '{m[1]} {{ ... }}'?)", {"code": "selectionMismatch", "nodeName": m[1],
                                                         "typeName": m[2].strip("[]!")})),
    (re.compile(r"Field '(\w+)' must not have a selection since type '(.+?)' has no subfields"),
     lambda m: (f"Selections can't be made on scalars (field '{m[1]}' returns {m[2].strip('[]!')} but has"
                " selections)", {"code": "selectionMismatch", "nodeName": m[1], "typeName": m[2].strip("[]!")})),
]


def _walk(selections: SelectionSetNode | None, path: list[str], target: Node) -> list[str] | None:
    for selection in selections.selections if selections else ():
        if isinstance(selection, FieldNode):
            here = [*path, (selection.alias or selection.name).value]
            for argument in selection.arguments or ():
                if argument is target:
                    return [*here, argument.name.value]
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            here = [*path, f"... on {condition.name.value}" if condition else "..."]
        else:
            here = [*path, f"... {selection.name.value}"]  # type: ignore[attr-defined]
        if selection is target:
            return here
        found = _walk(getattr(selection, "selection_set", None), here, target)
        if found:
            return found
    return None


def _path(document: DocumentNode, target: Node) -> list[str] | None:
    """graphql-ruby's static path to `target`: ["query IssueList", "repository", "foo"]."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            head = definition.operation.value + (f" {definition.name.value}" if definition.name else "")
        elif isinstance(definition, FragmentDefinitionNode):
            head = f"fragment {definition.name.value}"
        else:
            continue
        if definition is target:
            return [head]
        found = _walk(definition.selection_set, [head], target)
        if found:
            return found
    return None


def validation_error(error: GraphQLError, document: DocumentNode) -> dict[str, Any]:
    for pattern, translate in _RULES:
        found = pattern.search(error.message)
        if found:
            message, extensions = translate(found)
            break
    else:
        message, extensions = error.message, None
    out: dict[str, Any] = {}
    target = (error.nodes or [None])[-1]
    if isinstance(target, FieldNode | ArgumentNode | InlineFragmentNode | OperationDefinitionNode):
        path = _path(document, target)
        if path:
            out["path"] = path
    if extensions:
        out["extensions"] = extensions
    out["locations"] = _locations(error)
    out["message"] = message
    return out


def variable_error(error: GraphQLError, variables: dict[str, Any]) -> dict[str, Any]:
    """`Variable $number of type Int! was provided invalid value`, with the value and the problem."""
    found = re.match(r"Variable '\$(\w+)' (?:of required type '(.+?)' was not provided|got invalid value .*?;"
                     r" (.*))", error.message, re.S)
    if not found:
        return {"locations": _locations(error), "message": error.message}
    name, kind, problem = found[1], found[2], found[3]
    if kind is None:
        declared = re.search(rf"\${name}\s*:\s*([\w\[\]!]+)", error.source.body if error.source else "")
        kind = declared[1] if declared else "?"
    explanation = problem or "Expected value to not be null"
    return {"extensions": {"value": variables.get(name), "problems": [{"path": [], "explanation": explanation}]},
            "locations": _locations(error), "message": f"Variable ${name} of type {kind} was provided invalid value"}


def execution_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    """A resolver's failure: GitHub's `type` for ours; a bug in the fake is GitHub's generic 'Something went
    wrong' (and a trace in the log) rather than a Python message."""
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        log.error("code graphql: %s at %s", original, error.path, exc_info=original)
        return {"path": error.path, "locations": _locations(error),
                "message": "Something went wrong while executing your query. Please include"
                           f" `{request_id}` when reporting this issue."}
    out: dict[str, Any] = {}
    kind = getattr(original, "kind", None) or getattr(error, "kind", None)
    if isinstance(original or error, GitHubGraphQLError) and kind:
        out["type"] = kind
    out["path"] = error.path
    out["locations"] = _locations(error)
    out["message"] = error.message
    return out
