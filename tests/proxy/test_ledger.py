"""Ledger: every exchange, request and response, committed before the agent gets the response."""

from __future__ import annotations

import json
import socket
import sqlite3

import pytest

from tests.proxy.conftest import agent

pytestmark = pytest.mark.slow


def test_exchange_has_request_and_response(world, episode):
    session = agent(world.proxy, episode)
    response = session.post(
        "https://api.stripe.com/v1/customers?expand=x",
        json={"email": "a@b.c"},
        headers={"Authorization": "Bearer sk_test_secret1234"},
        timeout=10,
    )
    [row] = world.episodes.ledger(episode)
    assert (row["via"], row["method"], row["path"], row["query"]) == ("proxy", "POST", "/v1/customers", "expand=x")
    assert json.loads(row["request_body"]) == {"email": "a@b.c"}
    request_headers = {k.lower(): v for k, v in row["request_headers"]}
    assert request_headers["authorization"] == "Bearer REDACTED"  # redacted by the ledger
    assert not any(k.lower().startswith(("proxy-", "x-sandbox-")) for k in request_headers)
    assert row["status"] == 200 and row["response_body"] == response.content
    assert {k.lower(): v for k, v in row["response_headers"]}["x-stand-in"] == "yes"
    assert row["outcome"] == "routed" and row["error"] is None and row["duration_ms"] >= 0


def test_each_exchange_is_committed_before_its_response_arrives(world, episode):
    """Read by a separate connection right after each response: the row must be complete."""
    session = agent(world.proxy, episode)
    path = world.home.ledger_path(episode.id)
    for i in range(20):
        url = f"https://api.stripe.com/v1/charges/ch_{i}" if i % 2 else f"https://evil.example/{i}"
        response = session.get(url, timeout=10)
        reader = sqlite3.connect(path)
        try:
            query = "SELECT path, status, response_body FROM exchanges ORDER BY id DESC LIMIT 1"
            last = reader.execute(query).fetchone()
        finally:
            reader.close()
        assert last == (f"/v1/charges/ch_{i}" if i % 2 else f"/{i}", response.status_code, response.content)


def test_two_episodes_write_to_their_own_ledgers(world):
    a, b = world.episodes.create(), world.episodes.create()
    for i in range(3):
        agent(world.proxy, a).get(f"https://api.stripe.com/v1/a/{i}", timeout=10)
        agent(world.proxy, b).get(f"https://api.stripe.com/v1/b/{i}", timeout=10)
    assert [r["path"] for r in world.episodes.ledger(a)] == ["/v1/a/0", "/v1/a/1", "/v1/a/2"]
    assert [r["path"] for r in world.episodes.ledger(b)] == ["/v1/b/0", "/v1/b/1", "/v1/b/2"]
    # Each fake request carried its own episode and its own ledger's exchange id.
    seen = [(s.header("X-Sandbox-Episode"), s.path, s.header("X-Sandbox-Exchange")) for s in world.fake.seen[-6:]]
    assert seen == [(ep.id, f"/v1/{n}/{i}", str(i + 1)) for i in range(3) for ep, n in ((a, "a"), (b, "b"))]


def test_upstream_failure_is_recorded_as_error(world, episode):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    response = agent(world.proxy, episode).get(f"http://127.0.0.1:{port}/gone", timeout=10)
    assert response.status_code == 502
    [row] = world.episodes.ledger(episode)
    assert row["outcome"] == "error" and row["status"] is None and row["error"]
