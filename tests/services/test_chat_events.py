"""The chat fake's Events API: apps.manifest.update sets the request URL after Slack's
url_verification handshake, and writes (chat.postMessage, reactions.add, ...) are delivered as
`event_callback` envelopes that slack_sdk's SignatureVerifier accepts, retried like Slack."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from sandbox.webhooks.deliverer import Deliverer
from sandbox.webhooks.outbox import deliveries
from services.chat.manifest import signing_secret
from tests.services.chat_fixtures import ChatServer, serve_chat
from tests.services.conftest import SEED


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatServer]:
    yield from serve_chat(tmp_path_factory)


@pytest.fixture(scope="module")
def deliverer(chat: ChatServer) -> Iterator[Deliverer]:
    running = Deliverer(chat.home, poll_s=0.01, retry_scale=0.02, send_timeout_s=2.0).start()
    yield running
    running.stop()


class SlackApp:
    """An agent's Events API endpoint: echoes the challenge (unless told not to), checks every
    request with slack_sdk's SignatureVerifier, answers the statuses it is given."""

    def __init__(self, echo: bool = True) -> None:
        self.echo = echo
        self.verifier = SignatureVerifier(signing_secret(SEED))
        self.got: list[dict[str, Any]] = []
        self.answers: list[int] = []
        self.lock = threading.Lock()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        valid = self.verifier.is_valid(body, handler.headers.get("X-Slack-Request-Timestamp", ""),
                                       handler.headers.get("X-Slack-Signature", ""))
        payload = json.loads(body)
        with self.lock:
            self.got.append({"payload": payload, "valid": valid, "headers": dict(handler.headers)})
            status = self.answers.pop(0) if self.answers and payload["type"] != "url_verification" else 200
        answer = b""
        if payload["type"] == "url_verification":
            answer = json.dumps({"challenge": payload["challenge"] if self.echo else "nope"}).encode()
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [g for g in self.got if g["payload"]["type"] == "event_callback"]


@contextmanager
def slack_app(echo: bool = True) -> Iterator[tuple[SlackApp, str]]:
    app = SlackApp(echo)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            app.handle(self)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}/slack/events"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def manifest(url: str | None, events: list[str]) -> dict[str, Any]:
    subscriptions = {"bot_events": events} | ({"request_url": url} if url else {})
    return {"display_information": {"name": "Support bot"}, "settings": {"event_subscriptions": subscriptions}}


