"""Page objects for GitHub's web pages (https://github.com), for browser oracles.

Plain functions over a Playwright sync `Page`, named after what the REST oracles do with PyGithub:

    sign_in(page, token)                               the episode's GITHUB_TOKEN
    visit(page, "/org/repo/issues")                    load a page of github.com and settle it
    repos(page, org)                                   -> {name: {"name", "description", "visibility", ...}}
    members(page, org)                                 -> [{"login", "name", "role"}, ...]
    search_issues(page, org, repo, "is:open label:bug") -> [{"number", "title", "state", "labels", ...}, ...]
    issue(page, org, repo, 8)                          -> {"number", "title", "state", "labels", "assignees",
                                                           "author", "body", "url", "comments": [...], ...}
    create_issue(page, org, repo, title, body, labels) -> the new issue, as issue() reads it
    comment(page, org, repo, 8, "text")                -> the issue after the comment
    add_labels / remove_labels(page, org, repo, 8, ["bug"])
    add_assignees / remove_assignees(page, org, repo, 8, ["login"])
    close_issue(page, org, repo, 8, reason="completed") / reopen_issue(page, org, repo, 8)

Lists are read by following `#next-page` until it is gone (never by computing offsets), so a page
size the nuisance changed does not matter. Elements are found by id, `data-*` attributes and form
field values, which the nuisance does not rename. After every navigation and form post
`adapt.settle(page)` clears what the nuisance put in the way; when it reports that the session had
expired (the post was not written), the form is filled in and posted again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from sandbox.tasks.oracles.browser.adapt import every_page, load, settle

SITE = "https://github.com"
NUMBERS = frozenset({"number", "comments", "open_issues"})
LISTS = frozenset({"labels", "assignees"})  # cells holding one [data-label] / [data-login] per entry
ATTEMPTS = 3  # a form posted again after an expired session; more means something else is wrong

# A cell's value: the list of its entries' data-label / data-login for LISTS, else its text.
_VALUE_JS = """cell => (cell.dataset.field === 'labels' || cell.dataset.field === 'assignees')
    ? [...cell.querySelectorAll('[data-label], [data-login]')].map(e => e.dataset.label ?? e.dataset.login)
    : cell.textContent.trim()"""
_FIELDS_JS = f"""root => Object.fromEntries([...root.querySelectorAll('[data-field]')].map(
    cell => [cell.dataset.field, ({_VALUE_JS})(cell)]))"""
_ROWS_JS = f"rows => rows.map(row => ({{id: row.dataset.id, ...({_FIELDS_JS})(row)}}))"
_COMMENTS_JS = """items => items.map(li => ({id: Number(li.dataset.id),
    author: li.querySelector('.comment-author').textContent.trim(),
    created_at: li.querySelector('time').getAttribute('datetime'),
    body: li.querySelector('.comment-body').textContent}))"""


def _typed(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: int(value) if name in NUMBERS and str(value).isdigit() else value for name, value in fields.items()}


def visit(page, path: str) -> None:
    """Load `path` on github.com and clear the nuisance in the way."""
    load(page, SITE + path)


def _rows(page, table: str) -> list[dict[str, Any]]:
    if page.locator(f"#{table}").count() == 0:
        return []
    return [_typed(row) for row in page.eval_on_selector_all(f"#{table} tbody tr[data-id]", _ROWS_JS)]


def _all_pages(page, table: str) -> list[dict[str, Any]]:
    """The rows of this list page and every page after it."""
    return every_page(page, lambda p: _rows(p, table))


def _issue_path(org: str, repo: str, number: int) -> str:
    return f"/{quote(org)}/{quote(repo)}/issues/{int(number)}"


def _post(page, path: str, fill: Callable[[], None], button: str, destructive: bool = False) -> None:
    """Open `path`, fill its form and press `button`; again if the session had expired meanwhile.
    A destructive button may ask for confirmation (a browser dialog or the page's own): accepted."""
    for _ in range(ATTEMPTS):
        visit(page, path)
        fill()
        if page.locator(button).count() == 0:
            raise RuntimeError(f"{path} has no {button} (is the issue already in that state?)")
        accept = lambda dialog: dialog.accept()  # noqa: E731 - "Are you sure?" on the button it means to press
        if destructive:
            page.on("dialog", accept)
        try:
            page.locator(button).click()
            page.wait_for_load_state()
        finally:
            if destructive:
                page.remove_listener("dialog", accept)
        if not settle(page):
            break
    else:
        raise RuntimeError(f"{path}: the session expired on each of {ATTEMPTS} tries to post {button}")
    if page.locator("#form-error").count():
        raise RuntimeError(f"{path}: the form was refused: {page.locator('#form-error').inner_text()}")


def _check(page, form: str, field: str, values: list[str], on: bool) -> list[str]:
    """Tick (or clear) the checkboxes of `field` in `form` whose value is one of `values`, ignoring
    case; returns the values that have no checkbox."""
    wanted = {v.lower(): v for v in values}
    boxes = page.locator(f"#{form} input[type=checkbox][name={field}]")
    for n in range(boxes.count()):
        box = boxes.nth(n)
        if (box.get_attribute("value") or "").lower() in wanted:
            wanted.pop((box.get_attribute("value") or "").lower())
            box.set_checked(on)
    return list(wanted.values())


def _type_new_labels(page, names: list[str]) -> None:
    """Type the labels the picker lacks (touching the field only then: a nuisance may hide it)."""
    if names:
        page.fill("#new-labels", ", ".join(names))


def sign_in(page, token: str, next_path: str = "") -> None:
    """Sign in with the episode's token, then go on to `next_path` if given. (Not through
    /login?next=: a sign-in page with `next` is what settle() signs in on by itself.)"""
    visit(page, "/login")
    page.fill("#api-token", token)
    page.locator("#sign-in").click()
    page.wait_for_load_state()
    if page.locator("#login-error").count():
        raise RuntimeError(f"github.com sign-in refused: {page.locator('#login-error').inner_text()}")
    settle(page)
    if next_path:
        visit(page, next_path)


def repos(page, org: str) -> dict[str, dict[str, Any]]:
    """The organisation's repositories by name."""
    visit(page, f"/{quote(org)}")
    return {row["id"]: {"name": row["id"], **row} for row in _all_pages(page, "repositories-table")}


def members(page, org: str) -> list[dict[str, Any]]:
    """The organisation's members (who can be assigned): login, name, role."""
    visit(page, f"/orgs/{quote(org)}/people")
    return _all_pages(page, "members-table")


def search_issues(page, org: str, repo: str, query: str = "is:issue is:open") -> list[dict[str, Any]]:
    """The repository's issues matching `query` in GitHub's search syntax, newest first."""
    visit(page, f"/{quote(org)}/{quote(repo)}/issues")
    page.fill("#issue-search", query)
    page.locator("#search-submit").click()
    page.wait_for_load_state()
    settle(page)
    return [{**row, "number": int(row["id"])} for row in _all_pages(page, "issues-table")]


def _read_issue(page) -> dict[str, Any]:
    details = _typed(page.eval_on_selector("#issue-details", _FIELDS_JS))
    details["url"] = details.get("html_url", "")
    details["comments"] = page.eval_on_selector_all("#comments li.comment", _COMMENTS_JS)
    return details


def issue(page, org: str, repo: str, number: int) -> dict[str, Any]:
    """An issue as its page shows it: every `issue-details` field, and its comments, oldest first."""
    visit(page, _issue_path(org, repo, number))
    return _read_issue(page)


def create_issue(page, org: str, repo: str, title: str, body: str = "", labels: list[str] | tuple = ()) -> dict:
    """Open an issue (labels the repository lacks are created, as the API does); returns it."""

    def fill() -> None:
        page.fill("#issue-title", title)
        page.fill("#issue-body", body)
        _type_new_labels(page, _check(page, "new-issue-form", "labels", list(labels), True))

    _post(page, f"/{quote(org)}/{quote(repo)}/issues/new", fill, "#submit-new-issue")
    number = int(urlsplit(page.url).path.rstrip("/").rsplit("/", 1)[1])
    return {**_read_issue(page), "number": number}


def comment(page, org: str, repo: str, number: int, body: str) -> dict[str, Any]:
    _post(page, _issue_path(org, repo, number), lambda: page.fill("#comment-body", body), "#comment-submit")
    return _read_issue(page)


def _set_labels(page, org: str, repo: str, number: int, names: list[str], on: bool) -> dict[str, Any]:
    def fill() -> None:
        missing = _check(page, "labels-form", "labels", names, on)
        if on:
            _type_new_labels(page, missing)

    _post(page, _issue_path(org, repo, number), fill, "#labels-submit")
    return _read_issue(page)


def add_labels(page, org: str, repo: str, number: int, names: list[str]) -> dict[str, Any]:
    """Add labels to an issue (creating those the repository lacks); returns the issue."""
    return _set_labels(page, org, repo, number, names, True)


def remove_labels(page, org: str, repo: str, number: int, names: list[str]) -> dict[str, Any]:
    return _set_labels(page, org, repo, number, names, False)


def _set_assignees(page, org: str, repo: str, number: int, logins: list[str], on: bool) -> dict[str, Any]:
    def fill() -> None:
        missing = _check(page, "assignees-form", "assignees", logins, on)
        if missing and on:
            raise LookupError(f"{', '.join(missing)} cannot be assigned in {org}/{repo}: not in the assignee picker")

    _post(page, _issue_path(org, repo, number), fill, "#assignees-submit")
    return _read_issue(page)


def add_assignees(page, org: str, repo: str, number: int, logins: list[str]) -> dict[str, Any]:
    """Assign people (members of the organisation, as the picker lists them); returns the issue."""
    return _set_assignees(page, org, repo, number, logins, True)


def remove_assignees(page, org: str, repo: str, number: int, logins: list[str]) -> dict[str, Any]:
    return _set_assignees(page, org, repo, number, logins, False)


def close_issue(page, org: str, repo: str, number: int, reason: str = "completed") -> dict[str, Any]:
    """Close an issue as completed or not_planned (confirming if asked); returns it."""
    _post(page, _issue_path(org, repo, number), lambda: page.select_option("#close-reason", reason),
          "#close-issue", destructive=True)
    return _read_issue(page)


def reopen_issue(page, org: str, repo: str, number: int) -> dict[str, Any]:
    _post(page, _issue_path(org, repo, number), lambda: None, "#reopen-issue")
    return _read_issue(page)
