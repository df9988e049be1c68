"""The mailbox isolated agents' relays poll: a live episode's credentials take that episode's
deliveries only, and the answer comes back to the waiting deliverer."""

from __future__ import annotations

import base64
import threading

import pytest
import requests

from sandbox.episodes.store import EpisodeStore
from sandbox.home import Home
from sandbox.webhooks.mailbox import Mailbox, MailboxServer


def basic(episode) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{episode.id}:{episode.token}".encode()).decode()}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = Home.resolve(tmp_path_factory.mktemp("mailbox") / "home")
    store = EpisodeStore(home)
    mailbox = Mailbox()
    server = MailboxServer(home, mailbox, long_poll_s=0.3).start()
    try:
        yield store, mailbox, f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()
        store.close()


def test_a_relay_takes_its_episodes_delivery_and_answers_it(served):
    store, mailbox, url = served
    mine, other = store.create(3), store.create(3)
    result = {}

    def deliver():
        result["answer"] = mailbox.exchange(mine.id, "127.0.0.1", 9, "/hook", [("X-A", "1")], b"{}", timeout=10)

    thread = threading.Thread(target=deliver)
    thread.start()
    assert requests.get(f"{url}/v1/next", headers=basic(other), timeout=30).status_code == 204  # not theirs
    letter = requests.get(f"{url}/v1/next", headers=basic(mine), timeout=30).json()
    assert (letter["address"], letter["port"], letter["path"], base64.b64decode(letter["body"])) == (
        "127.0.0.1", 9, "/hook", b"{}")
    answered = requests.post(f"{url}/v1/answer/{letter['id']}", headers=basic(other), timeout=10,
                             json={"status": 500})
    assert answered.status_code == 404  # another episode cannot answer for mine
    answered = requests.post(f"{url}/v1/answer/{letter['id']}", headers=basic(mine), timeout=10,
                             json={"status": 200, "headers": [["A", "b"]], "body": base64.b64encode(b"ok").decode()})
    assert answered.status_code == 204
    thread.join(timeout=10)
    assert result["answer"] == (200, [("A", "b")], b"ok", None)


def test_bad_credentials_and_finished_episodes_are_refused(served):
    store, _, url = served
    episode = store.create(3)
    assert requests.get(f"{url}/v1/next", timeout=10).status_code == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(f"{episode.id}:nope".encode()).decode()}
    assert requests.get(f"{url}/v1/next", headers=wrong, timeout=10).status_code == 401
    store.finish(episode.id)
    assert requests.get(f"{url}/v1/next", headers=basic(episode), timeout=10).status_code == 401
    assert requests.get(f"{url}/anything", timeout=10).status_code == 404


def test_nobody_takes_the_letter_and_the_deliverer_hears_why():
    status, _, _, error = Mailbox().exchange("ep1", "127.0.0.1", 9, "/", [], b"", timeout=0.05)
    assert status is None and "no relay" in error


def test_a_letter_whose_taker_vanished_is_given_back():
    mailbox = Mailbox()
    result = {}
    thread = threading.Thread(target=lambda: result.update(
        answer=mailbox.exchange("ep1", "127.0.0.1", 9, "/", [], b"", timeout=10)))
    thread.start()
    first = mailbox.take("ep1", wait=5)
    mailbox.give_back("ep1", first)  # as the server does when the relay's connection broke
    again = mailbox.take("ep1", wait=5)
    assert again is first
    assert mailbox.answer("ep1", again.id, {"status": 200})
    thread.join(timeout=10)
    assert result["answer"][0] == 200
