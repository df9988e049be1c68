"""The agent UI: server-rendered pages for browser agents, no JavaScript, on the web contract every
page set follows (issue 15: sign-in with ?next=, search and paging, CSRF, #actor, data-confirm).

    GET  /agent/login[?next=/path]   sign-in form (email + API token)
    POST /agent/login                -> signed session cookie, 303 to `next` (a relative path) or the tickets
    POST /agent/logout
    GET  /agent/tickets[?q=&status=&page=&per_page=]   the ticket table, searched and paged
    GET  /agent/tickets/<id>         a ticket, its conversation (internal notes marked), the reply form
    POST /agent/tickets/<id>         reply / internal note / status change, then 303 back with ?notice=

Writes go through `ticket_writes.update_ticket`, the API's own code path, so the ledger sees the
same row changes whichever way an agent works. Every form carries a CSRF token tied to the
session (services/helpdesk/csrf.py); a post without it is refused with 403. Element ids are
stable: UI tests, fault rules (renamed buttons, hidden fields) and the browser oracles use them.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, abort, g, redirect, render_template, request, session

from services.common.inputs import digits
from services.helpdesk import csrf
from services.helpdesk.auth import LOGIN_PATH, SESSION_TOKEN, SESSION_USER, _agent_by_email, key_of
from services.helpdesk.errors import ZendeskError
from services.helpdesk.store import iso
from services.helpdesk.ticket_writes import STATUSES, live_ticket, update_ticket

bp = Blueprint("ui", __name__)

LANDING = "/agent/tickets"
# The statuses an agent can submit a ticket as (Zendesk's "Submit as ..." menu).
SUBMIT_STATUSES = ("open", "pending", "hold", "solved")
PER_PAGE, MAX_PER_PAGE = 25, 100
MAX_PAGE = 1_000_000  # far past any list's end; keeps page * per_page an integer SQLite can hold
NOTICES = {"updated": "Ticket updated."}


def _page(template: str, code: int = 200, **context: object) -> Response:
    html = render_template(template, actor=g.get("actor"), csrf_token=csrf.token(), **context)
    return Response(html, status=code, mimetype="text/html")


def _bad_form(message: str) -> ZendeskError:
    return ZendeskError(400, "InvalidValue", message)


def safe_next(value: str | None) -> str:
    """`next` if it is a path on this site ("/x", never "//host" or "https://..."), else the landing page."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return LANDING


@bp.before_request
def check_csrf() -> None:
    if request.method == "POST" and request.path != LOGIN_PATH and not csrf.valid(request.form.get(csrf.FIELD)):
        abort(_page("error.html", 403, status=403,
                    message="This form has expired or did not come from this site: reload the page and try again."))


@bp.get("/agent")
def home() -> Response:
    return redirect(LANDING, code=303)


@bp.get("/agent/login")
def login_form() -> Response:
    return _page("login.html", error=None, email="", next=request.args.get("next", ""))


@bp.post("/agent/login")
def login() -> Response:
    email = request.form.get("email", "").strip()
    agent = _agent_by_email(email) if email else None
    if agent is None:
        return _page("login.html", 401, error="Invalid email or API token.", email=email,
                     next=request.form.get("next", ""))
    session.clear()
    session[SESSION_TOKEN] = key_of(request)
    session[SESSION_USER] = agent["id"]
    return redirect(safe_next(request.form.get("next")), code=303)


@bp.post("/agent/logout")
def logout() -> Response:
    session.clear()
    return redirect(LOGIN_PATH, code=303)


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = g.db.execute(f"SELECT id, name FROM users WHERE id IN ({','.join('?' for _ in ids)})", tuple(ids))
    return {r["id"]: r["name"] for r in rows}


