"""zenpy through the real proxy over HTTPS to the helpdesk fake in its own process, configured
only with what `sandbox env` gives an agent; the agent UI through the same proxy; the ledger links
each row change to the proxied exchange that made it."""

from __future__ import annotations

import re

import pytest
import requests
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment
from zenpy.lib.exception import APIException

from sandbox.episodes.store import EpisodeStore
from sandbox.run.agent_env import agent_env
from sandbox.world import world

FACTS = world(7).facts
DOUBLE = FACTS["double_charge_ticket"]


@pytest.fixture(scope="module")
def sandbox(running_sandbox):
    return running_sandbox


@pytest.fixture
def episode(sandbox):
    store = EpisodeStore(sandbox.home)
    yield store.create(7)
    store.close()


def proxied_session(env: dict[str, str]) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # only what the agent env says, nothing inherited
    session.proxies = {"https": env["HTTPS_PROXY"], "http": env["HTTP_PROXY"]}
    session.verify = env["SSL_CERT_FILE"]
    return session


def zenpy_for(env: dict[str, str], token: str | None = None) -> Zenpy:
    token = token or env["ZENDESK_API_TOKEN"]
    return Zenpy(subdomain=env["ZENDESK_SUBDOMAIN"], email=env["ZENDESK_EMAIL"], token=token,
                 session=proxied_session(env), disable_cache=True)


def test_zenpy_through_the_proxy_reads_writes_and_the_ledger_links_the_change(sandbox, episode):
    env = agent_env(sandbox.home, episode, sandbox.ports)
    assert env["ZENDESK_URL"] == f"https://{env['ZENDESK_SUBDOMAIN']}.zendesk.com"
    zd = zenpy_for(env)
    ticket = zd.tickets(id=DOUBLE["ticket"])
    assert ticket.url == f"{env['ZENDESK_URL']}/api/v2/tickets/{DOUBLE['ticket']}.json"
    ticket.comment = Comment(body="Looking into the duplicate charge.", public=False)
    zd.tickets.update(ticket)
    assert len(list(zd.tickets(cursor_pagination=10))) == len(world(7).helpdesk.tickets)  # type: ignore[union-attr]
    with EpisodeStore(sandbox.home).ledger(episode.id) as ledger:
        exchanges = ledger.exchanges()
        changes = ledger.state_changes()
    host = f"{env['ZENDESK_SUBDOMAIN']}.zendesk.com"
    assert [(e["via"], e["host"], e["method"], e["status"]) for e in exchanges[:2]] == [
        ("proxy", host, "GET", 200), ("proxy", host, "PUT", 200)]
    note = [c for c in changes if c["tbl"] == "comments" and c["op"] == "insert"]
    assert len(note) == 1 and note[0]["after"]["public"] == 0
    assert note[0]["exchange_id"] == exchanges[1]["id"]


def test_wrong_token_and_unknown_subdomain_through_the_proxy(sandbox, episode):
    env = agent_env(sandbox.home, episode, sandbox.ports)
    with pytest.raises(APIException) as err:
        zenpy_for(env, token="zdt_wrong").users.me()
    assert err.value.response.status_code == 401
    other = proxied_session(env).get("https://not-our-company.zendesk.com/api/v2/users/me.json",
                                     auth=(f"{env['ZENDESK_EMAIL']}/token", env["ZENDESK_API_TOKEN"]), timeout=30)
    assert other.status_code == 404 and other.json()["error"] == "RecordNotFound"


def test_agent_ui_through_the_proxy(sandbox, episode):
    env = agent_env(sandbox.home, episode, sandbox.ports)
    browser = proxied_session(env)
    base = env["ZENDESK_URL"]
    tickets = browser.post(f"{base}/agent/login", timeout=30,
                           data={"email": env["ZENDESK_EMAIL"], "api_token": env["ZENDESK_API_TOKEN"]})
    assert tickets.status_code == 200 and tickets.url == f"{base}/agent/tickets"
    assert f'id="ticket-row-{DOUBLE["ticket"]}"' in tickets.text
    token = re.search(r'name="csrf_token" value="(\w+)"', tickets.text).group(1)  # the session's CSRF token
    page = browser.post(f"{base}/agent/tickets/{DOUBLE['ticket']}", timeout=30,
                        data={"body": "Refunded.", "status": "solved", "csrf_token": token})
    assert page.status_code == 200 and 'id="ticket-status" data-field="status">solved<' in page.text
