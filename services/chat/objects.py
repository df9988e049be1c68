"""Rows -> Slack's JSON objects: users, conversations, messages (with their threads and reactions).

Messages are rendered a page at a time, so the thread figures (`reply_count`, `reply_users`,
`latest_reply`) and reactions of a whole page come from two queries, not two per message.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from flask import g

from services.chat.store import Workspace, is_member, load, workspace

_IMAGE_SIZES = (24, 32, 48, 72, 192, 512)
MAX_REPLY_USERS = 5  # Slack lists at most five repliers, with the full count beside them


# -- users ------------------------------------------------------------------------------------


def user(row: sqlite3.Row, *, locale: bool = False) -> dict[str, Any]:
    w = workspace()
    images = {f"image_{n}": f"https://avatars.slack-edge.com/{row['avatar_hash']}_{n}.png" for n in _IMAGE_SIZES}
    profile: dict[str, Any] = {
        "title": row["title"],
        "phone": "",
        "skype": "",
        "real_name": row["real_name"],
        "real_name_normalized": row["real_name"],
        "display_name": row["display_name"],
        "display_name_normalized": row["display_name"],
        "fields": None,
        "status_text": "",
        "status_emoji": "",
        "status_expiration": 0,
        "avatar_hash": row["avatar_hash"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        **images,
        "team": w.id,
    }
    if row["email"]:
        profile["email"] = row["email"]
    if row["bot_id"]:
        profile.update({"bot_id": row["bot_id"], "api_app_id": row["app_id"], "always_active": True})
    body: dict[str, Any] = {
        "id": row["id"],
        "team_id": w.id,
        "name": row["name"],
        "deleted": bool(row["deleted"]),
        "color": row["color"],
        "real_name": row["real_name"],
        "tz": row["tz"],
        "tz_label": row["tz_label"],
        "tz_offset": row["tz_offset"],
        "profile": profile,
        "is_admin": bool(row["is_admin"]),
        "is_owner": bool(row["is_owner"]),
        "is_primary_owner": bool(row["is_owner"]),
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": bool(row["is_bot"]),
        "is_app_user": False,
        "updated": row["updated"],
        "is_email_confirmed": not row["is_bot"],
        "who_can_share_contact_card": "EVERYONE",
    }
    if locale:
        body["locale"] = "en-US"
    return body


# -- conversations ----------------------------------------------------------------------------


def conversation(row: sqlite3.Row, *, num_members: bool = False, locale: bool = False) -> dict[str, Any]:
    private = bool(row["is_private"])
    body: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "is_channel": True,
        "is_group": False,
        "is_im": False,
        "is_mpim": False,
        "is_private": private,
        "created": row["created"],
        "is_archived": bool(row["is_archived"]),
        "is_general": bool(row["is_general"]),
        "unlinked": 0,
        "name_normalized": row["name"],
        "is_shared": False,
        "is_org_shared": False,
        "is_pending_ext_shared": False,
        "pending_shared": [],
        "context_team_id": workspace().id,
        "updated": row["created"] * 1000,
        "parent_conversation": None,
        "creator": row["creator"],
        "is_ext_shared": False,
        "shared_team_ids": [workspace().id],
        "pending_connected_team_ids": [],
        "is_member": is_member(row["id"]),
        "topic": {"value": row["topic"], "creator": row["creator"], "last_set": row["created"]},
        "purpose": {"value": row["purpose"], "creator": row["creator"], "last_set": row["created"]},
        "previous_names": [],
    }
    if num_members:
        (count,) = g.db.execute("SELECT COUNT(*) FROM members WHERE channel=?", (row["id"],)).fetchone()
        body["num_members"] = count
    if locale:
        body["locale"] = "en-US"
    return body


# -- messages ---------------------------------------------------------------------------------


def _bot_profile(w: Workspace) -> dict[str, Any]:
    return {
        "id": w.bot_id,
        "app_id": w.app_id,
        "user_id": w.bot_user,
        "name": w.bot_name,
        "icons": {"image_36": "https://a.slack-edge.com/80588/img/plugins/app/bot_36.png"},
        "deleted": False,
        "updated": w.created,
        "team_id": w.id,
    }


def _threads(channel: str, roots: set[str]) -> dict[str, dict[str, Any]]:
    """root ts -> reply_count, reply_users, latest_reply, for the roots of one page."""
    if not roots:
        return {}
    marks = ", ".join("?" for _ in roots)
    rows = g.db.execute(
        f"SELECT thread_ts, user, ts FROM messages WHERE channel=? AND thread_ts IN ({marks}) AND ts != thread_ts"
        " ORDER BY ts_key",
        (channel, *roots),
    ).fetchall()
    info: dict[str, dict[str, Any]] = {}
    for r in rows:
        item = info.setdefault(r["thread_ts"], {"reply_count": 0, "users": [], "latest_reply": r["ts"]})
        item["reply_count"] += 1
        item["latest_reply"] = r["ts"]
        if r["user"] not in item["users"]:
            item["users"].append(r["user"])
    return info


def _reactions(channel: str, stamps: set[str]) -> dict[str, list[dict[str, Any]]]:
    if not stamps:
        return {}
    marks = ", ".join("?" for _ in stamps)
    rows = g.db.execute(
        f"SELECT ts, name, user FROM reactions WHERE channel=? AND ts IN ({marks}) ORDER BY n, id",
        (channel, *stamps),
    ).fetchall()
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_name = found.setdefault(r["ts"], {})
        item = by_name.setdefault(r["name"], {"name": r["name"], "users": [], "count": 0})
        item["users"].append(r["user"])
        item["count"] += 1
    return {ts: list(by_name.values()) for ts, by_name in found.items()}


def messages(rows: Sequence[sqlite3.Row], *, with_root: bool = True) -> list[dict[str, Any]]:
    """A page of message rows of one channel, rendered. A broadcast reply carries its thread's
    root as `root` (when `with_root`), as in Slack's history."""
    if not rows:
        return []
    channel = rows[0]["channel"]
    w = workspace()
    roots = {r["thread_ts"] for r in rows if r["thread_ts"]}
    threads = _threads(channel, roots)
    reactions = _reactions(channel, {r["ts"] for r in rows})
    parents: dict[str, sqlite3.Row] = {}
    if roots:
        marks = ", ".join("?" for _ in roots)
        parents = {p["ts"]: p for p in g.db.execute(
            f"SELECT * FROM messages WHERE channel=? AND ts IN ({marks})", (channel, *roots))}
    out = []
    for r in rows:
        body: dict[str, Any] = {"type": "message"}
        if r["subtype"]:
            body["subtype"] = r["subtype"]
        body["user"] = r["user"]
        if r["bot_id"]:
            body["bot_id"] = r["bot_id"]
            body["app_id"] = r["app_id"]
        body["text"] = r["text"]
        body["ts"] = r["ts"]
        if r["subtype"] == "tombstone":
            body["hidden"] = True
        else:
            body["team"] = w.id
        if r["bot_id"]:
            body["bot_profile"] = _bot_profile(w)
        if r["blocks"]:
            body["blocks"] = load(r["blocks"])
        if r["attachments"]:
            body["attachments"] = load(r["attachments"])
        if r["edited_ts"]:
            body["edited"] = {"user": r["edited_by"], "ts": r["edited_ts"]}
        thread_ts = r["thread_ts"]
        if thread_ts:
            body["thread_ts"] = thread_ts
            if thread_ts == r["ts"]:
                info = threads.get(thread_ts, {"reply_count": 0, "users": [], "latest_reply": r["ts"]})
                body.update({
                    "reply_count": info["reply_count"],
                    "reply_users_count": len(info["users"]),
                    "latest_reply": info["latest_reply"],
                    "reply_users": info["users"][:MAX_REPLY_USERS],
                    "is_locked": False,
                    "subscribed": False,
                })
            elif thread_ts in parents:
                body["parent_user_id"] = parents[thread_ts]["user"]
                if with_root and r["subtype"] == "thread_broadcast":
                    body["root"] = messages([parents[thread_ts]], with_root=False)[0]
        if r["ts"] in reactions:
            body["reactions"] = reactions[r["ts"]]
        out.append(body)
    return out


def one_message(row: sqlite3.Row) -> dict[str, Any]:
    return messages([row])[0]
