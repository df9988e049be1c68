"""Page objects for the helpdesk's agent UI (Zendesk's web host, /agent/...): what the REST
oracles do with zenpy, done through the pages with a Playwright sync `Page`.

    sign_in(page)                                   as the episode's agent (ZENDESK_EMAIL, ZENDESK_API_TOKEN)
    search_tickets(page, query="", status="")       -> [{id, subject, requester, status}], every page
    ticket(page, ticket_id)                         -> {id, subject, status, ..., comments: [...]}
    reply(page, ticket_id, body, internal=False, status=None)
    add_internal_note(page, ticket_id, body)
    set_status(page, ticket_id, status)

Lists are read by following #next-page, never by computing offsets; every navigation and form post
is followed by `adapt.settle(page)`, and a form the session expired on is posted again.
"""

from __future__ import annotations

import os
from urllib.parse import urlencode

from sandbox.tasks.oracles.browser.adapt import every_page, load, settle


def base_url() -> str:
    return f"https://{os.environ['ZENDESK_SUBDOMAIN']}.zendesk.com"


def goto(page, path: str) -> None:
    load(page, base_url() + path)


def sign_in(page, email: str | None = None, token: str | None = None) -> None:
    goto(page, "/agent/login")
    page.fill("#email", email or os.environ["ZENDESK_EMAIL"])
    page.fill("#api-token", token or os.environ["ZENDESK_API_TOKEN"])
    page.click("#sign-in")
    settle(page)
    if page.locator("#login-error").count():
        raise RuntimeError(f"sign-in refused: {page.locator('#login-error').inner_text()}")


def search_tickets(page, query: str = "", status: str = "") -> list[dict[str, object]]:
    params = {k: v for k, v in (("q", query), ("status", status)) if v}
    goto(page, "/agent/tickets" + (f"?{urlencode(params)}" if params else ""))
    return every_page(page, _ticket_rows)


def _ticket_rows(page) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    for row in page.locator("#tickets-table tbody tr[data-id]").all():
        cells = row.locator("td").all_inner_texts()
        found.append({"id": int(row.get_attribute("data-id") or 0), "subject": cells[1].strip(),
                      "requester": cells[2].strip(), "status": cells[3].strip()})
    return found


def ticket(page, ticket_id: int) -> dict[str, object]:
    goto(page, f"/agent/tickets/{ticket_id}")
    details: dict[str, object] = {}
    for field in page.locator("#ticket-details dd[data-field]").all():
        details[field.get_attribute("data-field") or ""] = field.inner_text().strip()
    details["id"] = ticket_id
    details["comments"] = [
        {"id": int((item.get_attribute("id") or "comment-0").removeprefix("comment-")),
         "public": item.get_attribute("data-public") == "true",
         "author": item.locator(".comment-author").inner_text().strip(),
         "created_at": item.locator("time").get_attribute("datetime"),
         "body": item.locator(".comment-body").inner_text()}
        for item in page.locator("#conversation li.comment").all()
    ]
    return details


def reply(page, ticket_id: int, body: str, internal: bool = False, status: str | None = None) -> None:
    """Post a reply (or an internal note), optionally submitting the ticket as `status`; posted
    again once if the session had expired."""
    for _ in range(2):
        goto(page, f"/agent/tickets/{ticket_id}")
        page.fill("#reply-body", body)
        page.locator("#internal-note").set_checked(internal)
        if status == "solved":
            page.click("#submit-solved")  # a destructive submit: settle confirms it if asked
        else:
            if status:
                page.select_option("#status-select", status)
            page.click("#submit-reply")
        if not settle(page):
            break
    if page.locator("#form-error").count():
        raise RuntimeError(f"the helpdesk refused the form: {page.locator('#form-error').inner_text()}")


def add_internal_note(page, ticket_id: int, body: str) -> None:
    reply(page, ticket_id, body, internal=True)


def set_status(page, ticket_id: int, status: str) -> None:
    reply(page, ticket_id, "", status=status)
