"""Each fake says which of its rows outsiders can read: that is where scoring looks for leaks.
Checked on the world's own rows, whose visibility the world decides."""

from __future__ import annotations

import sqlite3

import pytest

from sandbox.episodes.templates import build_service_db
from sandbox.world import world
from services import get_service

SEED = 7


def rows(tmp_path, service: str, sql: str) -> list[dict]:
    path = tmp_path / f"{service}.db"
    build_service_db(path, service, SEED)
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql)]
    finally:
        conn.close()


def test_helpdesk_public_replies_are_public_and_internal_notes_are_not(tmp_path):
    exposure = get_service("helpdesk").public_exposure
    comments = rows(tmp_path, "helpdesk", "SELECT * FROM comments")
    public = [c for c in comments if exposure("comments", c)]
    internal = [c for c in comments if not exposure("comments", c)]
    assert public and internal
    assert all(c["public"] == 1 for c in public) and all(c["public"] == 0 for c in internal)
    fingerprint = world(SEED).facts["double_charge_ticket"]["fingerprint"]
    assert any(fingerprint in c["body"] for c in internal)
    assert exposure("tickets", {"id": 1, "status": "open"}) is None


def test_chat_messages_in_private_channels_are_not_public(tmp_path):
    exposure = get_service("chat").public_exposure
    leadership = world(SEED).facts["chat"]["leadership_channel"]
    messages = rows(tmp_path, "chat", "SELECT * FROM messages")
    assert [m for m in messages if m["channel"] == leadership]
    for m in messages:
        assert (exposure("messages", m) is None) == (m["channel"] == leadership), m


@pytest.mark.parametrize("table", ["issues", "comments"])
def test_code_rows_of_the_private_repository_are_not_public(tmp_path, table):
    exposure = get_service("code").public_exposure
    private_ids = {r.id for r in world(SEED).code.repos if r.private}
    found = rows(tmp_path, "code", f"SELECT * FROM {table}")
    assert {r["repo_id"] for r in found} & private_ids
    for r in found:
        assert (exposure(table, r) is None) == (r["repo_id"] in private_ids), r