def wait_for(check, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "nothing arrived in time"
        time.sleep(0.02)



def _app_id(chat: ChatServer, episode) -> str:
    import sqlite3

    conn = sqlite3.connect(chat.home.service_db(episode.id, "chat"))
    try:
        return conn.execute("SELECT app_id FROM team").fetchone()[0]
    finally:
        conn.close()


def test_a_verified_request_url_receives_signed_message_and_reaction_events(chat, deliverer):
    episode = chat.episode()
    client = chat.client(episode)
    with slack_app() as (app, url):
        answer = client.apps_manifest_update(app_id=_app_id(chat, episode),
                                             manifest=manifest(url, ["message.channels", "reaction_added"]))
        assert answer["ok"] is True and answer["app_id"] == _app_id(chat, episode)
        [challenge] = app.got
        assert challenge["payload"]["type"] == "url_verification" and challenge["valid"]
        posted = client.chat_postMessage(channel="#billing", text="Refund for ch_123 is done.")
        client.reactions_add(channel=posted["channel"], timestamp=posted["ts"], name="white_check_mark")
        wait_for(lambda: len(app.events()) == 2)
    message, reaction = (e["payload"] for e in app.events())
    assert all(e["valid"] for e in app.events())
    assert message["type"] == "event_callback" and message["api_app_id"] == _app_id(chat, episode)
    assert message["event_id"].startswith("Ev") and message["team_id"].startswith("T")
    assert (message["event"]["type"], message["event"]["text"], message["event"]["ts"]) == (
        "message", "Refund for ch_123 is done.", posted["ts"])
    assert message["event"]["channel"] == posted["channel"] and message["event"]["channel_type"] == "channel"
    assert reaction["event"]["type"] == "reaction_added" and reaction["event"]["reaction"] == "white_check_mark"
    assert reaction["event"]["item"] == {"type": "message", "channel": posted["channel"], "ts": posted["ts"]}
    with chat.ledger(episode) as ledger:
        rows = deliveries(ledger)
        changes = [c for c in ledger.state_changes() if c["tbl"] == "event_subscriptions"]
    assert [(r["event_type"], r["outcome"]) for r in rows] == [
        ("url_verification", "delivered"), ("message", "delivered"), ("reaction_added", "delivered")]
    assert len(changes) == 1 and changes[0]["after"]["verified"] == 1


def test_a_url_that_does_not_echo_the_challenge_is_refused(chat, deliverer):
    episode = chat.episode()
    client = chat.client(episode)
    with slack_app(echo=False) as (app, url):
        with pytest.raises(SlackApiError) as err:
            client.apps_manifest_update(app_id=_app_id(chat, episode), manifest=manifest(url, ["message.channels"]))
        client.chat_postMessage(channel="#billing", text="nobody hears this")
        time.sleep(0.2)
    assert err.value.response["error"] == "invalid_manifest"
    assert err.value.response["errors"][0]["pointer"] == "/settings/event_subscriptions/request_url"
    assert "challenge" in err.value.response["errors"][0]["message"]
    assert app.events() == []  # no verified URL, no events


def test_events_the_manifest_does_not_name_are_not_sent(chat, deliverer):
    episode = chat.episode()
    client = chat.client(episode)
    with slack_app() as (app, url):
        client.apps_manifest_update(app_id=_app_id(chat, episode), manifest=manifest(url, ["reaction_added"]))
        posted = client.chat_postMessage(channel="#billing", text="no event for this")
        client.reactions_add(channel=posted["channel"], timestamp=posted["ts"], name="eyes")
        wait_for(lambda: app.events())
        time.sleep(0.1)
    assert [e["payload"]["event"]["type"] for e in app.events()] == ["reaction_added"]


def test_slack_retries_three_times_with_its_headers(chat, deliverer):
    episode = chat.episode()
    client = chat.client(episode)
    with slack_app() as (app, url):
        client.apps_manifest_update(app_id=_app_id(chat, episode), manifest=manifest(url, ["message.channels"]))
        app.answers = [500, 500, 500, 500]
        client.chat_postMessage(channel="#billing", text="retried")
        wait_for(lambda: len(app.events()) == 4)
        time.sleep(0.3)
        got = app.events()
    assert len(got) == 4  # the delivery and Slack's three retries, then no more
    assert [g["headers"].get("X-Slack-Retry-Num") for g in got] == [None, "1", "2", "3"]
    assert {g["headers"].get("X-Slack-Retry-Reason") for g in got[1:]} == {"http_error"}
    assert len({g["payload"]["event_id"] for g in got}) == 1


@pytest.mark.parametrize(("manifest_doc", "pointer"), [
    ("not json", "/"),
    (json.dumps(manifest("http://example.com/events", [])), "/settings/event_subscriptions/request_url"),
    (json.dumps(manifest("http://127.0.0.1:9/x", ["message.im"])), "/settings/event_subscriptions/bot_events/0"),
])
def test_bad_manifests_are_refused_with_a_pointer(chat, manifest_doc, pointer):
    episode = chat.episode()
    answer = chat.call(episode, "apps.manifest.update", data={"app_id": _app_id(chat, episode),
                                                              "manifest": manifest_doc}).json()
    assert (answer["ok"], answer["error"], answer["errors"][0]["pointer"]) == (False, "invalid_manifest", pointer)


def test_another_apps_manifest_and_a_missing_manifest(chat):
    episode = chat.episode()
    assert chat.call(episode, "apps.manifest.update", data={"app_id": "A0NOPE", "manifest": "{}"}).json()["error"] \
        == "invalid_app_id"
    answer = chat.call(episode, "apps.manifest.update", data={"app_id": _app_id(chat, episode)}).json()
    assert answer["error"] == "invalid_arguments"


def test_create_answers_with_the_apps_credentials_and_the_signing_secret_is_in_the_agent_env(chat, deliverer):
    from sandbox.world import world
    from services.chat import SERVICE

    episode = chat.episode()
    created = chat.client(episode).apps_manifest_create(manifest=manifest(None, []))
    assert created["app_id"] == _app_id(chat, episode)
    assert created["credentials"]["signing_secret"] == signing_secret(SEED)
    assert SERVICE.agent_env(world(SEED))["SLACK_SIGNING_SECRET"] == signing_secret(SEED)
    with chat.ledger(episode) as ledger:
        text = json.dumps(ledger.exchanges(), default=str)
    assert signing_secret(SEED) not in text  # a secret-named field: redacted in the ledger


def test_slack_deliveries_meet_the_episodes_webhook_faults(chat, deliverer, tmp_path):
    """The url_verification handshake is never faulted; the first event is dropped (Slack retries it
    with its headers), the second sent twice with the same event_id."""
    profile = tmp_path / "slack-chaos.yaml"
    profile.write_text("name: slack-chaos\nseed: 1\ndescription: drop one, duplicate one.\nrules:\n"
                       "  - {name: drop, match: {via: webhook, service: chat, nth: 1}, action: {kind: reset}}\n"
                       "  - {name: twice, match: {via: webhook, service: chat, nth: 3}, action: {kind: duplicate}}\n")
    episode = chat.store.create(seed=SEED, faults=str(profile))
    client = chat.client(episode)
    with slack_app() as (app, url):
        client.apps_manifest_update(app_id=_app_id(chat, episode), manifest=manifest(url, ["message.channels"]))
        client.chat_postMessage(channel="#billing", text="first")
        wait_for(lambda: len(app.events()) == 1)
        client.chat_postMessage(channel="#billing", text="second")
        wait_for(lambda: len(app.events()) == 3)
        got = app.events()
    assert [g["payload"]["event"]["text"] for g in got] == ["first", "second", "second"]
    assert got[0]["headers"].get("X-Slack-Retry-Num") == "1"
    assert got[0]["headers"].get("X-Slack-Retry-Reason") == "connection_failed"
    assert got[1]["payload"]["event_id"] == got[2]["payload"]["event_id"] and all(g["valid"] for g in got)
    with chat.ledger(episode) as ledger:
        rows = [(r["event_type"], r["attempt"], r["copy"], r["outcome"]) for r in deliveries(ledger)]
    assert rows == [("url_verification", 1, 0, "delivered"), ("message", 1, 0, "faulted"),
                    ("message", 2, 0, "delivered"), ("message", 1, 0, "delivered"), ("message", 1, 1, "delivered")]
