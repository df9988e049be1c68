"""The reaper: finishes and scores the episodes that outlived their home's limits.

An episode left live forever holds a folder of databases and a slot of `max_live_episodes`; a
hostile or stuck agent (or an operator who forgot it) would do that. So an episode live for longer
than `episode_lifetime_seconds`, or without an exchange for `idle_seconds` (since its last
exchange began, else since its creation), is finished and scored like any other: its ledger gets a
`reaped` event saying which limit and by how much, then the usual `finished` event and score. It
is never dropped silently. An episode the reaper cannot finish (its folder deleted, its ledger
broken) is still taken out of the live set, and control.db's `events` says why (`reap_failed`).

`reap(home)` does one round; `Reaper` runs rounds in a thread, which `sandbox up` (and every
embedded `Sandbox`) starts. The proxy does not wait for it: it refuses traffic for an episode past
its lifetime as soon as the lifetime ends (407 `episode_expired`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home
from sandbox.limits import Limits, load_limits

DEFAULT_EVERY = 30.0  # seconds between rounds, as `sandbox up` runs them (supervisor.REAP_EVERY)


@dataclass(frozen=True)
class Reaped:
    """One episode the reaper finished: why, and its score if it has a task (or the error)."""

    episode: str
    reason: str  # lifetime | idle
    detail: dict[str, Any] = field(default_factory=dict)
    success: bool | None = None  # the score's verdict; None without a task or when finishing failed
    error: str | None = None


def last_activity(home: Home, episode: Episode) -> float:
    """When the episode last did something: its latest exchange's start, else its creation."""
    try:
        conn = sqlite3.connect(home.ledger_path(episode.id), timeout=10)
        try:
            row = conn.execute("SELECT MAX(started_at) FROM exchanges").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return episode.created_at  # a missing or broken ledger: finishing it will say what is wrong
    return max(episode.created_at, row[0] or 0.0)


def overdue(home: Home, episode: Episode, limits: Limits, now: float) -> tuple[str, dict[str, Any]] | None:
    """(reason, detail) if `episode` is past its lifetime or idle for too long at `now`, else None."""
    age = now - episode.created_at
    if age >= limits.episode_lifetime_seconds:
        return "lifetime", {"live_seconds": round(age, 3), "limit": "episode_lifetime_seconds",
                            "limit_seconds": limits.episode_lifetime_seconds}
    idle = now - last_activity(home, episode)
    if idle >= limits.idle_seconds:
        return "idle", {"idle_seconds": round(idle, 3), "limit": "idle_seconds",
                        "limit_seconds": limits.idle_seconds}
    return None


def reap(home: Home, now: float | None = None) -> list[Reaped]:
    """One round: finish and score every live episode of `home` that is overdue at `now` (default:
    the wall clock). Returns what it reaped; one episode failing does not stop the others."""
    from sandbox.run.runner import finish_and_score  # runner imports the world of scoring; load it only here

    limits = load_limits(home)  # every round: a new limits.json applies within one round
    now = time.time() if now is None else now
    reaped: list[Reaped] = []
    store = EpisodeStore(home)
    try:
        for episode in store.live_episodes():
            due = overdue(home, episode, limits, now)
            if due is None:
                continue
            reason, detail = due
            try:
                with store.ledger(episode.id) as ledger:
                    ledger.record_event("reaped", {"reason": reason, **detail})
                _, score = finish_and_score(store, episode.id, {"reaped": reason})
                reaped.append(Reaped(episode.id, reason, detail, score.success if score else None))
            except Exception as exc:  # a broken episode must not keep the others live
                error = f"{type(exc).__name__}: {exc}"
                with contextlib.suppress(Exception):
                    store.mark_finished(episode.id)  # out of the live set, refused by the proxy
                store.record_event("reap_failed", {"episode": episode.id, "reason": reason, "error": error,
                                                   "traceback": traceback.format_exc(), **detail})
                reaped.append(Reaped(episode.id, reason, detail, None, error))
    finally:
        store.close()
    return reaped


class Reaper:
    """Runs `reap(home)` every `every` seconds in a daemon thread until `stop()`. What it reaps and
    any round that fails go to `log` (the supervisor's `<home>/run/reaper.log`): a failed round is
    retried at the next one, never allowed to end the thread."""

    def __init__(self, home: Home, every: float = DEFAULT_EVERY, log: Path | None = None) -> None:
        self.home = home
        self.every = every
        self.log = log
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sandbox-reaper", daemon=True)

    def start(self) -> Reaper:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the current round (a round finishing and scoring is not cut short)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                for item in reap(self.home):
                    verdict = item.error or ("no task" if item.success is None else
                                             "PASS" if item.success else "FAIL")
                    self._write(f"reaped {item.episode} ({item.reason}: {item.detail}): {verdict}")
            except Exception:
                self._write(f"reaper round failed:\n{traceback.format_exc()}")
            self.rounds += 1

    def _write(self, line: str) -> None:
        if self.log is None:
            return
        with contextlib.suppress(OSError), self.log.open("a") as f:
            f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")
