"""Slack's web client as server-rendered pages on https://app.slack.com, for browser agents.

    GET  /login                                    sign-in form (the bot token)
    POST /login                                    -> session cookie, 303 to `next` or the channel list
    POST /logout
    GET  /client/<team>                            channels the bot can see (?q= search, paging)
    GET  /client/<team>/users/<user>               a person's profile (users.info)
    GET  /client/<team>/<channel>                  history, newest last; page 2 is older (paging)
    POST /client/<team>/<channel>                  post a message (chat.postMessage's code path)
    GET  /client/<team>/<channel>/thread/<ts>      a thread: its root, then its replies
    POST /client/<team>/<channel>/thread/<ts>      reply in the thread
    POST /client/<team>/<channel>/thread/<ts>/reactions   add or remove a reaction (reactions.add/remove)

Reads use the Web API's own row-to-object code (objects.py) and visibility rules (store.channel);
writes call the same functions as chat.postMessage and reactions.add / .remove, so the ledger rows
and the Events API deliveries are the same whichever door an agent used. Element ids are stable:
oracles (sandbox/tasks/oracles/browser/slack.py) and the UI nuisance's rules refer to them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, redirect, render_template, request, session
from werkzeug.wrappers import Response as BaseResponse

from services.chat import chat, objects, reactions, web_views
from services.chat.conversations import TOP_LEVEL
from services.chat.errors import SlackError
from services.chat.params import Args
from services.chat.store import channel, is_member, message, parse_ts, workspace
from services.chat.web_paging import Paging, WebError
from services.chat.web_session import LOGIN_PATH, SESSION_TOKEN, csrf_token, key_of, safe_next

bp = Blueprint("web", __name__)

# What `?notice=` may say after a write: only these, so a crafted link cannot put words on the page.
NOTICES = frozenset({"Message posted", "Reply posted", "Reaction added", "Reaction removed"})

# Slack's error code -> (status, what the page says): the writes' refusals, read by a person.
_FORM_ERRORS: dict[str, tuple[int, str]] = {
    "no_text": (400, "Write a message first: the text is empty."),
    "msg_too_long": (400, f"The message is too long: at most {chat.MAX_TEXT:,} characters."),
    "invalid_name": (400, "That is not an emoji name: use its short name, e.g. eyes or white_check_mark."),
    "invalid_arguments": (400, "Name the emoji to react with, e.g. eyes."),
    "already_reacted": (422, "The bot has already reacted with that emoji."),
    "no_reaction": (422, "The bot has no such reaction on that message to remove."),
    "too_many_emoji": (422, "That message already carries as many different reactions as Slack allows."),
    "is_archived": (422, "The channel is archived: nothing can be posted to it."),
    "message_not_found": (422, "That message no longer exists."),
    "thread_not_found": (422, "That thread no longer exists."),
}
_PAGE_ERRORS: dict[str, tuple[int, str]] = {
    "channel_not_found": (404, "There is no such channel (or the bot cannot see it)."),
    "not_in_channel": (403, "The bot is not a member of that channel, so it cannot read it: join it first."),
    "thread_not_found": (404, "There is no such message in this channel."),
}


def _render(template: str, code: int = 200, **context: Any) -> Response:
    w = workspace()
    sidebar = g.db.execute(
        "SELECT c.id, c.name FROM channels c JOIN members m ON m.channel = c.id AND m.user = ?"
        " WHERE c.is_archived = 0 ORDER BY c.name", (w.bot_user,)).fetchall()
    html = render_template(template, actor=w.bot_name, team_id=w.id, team_name=w.name, sidebar=sidebar,
                           csrf_token=csrf_token(), notice=_notice(), **context)
    return Response(html, status=code, mimetype="text/html")


def _notice() -> str | None:
    notice = request.args.get("notice")
    return notice if notice in NOTICES else None


@bp.errorhandler(WebError)
def _web_error(error: WebError) -> Response:
    return _render("error.html", error.status, status=error.status, message=error.message)


@bp.errorhandler(SlackError)
def _slack_error(error: SlackError) -> Response:
    status, message = _PAGE_ERRORS.get(error.code, (400, f"Slack refused that ({error.code})."))
    return _render("error.html", status, status=status, message=message)


def _team(team_id: str) -> None:
    if team_id != workspace().id:
        raise WebError(404, f"There is no workspace {team_id} here: yours is {workspace().id}.")


def _see_other(path: str, notice: str) -> BaseResponse:
    assert notice in NOTICES, notice
    joiner = "&" if "?" in path else "?"
    return redirect(f"{path}{joiner}notice={notice.replace(' ', '+')}", code=303)


# -- sign-in ------------------------------------------------------------------------------------


@bp.get("/login")
def login_form() -> Response:
    """Signed in already (a valid session): the form again, to switch tokens."""
    return _render("login.html", error=None, next_path=safe_next(request.args.get("next")))


@bp.post("/login")
def login() -> BaseResponse:
    token = key_of(request)  # the binding has checked it names this live episode
    session.clear()
    session[SESSION_TOKEN] = token
    return redirect(safe_next(request.form.get("next")) or f"/client/{workspace().id}", code=303)


@bp.post("/logout")
def logout() -> BaseResponse:
    session.clear()
    return redirect(LOGIN_PATH, code=303)


@bp.get("/client")
def client_home() -> BaseResponse:
    return redirect(f"/client/{workspace().id}", code=303)


# -- channels -----------------------------------------------------------------------------------


@bp.get("/client/<team_id>")
def channel_list(team_id: str) -> Response:
    """The channels the bot can see (conversations.list's rule: private ones only where it is in)."""
    _team(team_id)
    paging = Paging.from_request()
    where = "(is_private = 0 OR id IN (SELECT channel FROM members WHERE user = ?))"
    params: list[Any] = [workspace().bot_user]
    if paging.q:
        where += " AND (instr(lower(name), ?) OR instr(lower(topic), ?) OR instr(lower(purpose), ?))"
        params += [paging.q.lower().removeprefix("#")] * 3
    (total,) = g.db.execute(f"SELECT COUNT(*) FROM channels WHERE {where}", params).fetchone()
    paging = paging.counted(total)
    rows = g.db.execute(
        f"SELECT c.*, (SELECT COUNT(*) FROM members m WHERE m.channel = c.id) AS num_members FROM channels c"
        f" WHERE {where} ORDER BY name LIMIT ? OFFSET ?", (*params, paging.per_page, paging.offset)).fetchall()
    shown = [{**dict(r), "is_member": is_member(r["id"])} for r in rows]
    return _render("channels.html", channels=shown, paging=paging, path=request.path)


# -- people -------------------------------------------------------------------------------------


@bp.get("/client/<team_id>/users/<user_id>")
def user_profile(team_id: str, user_id: str) -> Response:
    """A person's profile (what users.info answers): names, title, work email, time zone."""
    _team(team_id)
    row = g.db.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
    if row is None:
        raise WebError(404, f"There is no user {user_id[:40]} in this workspace.")
    return _render("user.html", person=objects.user(row))


# -- history and posting ------------------------------------------------------------------------


def _history(team_id: str, channel_id: str, status: int = 200, **form: Any) -> Response:
    _team(team_id)
    row = channel(channel_id, member=True)
    paging = Paging.from_request()
    (total,) = g.db.execute(f"SELECT COUNT(*) FROM messages WHERE channel = ? AND {TOP_LEVEL}",
                            (row["id"],)).fetchone()
    paging = paging.counted(total)
    rows = g.db.execute(
        f"SELECT * FROM messages WHERE channel = ? AND {TOP_LEVEL} ORDER BY ts_key DESC LIMIT ? OFFSET ?",
        (row["id"], paging.per_page, paging.offset)).fetchall()
    shown = web_views.messages(list(reversed(rows)))  # newest last, as the client shows them
    return _render("channel.html", status, channel=row, messages=shown, paging=paging, path=request.path,
                   form_error=form.get("error"), draft=form.get("draft", ""))


@bp.get("/client/<team_id>/<channel_id>")
def history(team_id: str, channel_id: str) -> Response:
    return _history(team_id, channel_id)


def _refusal(error: SlackError) -> tuple[int, str]:
    if error.code in _FORM_ERRORS:
        return _FORM_ERRORS[error.code]
    raise error  # not the form's fault (no such channel...): the error page


def _message_args(channel_id: str, text: str, **thread: str) -> Args:
    """chat.postMessage's arguments from a composer; the client sends no blank message (the API
    would post one: only an empty text is `no_text` there)."""
    if not text.strip():
        raise SlackError("no_text")
    return Args({"channel": channel(channel_id, member=True)["id"], "text": text, **thread})


@bp.post("/client/<team_id>/<channel_id>")
def post_message(team_id: str, channel_id: str) -> BaseResponse:
    _team(team_id)
    text = request.form.get("text", "")
    try:
        chat.send(_message_args(channel_id, text))
    except SlackError as error:
        status, message = _refusal(error)
        return _history(team_id, channel_id, status, error=message, draft=text)
    return _see_other(request.path, "Message posted")


# -- threads, replies and reactions -------------------------------------------------------------


def _thread(team_id: str, channel_id: str, ts: str, status: int = 200, **form: Any) -> Response:
    _team(team_id)
    row = channel(channel_id, member=True)
    root = message(row["id"], parse_ts(ts))
    if root is None:
        raise SlackError("thread_not_found")
    paging = Paging.from_request()
    thread_ts = root["thread_ts"] or root["ts"]
    (total,) = g.db.execute("SELECT COUNT(*) FROM messages WHERE channel = ? AND thread_ts = ? AND ts != ?",
                            (row["id"], thread_ts, thread_ts)).fetchone()
    paging = paging.counted(total)
    replies = g.db.execute(
        "SELECT * FROM messages WHERE channel = ? AND thread_ts = ? AND ts != ? ORDER BY ts_key LIMIT ? OFFSET ?",
        (row["id"], thread_ts, thread_ts, paging.per_page, paging.offset)).fetchall()
    (root_shown,) = web_views.messages([root])
    return _render("thread.html", status, channel=row, root=root_shown, replies=web_views.messages(replies),
                   paging=paging, path=request.path, bot_user=workspace().bot_user,
                   form_error=form.get("error"), draft=form.get("draft", ""), emoji=form.get("emoji", ""))


def _root_ts(channel_id: str, ts: str) -> str | None:
    """The thread a ts belongs to: a reply's page is its root's page."""
    found = message(channel_id, parse_ts(ts))
    return (found["thread_ts"] or found["ts"]) if found is not None else None


@bp.get("/client/<team_id>/<channel_id>/thread/<ts>")
def thread(team_id: str, channel_id: str, ts: str) -> BaseResponse:
    _team(team_id)
    root_ts = _root_ts(channel(channel_id, member=True)["id"], ts)
    if root_ts is not None and root_ts != ts:
        query = f"?{request.query_string.decode()}" if request.query_string else ""
        return redirect(f"/client/{team_id}/{channel_id}/thread/{root_ts}{query}", code=303)
    return _thread(team_id, channel_id, ts)


@bp.post("/client/<team_id>/<channel_id>/thread/<ts>")
def reply(team_id: str, channel_id: str, ts: str) -> BaseResponse:
    _team(team_id)
    text = request.form.get("text", "")
    broadcast = "true" if request.form.get("reply_broadcast") in ("on", "true", "1") else "false"
    try:
        chat.send(_message_args(channel_id, text, thread_ts=ts, reply_broadcast=broadcast))
    except SlackError as error:
        status, message = _refusal(error)
        return _thread(team_id, channel_id, ts, status, error=message, draft=text)
    return _see_other(_last_replies_page(channel_id, ts), "Reply posted")


def _last_replies_page(channel_id: str, ts: str) -> str:
    """The thread page whose replies end with the newest one (what the client scrolls to)."""
    per_page = Paging.from_request().per_page
    (total,) = g.db.execute("SELECT COUNT(*) FROM messages WHERE channel = ? AND thread_ts = ? AND ts != ?",
                            (channel_id, ts, ts)).fetchone()
    last = max(1, -(-total // per_page))
    return f"{request.path}?page={last}&per_page={per_page}" if last > 1 else request.path


@bp.post("/client/<team_id>/<channel_id>/thread/<ts>/reactions")
def react(team_id: str, channel_id: str, ts: str) -> BaseResponse:
    _team(team_id)
    row = channel(channel_id, member=True)
    target = request.form.get("message_ts") or ts
    name = request.form.get("name", "")
    action = request.form.get("action", "add")
    if action not in ("add", "remove"):
        raise WebError(400, f"action={action[:20]!r} is not valid: add or remove a reaction.")
    change = reactions.add_reaction if action == "add" else reactions.remove_reaction
    try:
        change(Args({"channel": row["id"], "timestamp": target, "name": name}))
    except SlackError as error:
        status, message = _refusal(error)
        return _thread(team_id, channel_id, ts, status, error=message, emoji=name)
    thread_page = request.path.removesuffix("/reactions")
    return _see_other(thread_page, "Reaction added" if action == "add" else "Reaction removed")
