"""GitHub's issue search: its query syntax, for GraphQL's `search(type: ISSUE, query: ...)` (what `gh
issue list` sends as soon as it filters by label or state: `repo:o/r state:closed label:bug type:issue`)
(REST's `GET /search/issues` is services/code/search.py, written for the official GitHub MCP server;
the two parsers are one job done twice, to be merged).

Understood: `repo:`, `org:`/`user:`, `is:`/`type:` (issue, pr, open, closed), `state:`, `label:`
(several: all of them), `-label:`, `no:label`, `no:assignee`, `assignee:`, `author:`, `mentions:`,
`in:title|body|comments`, `sort:created|updated|comments[-asc|-desc]`, and free words (each must
appear in the title or body). Quotes group words (`label:"help wanted"`). An unknown qualifier is
searched as a word, as GitHub does.
"""

from __future__ import annotations

import shlex
import sqlite3
from dataclasses import dataclass, field

from flask import g

from services.code import issues
from services.code.store import load


@dataclass
class IssueQuery:
    repos: list[tuple[str, str]] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)  # issue | pr
    state: str | None = None
    labels: list[str] = field(default_factory=list)
    not_labels: list[str] = field(default_factory=list)
    no: set[str] = field(default_factory=set)
    assignee: str | None = None
    author: str | None = None
    mentions: str | None = None
    within: set[str] = field(default_factory=set)
    sort: tuple[str, bool] = ("created", True)  # (key, descending)
    words: list[str] = field(default_factory=list)


def parse(text: str) -> IssueQuery:
    try:
        terms = shlex.split(text)
    except ValueError:  # an unbalanced quote: GitHub searches the words as they are
        terms = text.split()
    query = IssueQuery()
    for term in terms:
        name, sep, value = term.partition(":")
        name = name.lower()
        if not sep or not value:
            query.words.append(term)
        elif name == "repo" and "/" in value:
            owner, _, repo = value.partition("/")
            query.repos.append((owner.lower(), repo.lower()))
        elif name in ("org", "user"):
            query.owners.append(value.lower())
        elif name in ("is", "type", "state") and value.lower() in ("issue", "pr", "pull-request", "open", "closed"):
            value = value.lower()
            if value in ("open", "closed"):
                query.state = value
            else:
                query.kinds.add("pr" if value.startswith("p") else "issue")
        elif name == "label":
            query.labels += [v.lower() for v in value.split(",")]
        elif name == "-label":
            query.not_labels.append(value.lower())
        elif name == "no":
            query.no.add(value.lower())
        elif name == "assignee":
            query.assignee = value
        elif name == "author":
            query.author = value
        elif name == "mentions":
            query.mentions = value
        elif name == "in":
            query.within |= {v.lower() for v in value.split(",")}
        elif name == "sort":
            key, _, direction = value.lower().partition("-")
            if key in ("created", "updated", "comments"):
                query.sort = (key, direction != "asc")
        else:
            query.words.append(term)
    return query


def _text_matches(row: sqlite3.Row, query: IssueQuery) -> bool:
    if not query.words:
        return True
    within = query.within or {"title", "body"}
    texts = []
    if "title" in within:
        texts.append(row["title"] or "")
    if "body" in within:
        texts.append(row["body"] or "")
    if "comments" in within:
        texts += [c[0] for c in g.db.execute("SELECT body FROM comments WHERE issue_id = ?", (row["id"],))]
    haystack = "\n".join(texts).lower()
    return all(word.lower() in haystack for word in query.words)


def search(query: IssueQuery) -> list[tuple[sqlite3.Row, sqlite3.Row]]:
    """(repository, issue) rows matching `query`, in its sort order (newest first by default)."""
    if query.kinds == {"pr"}:
        return []  # the repositories have no pull requests
    repos = g.db.execute("SELECT * FROM repos").fetchall()
    if query.repos:
        repos = [r for r in repos if (r["owner"].lower(), r["name"].lower()) in query.repos]
    if query.owners:
        repos = [r for r in repos if r["owner"].lower() in query.owners]
    by_id = {r["id"]: r for r in repos}
    if not by_id:
        return []
    marks = ",".join("?" * len(by_id))
    rows = g.db.execute(f"SELECT * FROM issues WHERE repo_id IN ({marks})", tuple(by_id)).fetchall()
    found = []
    for row in rows:
        names = {n.lower() for n in load(row["labels"])}
        assignees = {a.lower() for a in load(row["assignees"])}
        if query.state and row["state"] != query.state:
            continue
        if not set(query.labels) <= names or names & set(query.not_labels):
            continue
        if ("label" in query.no and names) or ("assignee" in query.no and assignees):
            continue
        if query.assignee and query.assignee.lower() not in assignees:
            continue
        if query.author and row["author"].lower() != query.author.lower():
            continue
        if query.mentions and not issues.mentions(row, query.mentions):
            continue
        if not _text_matches(row, query):
            continue
        found.append((by_id[row["repo_id"]], row))
    key, descending = query.sort
    if key == "comments":
        counts = dict(g.db.execute("SELECT issue_id, count(*) FROM comments GROUP BY issue_id").fetchall())
        found.sort(key=lambda pair: (counts.get(pair[1]["id"], 0), pair[1]["id"]), reverse=descending)
    else:
        found.sort(key=lambda pair: (pair[1][f"{key}_at"], pair[1]["id"]), reverse=descending)
    return found
