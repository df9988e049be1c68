"""The reaper finishes and scores episodes past the home's lifetime or idle limits, and says so in
their ledgers; the proxy refuses an episode past its lifetime before the reaper gets to it.
Real homes, real ledgers; `now` is injected instead of waiting hours."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from sandbox.episodes.reaper import Reaper, reap
from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home
from sandbox.limits import Limits, save_limits
from sandbox.run.runner import attach_task
from sandbox.tasks import load_task

TASK = "refund-duplicate-charge"


def _task_episode(store: EpisodeStore) -> Episode:
    task = load_task(TASK)
    episode = store.create(task.seed, task=task.id)
    attach_task(store, episode, task)
    return episode


def _events(store: EpisodeStore, episode: Episode) -> list[dict]:
    with store.ledger(episode.id) as ledger:
        return ledger.events()


def test_an_episode_past_its_lifetime_is_finished_scored_and_says_why(store, sandbox_home):
    save_limits(sandbox_home, Limits(episode_lifetime_seconds=60, idle_seconds=10_000))
    episode = _task_episode(store)
    born = episode.created_at
    assert reap(sandbox_home, now=born + 59) == []
    (reaped,) = reap(sandbox_home, now=born + 61)
    assert (reaped.episode, reaped.reason, reaped.success, reaped.error) == (episode.id, "lifetime", False, None)
    assert reaped.detail["limit"] == "episode_lifetime_seconds" and reaped.detail["live_seconds"] == 61
    assert not store.require(episode.id).live
    events = _events(store, episode)
    kinds = [e["kind"] for e in events]
    assert kinds.index("reaped") < kinds.index("finished")  # the why comes before the finish
    why = next(e for e in events if e["kind"] == "reaped")["detail"]
    assert why == {"reason": "lifetime", "live_seconds": 61, "limit": "episode_lifetime_seconds",
                   "limit_seconds": 60.0}
    assert next(e for e in events if e["kind"] == "finished")["detail"]["reaped"] == "lifetime"
    with store.ledger(episode.id) as ledger:
        (score,) = ledger.scores()  # scored like any finished episode (the agent did nothing: a FAIL)
        assert score["task"] == TASK and not score["success"]
        assert ("episode reaped (lifetime: past the home's episode_lifetime_seconds), finished and scored as it "
                "stood") in score["reasons"]
    assert reap(sandbox_home, now=born + 1000) == []  # finished episodes are left alone


def test_idleness_counts_from_the_last_exchange_else_from_creation(store, sandbox_home):
    save_limits(sandbox_home, Limits(idle_seconds=100))
    quiet, busy = store.create(7), store.create(7)
    with store.ledger(busy.id) as ledger:
        exchange = ledger.begin_exchange(via="proxy", method="GET", scheme="https", host="api.stripe.com",
                                         port=443, path="/v1/customers")
        ledger.conn.execute("UPDATE exchanges SET started_at=? WHERE id=?", (busy.created_at + 80, exchange))
    reaped = reap(sandbox_home, now=busy.created_at + 150)
    assert [(r.episode, r.reason, r.success) for r in reaped] == [(quiet.id, "idle", None)]  # no task, no score
    assert reaped[0].detail["idle_seconds"] >= 100
    assert store.require(busy.id).live  # 70 s since its last exchange
    (why,) = [e["detail"] for e in _events(store, quiet) if e["kind"] == "reaped"]
    assert why["reason"] == "idle" and why["limit"] == "idle_seconds" and why["limit_seconds"] == 100
    assert [r.episode for r in reap(sandbox_home, now=busy.created_at + 181)] == [busy.id]


def test_an_episode_that_cannot_be_finished_leaves_the_live_set_with_a_row(store, sandbox_home):
    save_limits(sandbox_home, Limits(episode_lifetime_seconds=1))
    broken, fine = store.create(7), store.create(7)
    shutil.rmtree(sandbox_home.episode_dir(broken.id))  # its ledger is gone: nothing to finish it in
    reaped = {r.episode: r for r in reap(sandbox_home, now=time.time() + 5)}
    assert set(reaped) == {broken.id, fine.id}
    assert reaped[broken.id].error and "LedgerError" in reaped[broken.id].error and reaped[fine.id].error is None
    assert store.live_count() == 0  # the broken one no longer holds a slot, and the proxy refuses it
    (row,) = store.events("reap_failed")
    assert row["detail"]["episode"] == broken.id and row["detail"]["reason"] == "lifetime"


def test_the_reaper_thread_reaps_and_logs(sandbox_home, tmp_path):
    save_limits(sandbox_home, Limits(episode_lifetime_seconds=30))
    store = EpisodeStore(sandbox_home)
    try:
        episode = store.create(7)
        store.conn.execute("UPDATE episodes SET created_at = created_at - 31 WHERE id=?", (episode.id,))
        log = tmp_path / "reaper.log"
        reaper = Reaper(sandbox_home, every=0.05, log=log).start()
        try:
            deadline = time.monotonic() + 10
            while store.require(episode.id).live and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            reaper.stop()
        assert not reaper.is_alive() and not store.require(episode.id).live
        assert f"reaped {episode.id} (lifetime" in log.read_text()
    finally:
        store.close()


def test_the_proxy_refuses_an_episode_past_its_lifetime_at_once(sandbox_home):
    from sandbox.proxy.episode import EpisodeDirectory, EpisodeIdentity

    save_limits(sandbox_home, Limits(episode_lifetime_seconds=60))
    directory = EpisodeDirectory(sandbox_home, ttl=0)
    try:
        identity = EpisodeIdentity(directory)
        episode = directory.store.create(7)
        assert identity.check((episode.id, episode.token)) == (episode, None)
        directory.store.conn.execute("UPDATE episodes SET created_at = created_at - 61 WHERE id=?", (episode.id,))
        found, refusal = identity.check((episode.id, episode.token))
        assert found is None and refusal.status_code == 407
        error = json.loads(refusal.content)["error"]
        assert error["code"] == "episode_expired" and "60 s" in error["message"]
        assert "--episode-lifetime" in error["hint"]
        assert directory.store.require(episode.id).live  # refused before the reaper finished it
    finally:
        directory.close()


@pytest.mark.slow
def test_every_embedded_sandbox_runs_a_reaper(running_sandbox):
    assert running_sandbox._reaper is not None and running_sandbox._reaper.is_alive()


def test_sandbox_up_writes_its_limit_flags_to_the_home(tmp_path):
    import socket

    from click.testing import CliRunner

    from sandbox.cli import main
    from sandbox.limits import load_limits

    home = Home.resolve(tmp_path / "home")
    save_limits(home, Limits(idle_seconds=77))
    with socket.socket() as busy:  # `up` then stops at its port check, after writing the limits
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = CliRunner().invoke(main, ["--home", str(home.root), "up", "--proxy-port", str(busy.getsockname()[1]),
                                           "--max-live-episodes", "9", "--episode-lifetime", "120.5"])
    assert result.exit_code == 2 and "already in use" in result.output
    assert load_limits(home) == Limits(max_live_episodes=9, episode_lifetime_seconds=120.5, idle_seconds=77)
    refused = CliRunner().invoke(main, ["--home", str(home.root), "up", "--idle-timeout", "0"])
    assert refused.exit_code == 2 and "--idle-timeout" in refused.output
