"""The agent UI: a few server-rendered pages for browser agents, no JavaScript.

    GET  /agent/login              sign-in form (email + API token)
    POST /agent/login              -> signed session cookie, redirect to /agent/tickets
    POST /agent/logout
    GET  /agent/tickets[?status=]  the ticket table
    GET  /agent/tickets/<id>       a ticket, its conversation (internal notes marked), the reply form
    POST /agent/tickets/<id>       reply / internal note / status change, then back to the ticket

Writes go through `ticket_writes.update_ticket`, the API's own code path, so the ledger sees the
same row changes whichever way an agent works. Element ids are stable: UI tests and fault rules
(renamed buttons, hidden fields) refer to them.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, redirect, render_template, request, session

from services.helpdesk.auth import SESSION_TOKEN, SESSION_USER, _agent_by_email, key_of
from services.helpdesk.errors import ZendeskError
from services.helpdesk.store import iso
from services.helpdesk.ticket_writes import STATUSES, live_ticket, update_ticket

bp = Blueprint("ui", __name__)

# The statuses an agent can submit a ticket as (Zendesk's "Submit as ..." menu).
SUBMIT_STATUSES = ("open", "pending", "hold", "solved")


def _page(template: str, code: int = 200, **context: object) -> Response:
    return Response(render_template(template, actor=g.get("actor"), **context), status=code, mimetype="text/html")


def _bad_form(message: str) -> ZendeskError:
    return ZendeskError(400, "InvalidValue", message)


@bp.get("/agent")
def home() -> Response:
    return redirect("/agent/tickets")


@bp.get("/agent/login")
def login_form() -> Response:
    return _page("login.html", error=None, email="")


@bp.post("/agent/login")
def login() -> Response:
    email = request.form.get("email", "").strip()
    agent = _agent_by_email(email) if email else None
    if agent is None:
        return _page("login.html", 401, error="Invalid email or API token.", email=email)
    session.clear()
    session[SESSION_TOKEN] = key_of(request)
    session[SESSION_USER] = agent["id"]
    return redirect("/agent/tickets", code=303)


@bp.post("/agent/logout")
def logout() -> Response:
    session.clear()
    return redirect("/agent/login", code=303)


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = g.db.execute(f"SELECT id, name FROM users WHERE id IN ({','.join('?' for _ in ids)})", tuple(ids))
    return {r["id"]: r["name"] for r in rows}


@bp.get("/agent/tickets")
def ticket_table() -> Response:
    status = request.args.get("status", "").strip().lower()
    if status and status not in STATUSES:
        raise _bad_form(f"Unknown status {status!r}: choose one of {', '.join(STATUSES)}.")
    sql, args = "SELECT * FROM tickets WHERE deleted=0", ()
    if status:
        sql, args = sql + " AND status=?", (status,)
    rows = g.db.execute(sql + " ORDER BY id", args).fetchall()
    names = _names({r["requester_id"] for r in rows})
    return _page("tickets.html", tickets=rows, names=names, status=status, statuses=STATUSES)


@bp.get("/agent/tickets/<int:ticket_id>")
def ticket_page(ticket_id: int) -> Response:
    ticket = live_ticket(ticket_id)
    comments = g.db.execute("SELECT * FROM comments WHERE ticket_id=? ORDER BY created_at, id", (ticket_id,)).fetchall()
    names = _names({c["author_id"] for c in comments} | {ticket["requester_id"]}
                   | ({ticket["assignee_id"]} if ticket["assignee_id"] else set()))
    chosen = "open" if ticket["status"] == "new" else ticket["status"]
    return _page("ticket.html", ticket=ticket, comments=comments, names=names, iso=iso,
                 statuses=SUBMIT_STATUSES, chosen=chosen, notice=request.args.get("notice"))


@bp.post("/agent/tickets/<int:ticket_id>")
def submit(ticket_id: int) -> Response:
    live_ticket(ticket_id)
    body = request.form.get("body", "")
    internal = request.form.get("internal", "") in ("on", "true", "1", "yes")
    status = (request.form.get("submit_as") or request.form.get("status") or "").strip().lower()
    if status and status not in SUBMIT_STATUSES:
        raise _bad_form(f"Unknown status {status!r}: submit as one of {', '.join(SUBMIT_STATUSES)}.")
    if len(body) > 65_535:
        raise _bad_form("The reply is too long (at most 65,535 characters).")
    data: dict[str, object] = {}
    if status:
        data["status"] = status
    if body.strip():
        data["comment"] = {"body": body, "public": not internal}
    elif internal:
        raise _bad_form("An internal note needs some text.")
    if data:
        update_ticket(ticket_id, data, g.actor, channel="web")
    return redirect(f"/agent/tickets/{ticket_id}?notice=updated", code=303)