def _positive(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not digits(raw) or not 1 <= int(raw) <= maximum:
        bound = f"1 to {maximum}"
        raise _bad_form(f"The parameter {name}={raw!r} is not a whole number from {bound}.")
    return int(raw)


def _search(q: str, status: str) -> tuple[str, list[object]]:
    """SQL over tickets (joined with their requester) for the words of `q` and the status: every
    word must appear in the subject, description, requester's name or email, or be the ticket's id."""
    sql = ("SELECT t.* FROM tickets t LEFT JOIN users u ON u.id = t.requester_id WHERE t.deleted=0")
    args: list[object] = []
    if status:
        sql += " AND t.status=?"
        args.append(status)
    for word in q.split():
        number = word.lstrip("#")
        like = f"%{word.lower()}%"
        sql += (" AND (lower(t.subject) LIKE ? OR lower(coalesce(t.description, '')) LIKE ?"
                " OR lower(coalesce(u.name, '')) LIKE ? OR lower(coalesce(u.email, '')) LIKE ? OR t.id = ?)")
        args += [like, like, like, like, int(number) if digits(number) else -1]
    return sql, args


@bp.get("/agent/tickets")
def ticket_table() -> Response:
    status = request.args.get("status", "").strip().lower()
    if status and status not in STATUSES:
        raise _bad_form(f"Unknown status {status!r}: choose one of {', '.join(STATUSES)}.")
    q = request.args.get("q", "").strip()
    page, per_page = _positive("page", 1, MAX_PAGE), _positive("per_page", PER_PAGE, MAX_PER_PAGE)
    sql, args = _search(q, status)
    total = g.db.execute(f"SELECT count(*) FROM ({sql})", args).fetchone()[0]
    rows = g.db.execute(sql + " ORDER BY t.id LIMIT ? OFFSET ?", [*args, per_page, (page - 1) * per_page]).fetchall()
    names = _names({r["requester_id"] for r in rows})

    def link(to: int) -> str:
        params = {k: v for k, v in (("q", q), ("status", status)) if v}
        return f"{LANDING}?{urlencode({**params, 'page': to, 'per_page': per_page})}"

    first = (page - 1) * per_page + 1 if rows else 0
    return _page("tickets.html", tickets=rows, names=names, status=status, statuses=STATUSES, q=q,
                 first=first, last=first + len(rows) - 1 if rows else 0, total=total,
                 prev_link=link(page - 1) if page > 1 else None,
                 next_link=link(page + 1) if page * per_page < total else None)


def _ticket_page(ticket_id: int, code: int = 200, form_error: str | None = None,
                 form: dict[str, str] | None = None) -> Response:
    ticket = live_ticket(ticket_id)
    comments = g.db.execute("SELECT * FROM comments WHERE ticket_id=? ORDER BY created_at, id", (ticket_id,)).fetchall()
    names = _names({c["author_id"] for c in comments} | {ticket["requester_id"]}
                   | ({ticket["assignee_id"]} if ticket["assignee_id"] else set()))
    chosen = "open" if ticket["status"] == "new" else ticket["status"]
    notice = request.args.get("notice")
    # The requester's email: what an agent (and the REST oracles, via zd.users) looks the customer up by.
    requester = g.db.execute("SELECT email FROM users WHERE id=?", (ticket["requester_id"],)).fetchone()
    return _page("ticket.html", code, ticket=ticket, comments=comments, names=names, iso=iso,
                 requester_email=requester["email"] if requester else "",
                 statuses=SUBMIT_STATUSES, chosen=(form or {}).get("status") or chosen,
                 notice=NOTICES.get(notice, notice) if notice else None, form_error=form_error, form=form or {})


@bp.get("/agent/tickets/<int:ticket_id>")
def ticket_page(ticket_id: int) -> Response:
    return _ticket_page(ticket_id)


@bp.post("/agent/tickets/<int:ticket_id>")
def submit(ticket_id: int) -> Response:
    live_ticket(ticket_id)
    body = request.form.get("body", "")
    internal = request.form.get("internal", "") in ("on", "true", "1", "yes")
    status = (request.form.get("submit_as") or request.form.get("status") or "").strip().lower()
    kept = {"body": body, "internal": "on" if internal else "", "status": status}
    problem = None
    if status and status not in SUBMIT_STATUSES:
        problem = f"Unknown status {status!r}: submit as one of {', '.join(SUBMIT_STATUSES)}."
    elif len(body) > 65_535:
        problem = "The reply is too long (at most 65,535 characters)."
    elif internal and not body.strip():
        problem = "An internal note needs some text."
    if problem:
        return _ticket_page(ticket_id, 400, form_error=problem, form=kept)
    data: dict[str, object] = {}
    if status:
        data["status"] = status
    if body.strip():
        data["comment"] = {"body": body, "public": not internal}
    if data:
        update_ticket(ticket_id, data, g.actor, channel="web")
    return redirect(f"/agent/tickets/{ticket_id}?notice=updated", code=303)
