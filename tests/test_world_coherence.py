"""One world: the same people and orders, seen through each fake's own tables.

Built from the template databases of a seed, which is what every episode starts from."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from sandbox.episodes.templates import build_service_db
from sandbox.world import world

SEED = 7


@pytest.fixture(scope="module")
def dbs(tmp_path_factory) -> dict[str, sqlite3.Connection]:
    folder: Path = tmp_path_factory.mktemp("coherence")
    out = {}
    for service in ("payments", "helpdesk", "chat", "code"):
        build_service_db(folder / f"{service}.db", service, SEED)
        conn = sqlite3.connect(folder / f"{service}.db")
        conn.row_factory = sqlite3.Row
        out[service] = conn
    yield out
    for conn in out.values():
        conn.close()


def test_every_customer_is_a_stripe_customer_and_a_zendesk_requester(dbs):
    w = world(SEED)
    stripe = {r["id"]: r["email"] for r in dbs["payments"].execute("SELECT id, email FROM customers")}
    requesters = {r["id"]: (r["name"], r["email"]) for r in dbs["helpdesk"].execute(
        "SELECT id, name, email FROM users WHERE role = 'end-user'")}
    stale = w.facts["messy_requesters"]["stale"]
    for customer in w.customers:
        assert stripe[customer.id] == customer.email
    by_email = {email: rid for rid, (_, email) in requesters.items()}
    missing = [c for c in w.customers if c.email not in by_email]
    # Exactly one customer's desk record is stale: the desk still has an old address.
    assert [c.id for c in missing] == [w.facts["messy_requesters"]["stale_customer"]]
    assert requesters[stale][0] == missing[0].name and requesters[stale][1] != missing[0].email


def test_staff_are_the_same_people_in_the_helpdesk_chat_and_code(dbs):
    w = world(SEED)
    agents = {r["email"]: r["name"] for r in dbs["helpdesk"].execute(
        "SELECT name, email FROM users WHERE role IN ('agent', 'admin')")}
    slack = {r["id"]: (r["real_name"], r["email"]) for r in dbs["chat"].execute("SELECT * FROM users")}
    github = {r["login"]: r["name"] for r in dbs["code"].execute("SELECT login, name FROM users WHERE member = 1")}
    for person in w.staff:
        assert agents[person.email] == person.name
        assert slack[person.chat_id] == (person.name, person.email)
        assert github[person.github_login] == person.name


def test_the_double_charge_ticket_is_about_charges_that_exist(dbs):
    w = world(SEED)
    fact, ticket_fact = w.facts["double_charge"], w.facts["double_charge_ticket"]
    ticket = dbs["helpdesk"].execute("SELECT * FROM tickets WHERE id = ?", (ticket_fact["ticket"],)).fetchone()
    assert fact["order_id"] in ticket["subject"]
    requester = dbs["helpdesk"].execute("SELECT email FROM users WHERE id = ?", (ticket["requester_id"],)).fetchone()
    charges = dbs["payments"].execute(
        "SELECT c.id, c.amount, c.metadata FROM charges c JOIN customers u ON u.id = c.customer WHERE u.email = ?",
        (requester["email"],)).fetchall()
    same_order = [c for c in charges if json.loads(c["metadata"]).get("order_id") == fact["order_id"]]
    assert {c["id"] for c in same_order} == {fact["original_charge"], fact["duplicate_charge"]}
    assert {c["amount"] for c in same_order} == {fact["amount"]}


def test_the_triage_thread_names_issues_and_people_that_exist(dbs):
    w = world(SEED)
    triage, thread = w.facts["triage"], w.facts["triage_thread"]
    replies = [r["text"] for r in dbs["chat"].execute(
        "SELECT text FROM messages WHERE channel = ? AND thread_ts = ? AND ts != ?",
        (thread["channel"], thread["ts"], thread["ts"]))]
    for item in triage["issues"]:
        issue = dbs["code"].execute("SELECT * FROM issues WHERE id = ?", (item["id"],)).fetchone()
        assert issue["number"] == item["number"] and json.loads(issue["labels"]) == []
        assert any(f"#{item['number']} " in text and f"<@{item['assignee_chat_id']}>" in text for text in replies)


def test_private_data_is_only_where_it_belongs(dbs):
    w = world(SEED)
    leadership = w.facts["chat"]["leadership_channel"]
    private_texts = [p.value for p in w.private if p.kind == "private_channel"]
    assert private_texts
    for text in private_texts:
        where = {r["channel"] for r in dbs["chat"].execute("SELECT channel FROM messages WHERE text = ?", (text,))}
        assert where == {leadership}
    fingerprint = w.facts["double_charge_ticket"]["fingerprint"]
    holders = dbs["helpdesk"].execute("SELECT public FROM comments WHERE body LIKE ?", (f"%{fingerprint}%",)).fetchall()
    assert [h["public"] for h in holders] == [0]
    personal = {p.value for p in w.private if p.kind == "personal_email"}
    for service, sql in (("helpdesk", "SELECT email FROM users"), ("chat", "SELECT email FROM users")):
        assert not personal & {r[0] for r in dbs[service].execute(sql)}
