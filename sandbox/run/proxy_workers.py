"""The proxy as N worker processes on one port, kept running by the supervisor.

One mitmproxy process is one event-loop thread: it tops out at one core (bench/bench_proxy.py).
`sandbox up --proxy-workers N` starts N of them on the same listen port with SO_REUSEPORT
(sandbox.proxy.reuseport); the Linux kernel hands each new connection to one of them. Any worker
serves any episode: what decides an episode's traffic (fault counters, replay position, ledger
numbering) is in the episode's ledger, not in a worker (sandbox.proxy.shared).

- Ready: each worker prints `proxy listening on HOST:PORT` in its own log (`run/proxy-<i>.log`)
  when it accepts connections; the pool is ready when every worker has, since a connect to the
  shared port succeeds as soon as the first one listens. A worker's health answer
  (`/_sandbox/health`) names it (`worker`, `pid`).
- A worker that dies is started again (its in-flight calls are lost: the agent sees a dropped
  connection, and their exchanges are closed as errors when the episode finishes). Each restart is
  a home event and an event in every live episode's ledger (`proxy_worker_restarted`). A worker that
  dies more than RESTART_LIMIT times in RESTART_WINDOW_S seconds is not started again: the pool is
  failed, `sandbox up` stops with the worker's log, and the events say `proxy_worker_given_up`.
- Stop: every worker gets SIGTERM (ledgers closed), SIGKILL after 10 s, as every child.

Linux only: elsewhere N > 1 falls back to one worker with a message saying why.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from sandbox.home import Home
from sandbox.proxy.reuseport import reuse_port_supported

logger = logging.getLogger(__name__)

MAX_DEFAULT_WORKERS = 8  # beyond this the fakes, not the proxy, are the bottleneck on one machine
RESTART_LIMIT = 5
RESTART_WINDOW_S = 60.0
WATCH_EVERY_S = 0.2
READY_LINE = b"proxy listening on "


def default_proxy_workers() -> int:
    """One worker per core this process may run on (at most MAX_DEFAULT_WORKERS); 1 where workers
    cannot share a port."""
    if reuse_port_supported() is not None:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_WORKERS))


def usable_proxy_workers(requested: int) -> tuple[int, str | None]:
    """(workers to start, a message if fewer than asked): N > 1 needs SO_REUSEPORT (Linux)."""
    if requested < 1:
        raise ValueError(f"proxy workers must be 1 or more, not {requested}")
    reason = reuse_port_supported() if requested > 1 else None
    if reason is None:
        return requested, None
    return 1, (f"sandbox: running 1 proxy worker, not {requested}: {reason}. "
               "Throughput is one core's; use Linux for more (sandbox up --proxy-workers).")


def worker_argv(argv: list[str], index: int, count: int) -> list[str]:
    """The proxy command line for worker `index` of `count` (a lone proxy keeps its own)."""
    return argv if count == 1 else [*argv, "--worker", str(index)]


def worker_log(home: Home, index: int, count: int) -> Path:
    return home.run_dir / ("proxy.log" if count == 1 else f"proxy-{index}.log")


class ReadyLine:
    """Has the worker said `proxy listening on` in its log since `mark()`? (Its readiness: the shared
    port is open as soon as any one worker listens.)"""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.offset = 0

    def mark(self) -> None:
        try:
            self.offset = self.log.stat().st_size
        except FileNotFoundError:
            self.offset = 0

    def __call__(self) -> bool:
        try:
            with open(self.log, "rb") as f:
                f.seek(self.offset)
                return READY_LINE in f.read()
        except FileNotFoundError:
            return False


class Restarts:
    """Restarts the dead workers of a pool from a watcher thread, RESTART_LIMIT per RESTART_WINDOW_S each.

    `children`: the workers (the supervisor's `_Child`s, whose `proc` this replaces on a restart);
    `launch(child)`: start one and wait until it is ready (raises if it cannot); `note(kind, detail)`:
    record an event (home and live episodes)."""

    def __init__(self, children: list, launch: Callable[[object], None],
                 note: Callable[[str, dict], None]) -> None:
        self.children = children
        self.launch = launch
        self.note = note
        self.failed: str | None = None  # why the pool gave up, once it has
        self._deaths: dict[str, deque[float]] = {child.name: deque() for child in children}
        self._stop = threading.Event()
        self._lock = threading.Lock()  # a restart and a stop never overlap
        self._thread: threading.Thread | None = None

    def start(self) -> Restarts:
        self._thread = threading.Thread(target=self._watch, name="sandbox-proxy-workers", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Restart nothing from now on (returns once a restart under way has ended)."""
        self._stop.set()
        with self._lock:
            pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_EVERY_S):
            for child in self.children:
                if self.failed is not None:
                    return
                if child.proc is not None and child.proc.poll() is not None:
                    with self._lock:
                        if not self._stop.is_set():
                            self._restart(child)

    def _restart(self, child) -> None:
        status = child.proc.returncode
        now = time.monotonic()
        deaths = self._deaths[child.name]
        deaths.append(now)
        while deaths and now - deaths[0] > RESTART_WINDOW_S:
            deaths.popleft()
        detail = {"worker": child.name, "exit_status": status, "pid": child.proc.pid,
                  "deaths_in_window": len(deaths), "window_s": RESTART_WINDOW_S}
        if len(deaths) > RESTART_LIMIT:
            self.failed = (f"{child.name} died {len(deaths)} times in {RESTART_WINDOW_S:g} s (last exit status "
                           f"{status}); not restarting it. Its log: {child.log}")
            self.note("proxy_worker_given_up", {**detail, "limit": RESTART_LIMIT})
            return
        sys.stderr.write(f"sandbox: {child.name} exited ({status}); restarting it\n")
        try:
            self.launch(child)
        except Exception as exc:  # could not start again: counted as a death, tried again on the next round
            logger.error("restarting %s failed: %s", child.name, exc)
            if child.proc is not None and child.proc.poll() is None:  # started but never ready: not kept half-up
                child.proc.kill()
                child.proc.wait()
            self.note("proxy_worker_restart_failed", {**detail, "error": str(exc)})
            return
        self.note("proxy_worker_restarted", {**detail, "new_pid": child.proc.pid})


def note_everywhere(home: Home) -> Callable[[str, dict], None]:
    """An event writer for the pool: the home's events, and the ledger of every live episode (whose
    calls the worker may have been carrying when it died)."""

    def note(kind: str, detail: dict) -> None:
        from sandbox.episodes.store import EpisodeStore

        try:
            store = EpisodeStore(home)
        except Exception as exc:  # the home is gone or broken: the supervisor's stderr still says it
            logger.error("cannot record %s: %s", kind, exc)
            return
        try:
            store.record_event(kind, detail)
            for episode in store.live_episodes():
                try:
                    with store.ledger(episode.id) as ledger:
                        ledger.record_event(kind, detail)
                except Exception as exc:  # one unwritable ledger must not hide the event from the rest
                    logger.error("cannot record %s in the ledger of %s: %s", kind, episode.id, exc)
        finally:
            store.close()

    return note
