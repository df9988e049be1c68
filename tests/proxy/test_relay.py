"""The dribble relay, through the real proxy and a real fake: a client of a dribbling episode may
make any number of calls on one kept-alive connection."""

from __future__ import annotations

import json

import pytest

from sandbox.episodes.store import EpisodeStore
from tests.proxy.keepalive import KeepAlive

pytestmark = pytest.mark.slow


def test_more_than_five_calls_on_one_connection_of_a_dribbling_episode(running_sandbox, tmp_path):
    # mitmproxy keeps at most five upstream connections per address for a client, and never reuses
    # one to the relay: before the relay closed each after its answer, the sixth call hung.
    profile = tmp_path / "dribble.yaml"
    profile.write_text("name: drip\nseed: 1\nrules:\n  - name: drip\n    match: {path: /v1/charges, nth: 2}\n"
                       "    action: {kind: dribble, chunk_bytes: 64, interval_ms: 1}\n")
    store = EpisodeStore(running_sandbox.home)
    try:
        episode = store.create(7, faults=str(profile))
    finally:
        store.close()
    client = KeepAlive(running_sandbox.ports["proxy"], episode.id, episode.token, running_sandbox.home.ca_cert)
    auth = [("Authorization", f"Bearer {episode.api_keys['payments']}")]
    try:
        answers = [client.send("GET", "https://api.stripe.com/v1/charges?limit=2", auth) for _ in range(8)]
    finally:
        client.close()
    assert [a.status for a in answers] == [200] * 8
    assert len({a.body for a in answers}) == 1 and json.loads(answers[1].body)["object"] == "list"
    assert client.opened == 1
    with EpisodeStore(running_sandbox.home).ledger(episode.id) as ledger:
        assert [f["action"] for f in ledger.faults()] == ["dribble"]
