"""The deliverer: sends the fakes' pending webhook deliveries to the agents' endpoints.

One per sandbox, a thread of the process that runs it (`sandbox up`, the embedded sandbox of
`sandbox run`), like the reaper. Every `poll_s` it looks at the live episodes whose service
databases changed (or that have a retry or a held delivery due) and sends what is pending, oldest
first, signed as the vendor signs it (signing.py). Per attempt:

- the URL is checked again (urls.py): an endpoint can only be the agent's own loopback and never a
  port of the sandbox;
- an agent that runs isolated (the runner marks its ledger before it starts) listens on its
  namespace's loopback, not the host's: posting to the host's 127.0.0.1 would hand a contained agent
  a way to reach host services. Its deliveries go to the mailbox (mailbox.py), which the relay
  inside the namespace polls through the gate, and the relay posts them on the agent's loopback;
- the episode's fault profile acts through its `via: webhook` rules (engine.py's `decide`, with its
  own counters): `latency` holds the delivery, `reorder` holds it until the next one to the same
  endpoint has gone, `duplicate` sends it again, `reset` drops it before the agent answers;
- the attempt and the agent's answer are a `deliveries` row of the episode ledger (outbox.py), each
  fault a `faults` row naming the delivery; a 2xx marks the outbox row delivered, anything else is
  retried as Stripe does (a few times, backing off), then marked failed.

Nothing is lost if the process dies: the outbox row stays pending until an answer is written, and
the next deliverer sends it again (at least once, as the vendors promise). The fault counters are
rebuilt from the ledger's deliveries, so a resumed episode meets the same faults.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.faults.engine import Call, EpisodeFaults, Firing, latency_ms
from sandbox.faults.registry import load_profile
from sandbox.home import Home
from sandbox.webhooks.mailbox import Mailbox, MailboxServer
from sandbox.webhooks.outbox import ensure_deliveries_table
from sandbox.webhooks.signing import slack_signature, stripe_signature
from sandbox.webhooks.urls import EndpointURLError, Target, check_endpoint_url, sandbox_ports

log = logging.getLogger(__name__)

SERVICES = ("payments", "chat")  # the fakes that raise webhook events
POLL_S = 0.05
# The vendors' retries, their count kept and their waits compressed so an episode sees them: Stripe
# test mode retries a failed delivery three times, hours apart; Slack three times, at once, after a
# minute and after five (with X-Slack-Retry-Num and X-Slack-Retry-Reason).
RETRY_WAITS_S = {"stripe": (1.0, 5.0, 25.0), "slack": (0.2, 1.0, 5.0)}
# How long an endpoint may take to answer: Slack documents 3 seconds; Stripe's is longer.
SEND_TIMEOUT_S = {"stripe": 10.0, "slack": 3.0}
VERIFICATION = "url_verification"  # Slack's challenge: no faults, no retries, accepted only if echoed
WORKERS = 8  # episodes sending at once
# Episodes that never had a delivery are looked at every this many rounds (a stat of each of their
# databases): hundreds of idle episodes then cost little, and a first event waits at most ~0.25 s.
DORMANT_EVERY = 5
HOLD_MAX_S = 5.0  # a reordered delivery waits this long for a next one before it goes anyway
MAX_ANSWER_BYTES = 64 * 1024  # what is read of the agent's answer
USER_AGENT = {"stripe": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
              "slack": "Slackbot 1.0 (+https://api.slack.com/robots)"}


@dataclass
class _Held:
    """A delivery decided on and waiting: for its latency, or for the next one to its endpoint."""

    row: sqlite3.Row
    firings: list[Firing]
    not_before: float
    after_next: bool
    since: float


@dataclass
class _EpisodeState:
    episode: Episode
    ledger: Ledger
    dbs: dict[str, sqlite3.Connection]
    faults: EpisodeFaults | None
    clock_start: int
    isolated: bool
    stamps: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    held: dict[tuple[str, int], _Held] = field(default_factory=dict)
    last_sent: dict[tuple[str, str], int] = field(default_factory=dict)  # (service, endpoint) -> newest id sent
    last_reason: dict[tuple[str, int], str] = field(default_factory=dict)  # outbox row -> why it last failed (Slack)
    next_due: dict[str, float] = field(default_factory=dict)  # service -> wall time of its next retry

    def close(self) -> None:
        for conn in self.dbs.values():
            conn.close()
        self.ledger.close()


class Deliverer:
    """`Deliverer(home).start()` ... `.stop()`; `run_once()` for one round (tests, tools)."""

    def __init__(self, home: Home, *, poll_s: float = POLL_S, retry_scale: float = 1.0,
                 hold_max_s: float = HOLD_MAX_S, send_timeout_s: float | None = None,
                 clock: Callable[[], float] = time.time, mailbox_port: int | None = None) -> None:
        """`retry_scale` multiplies the vendors' retry waits (tests shorten them); `send_timeout_s`
        overrides the vendors' answer timeouts. `mailbox_port`: where isolated agents' relays fetch
        their deliveries (mailbox.py); None: no mailbox, and isolated agents get none."""
        self.home = home
        self.poll_s = poll_s
        self.retry_waits = {scheme: tuple(w * retry_scale for w in waits) for scheme, waits in RETRY_WAITS_S.items()}
        self.hold_max_s = hold_max_s
        self.send_timeouts = {scheme: send_timeout_s or limit for scheme, limit in SEND_TIMEOUT_S.items()}
        self.clock = clock
        self._states: dict[str, _EpisodeState] = {}
        self._busy: set[str] = set()  # episodes with a round on a worker now
        self._registry_stamp: tuple[int, ...] | None = None
        self._round = 0
        self._live_episodes: dict[str, Episode] = {}
        self._db_paths: dict[tuple[str, str], str] = {}  # (episode, service) -> its database's path
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="webhook-episode")
        self._dormant: dict[str, tuple[Any, ...]] = {}  # episode -> its databases' stamps when it had no endpoint
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._store: EpisodeStore | None = None
        self.mailbox = Mailbox() if mailbox_port is not None else None
        self._mailbox_server = MailboxServer(home, self.mailbox, mailbox_port) if self.mailbox is not None else None

    @property
    def mailbox_port(self) -> int | None:
        return self._mailbox_server.port if self._mailbox_server is not None else None

    # -- the thread ------------------------------------------------------------------------------

    def start(self) -> Deliverer:
        if self._mailbox_server is not None:
            self._mailbox_server.start()
        self._thread = threading.Thread(target=self._loop, name="webhook-deliverer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(self.send_timeouts.values()) + 5)
            self._thread = None
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._mailbox_server is not None:
            self._mailbox_server.stop()
            self._mailbox_server = None
        for state in self._states.values():
            state.close()
        self._states.clear()
        if self._store is not None:
            self._store.close()
            self._store = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once(wait=False)
            except Exception:  # noqa: BLE001 - one bad round must not end deliveries for every episode
                log.exception("webhook delivery round failed")
            self._stop.wait(self.poll_s)

    # -- one round -------------------------------------------------------------------------------

    def run_once(self, *, wait: bool = True) -> int:
        """Send what is due in every live episode, each episode on a worker of its own at a time (an
        endpoint that takes its full timeout holds up only its own episode). `wait`: until this
        round's sends are done; returns how many attempts they made (0 when not waiting)."""
        live = self._live()
        for gone in set(self._states) - set(live):
            if gone not in self._busy:  # a round still running keeps its state until it ends
                self._states.pop(gone).close()
        for gone in set(self._dormant) - set(live):
            del self._dormant[gone]
        rounds = []
        self._round += 1
        look_at_dormant = self._round % DORMANT_EVERY == 1 or DORMANT_EVERY == 1
        for episode in live.values():
            if episode.id in self._busy:
                continue
            state = self._states.get(episode.id)
            if state is None and look_at_dormant:
                state = self._wake(episode)
            if state is not None:
                self._busy.add(episode.id)
                future = self._pool.submit(self._pump, state)
                future.add_done_callback(lambda done, ep=episode.id: self._finished(ep, done))
                rounds.append(future)
        return sum(f.result() for f in rounds) if wait else 0

    def _live(self) -> dict[str, Episode]:
        """The live episodes: the registry is read again only when its files changed (a round every
        50 ms must cost a sandbox with hundreds of idle episodes next to nothing)."""
        if self._store is None:
            self._store = EpisodeStore(self.home)
        stamp = _stamp(self.home.control_db)
        if stamp != self._registry_stamp:
            self._registry_stamp = stamp
            ids = [row[0] for row in self._store.conn.execute(
                "SELECT id FROM episodes WHERE status='live' ORDER BY created_at")]
            known = self._live_episodes
            self._live_episodes = {i: known.get(i) or self._store.get(i) for i in ids}
            self._live_episodes = {i: ep for i, ep in self._live_episodes.items() if ep is not None}
        return self._live_episodes

    def _finished(self, episode_id: str, done: Future) -> None:
        self._busy.discard(episode_id)
        if not done.cancelled() and done.exception() is not None:
            log.error("webhook delivery for %s failed", episode_id, exc_info=done.exception())

    def _db_path(self, episode_id: str, service: str) -> str:
        key = (episode_id, service)
        path = self._db_paths.get(key)
        if path is None:
            if len(self._db_paths) > 100_000:  # finished episodes' paths: bounded, not worth tracking
                self._db_paths.clear()
            path = self._db_paths[key] = str(self.home.service_db(episode_id, service))
        return path

    def _wake(self, episode: Episode) -> _EpisodeState | None:
        """The episode's delivery state once it has a webhook endpoint. Most episodes never register
        one: they cost a stat per round and hold no file open (a home has hundreds of live episodes)."""
        stamps = tuple(_stamp(self._db_path(episode.id, s)) for s in SERVICES)
        if self._dormant.get(episode.id) == stamps:
            return None
        if not any(_has_outbox_rows(self.home.service_db(episode.id, s)) for s in SERVICES):
            self._dormant[episode.id] = stamps
            return None
        self._dormant.pop(episode.id, None)
        return self._open(episode)

    def _open(self, episode: Episode) -> _EpisodeState:
        dbs = {}
        for service in SERVICES:
            path = self.home.service_db(episode.id, service)
            if path.exists():
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA busy_timeout=10000")
                dbs[service] = conn
        ledger = Ledger(self.home.ledger_path(episode.id))
        ensure_deliveries_table(ledger.conn)
        # A delivery begun but never answered (the process died): it is sent again; say so.
        ledger.conn.execute("UPDATE deliveries SET outcome='error', error=? WHERE outcome='pending'",
                            ("the deliverer stopped before the endpoint answered; the delivery is sent again",))
        meta = ledger.meta()
        faults = _webhook_faults(episode)
        state = _EpisodeState(episode, ledger, dbs, faults, int(meta.get("clock_start", episode.clock_start)),
                              bool(meta.get("agent_isolated")))
        if faults is not None:
            for row in ledger.conn.execute("SELECT service, url, clock FROM deliveries WHERE copy=0 AND"
                                           " event_type != ? ORDER BY id", (VERIFICATION,)):
                faults.decide(_call(row[0], row[1], row[2], state.clock_start))  # the counters as they were
        self._states[episode.id] = state
        return state

    def _pump(self, state: _EpisodeState) -> int:
        now = self.clock()
        sent = 0
        for service, conn in state.dbs.items():
            stamp = _stamp(self._db_path(state.episode.id, service))
            due = 0 < state.next_due.get(service, 0.0) <= now
            if stamp == state.stamps.get(service) and not due and not state.held:
                continue  # nothing new written, no retry due, nothing held: one stat instead of a query
            state.stamps[service] = stamp
            rows = conn.execute(
                "SELECT * FROM _webhook_outbox WHERE state='pending' AND next_attempt_at <= ? ORDER BY id", (now,)
            ).fetchall()
            for row in rows:
                if (service, row["id"]) in state.held:
                    continue
                firings = state.faults.decide(_call(service, row["url"], row["created"], state.clock_start)) \
                    if state.faults is not None and row["event_type"] != VERIFICATION else []
                kinds = {f.rule.action.kind for f in firings}
                delay = sum(latency_ms(f) for f in firings if f.rule.action.kind == "latency") / 1000.0
                if "reorder" in kinds or delay:
                    state.held[(service, row["id"])] = _Held(row, firings, now + delay, "reorder" in kinds, now)
                    continue
                sent += self._attempt(state, service, row, firings)
                sent += self._release(state, service, now)
            sent += self._release(state, service, now)
            pending = conn.execute("SELECT MIN(next_attempt_at) FROM _webhook_outbox WHERE state='pending'"
                                   " AND next_attempt_at > ?", (now,)).fetchone()[0]
            state.next_due[service] = pending or 0.0
        return sent

    def _release(self, state: _EpisodeState, service: str, now: float) -> int:
        """Send held deliveries that may go: once their latency passed and, for a reordered one, once
        a later delivery to its endpoint went (or it waited `hold_max_s` for one that never came)."""
        sent = 0
        released = True
        while released:  # a released delivery may be the later one another held delivery waits for
            released = False
            for key in sorted(k for k in state.held if k[0] == service):
                held = state.held[key]
                if held.not_before > now:
                    continue
                if held.after_next:
                    followed = state.last_sent.get((service, held.row["endpoint_id"]), 0) > key[1]
                    if not followed and now - held.since < self.hold_max_s:
                        continue
                del state.held[key]
                # As it is now: an endpoint deleted or disabled while this one waited has canceled it.
                row = state.dbs[service].execute("SELECT * FROM _webhook_outbox WHERE id=? AND state='pending'",
                                                 (key[1],)).fetchone()
                if row is not None:
                    sent += self._attempt(state, service, row, held.firings)
                released = True
        return sent

    # -- one attempt -----------------------------------------------------------------------------

    def _attempt(self, state: _EpisodeState, service: str, row: sqlite3.Row, firings: list[Firing]) -> int:
        attempt = row["attempts"] + 1
        sent_key = (service, row["endpoint_id"])
        state.last_sent[sent_key] = max(state.last_sent.get(sent_key, 0), row["id"])
        names = [f.rule.name for f in firings]
        kinds = {f.rule.action.kind for f in firings}
        copies = 1 + sum(f.rule.action.params.get("copies", 1) for f in firings if f.rule.action.kind == "duplicate")
        refusal = self._refusal(state, row["url"])
        first_id = None
        accepted, status = False, None
        if refusal is not None:
            first_id = self._write(state, service, row, attempt, 0, [], None, outcome="refused", error=refusal,
                                   faults=names)
        elif "reset" in kinds:
            first_id = self._write(state, service, row, attempt, 0, [], None, outcome="faulted",
                                   error="connection reset before the endpoint answered (injected fault)", faults=names)
        else:
            for copy in range(copies):
                delivery_id, ok, answered = self._send(state, service, row, attempt, copy, names)
                if copy == 0:  # the delivery itself decides; a duplicate's answer is only in the ledger
                    first_id, accepted, status = delivery_id, ok, answered
        for firing in firings:
            detail = {"rule_index": firing.rule.index, "call": firing.n, "delivery": first_id,
                      "event": row["event_id"], "event_type": row["event_type"], "url": row["url"]}
            if firing.rule.action.kind == "latency":
                detail["delay_ms"] = latency_ms(firing)
            if firing.rule.action.kind == "duplicate":
                detail["copies"] = copies - 1
            state.ledger.record_fault(None, firing.rule.name, firing.rule.action.kind, detail)
        self._settle(state, service, row, attempt, accepted, status, final=refusal is not None)
        return 1

    def _refusal(self, state: _EpisodeState, url: str) -> str | None:
        if state.isolated and self.mailbox is None:
            return ("the agent runs isolated in its own network namespace: its loopback is not the host's, and"
                    " this deliverer has no mailbox for the namespace's relay (Deliverer(mailbox_port=...))")
        try:
            check_endpoint_url(url, sandbox_ports(self.home.ports_file))
        except EndpointURLError as exc:
            return f"refused: {exc}"
        return None

    def _send(self, state: _EpisodeState, service: str, row: sqlite3.Row, attempt: int, copy: int,
              faults: list[str]) -> tuple[int, bool, int | None]:
        """Send one copy; (its deliveries row, accepted?, the status the endpoint answered)."""
        target = check_endpoint_url(row["url"])
        body = bytes(row["body"])
        headers = [("Host", target.host_header), ("User-Agent", USER_AGENT[row["scheme"]]),
                   *_signed(row, body, int(self.clock()), attempt, state.last_reason.get((service, row["id"])))]
        timeout = self.send_timeouts[row["scheme"]]
        delivery_id = self._write(state, service, row, attempt, copy, headers, body, outcome="pending", faults=faults)
        started = time.monotonic()
        if state.isolated and self.mailbox is not None:
            # Never the host's loopback: the relay in the agent's namespace posts it there, on the agent's own.
            status, answer_headers, answer, error = self.mailbox.exchange(
                state.episode.id, target.address, target.port, target.path, headers, body, timeout)
        else:
            status, answer_headers, answer, error = _post(target, headers, body, timeout)
        outcome = "delivered" if status is not None and 200 <= status < 300 else "failed"
        if status is None:
            state.last_reason[(service, row["id"])] = "http_timeout" if "timed out" in (error or "") \
                else "connection_failed"
        else:
            state.last_reason[(service, row["id"])] = "http_error"
        if row["event_type"] == VERIFICATION and outcome == "delivered" and not _echoes(answer, body):
            outcome, error = "failed", "the answer did not echo the url_verification challenge"
        redact = state.ledger.redactor.text if state.ledger.redactor is not None else (lambda s: s)
        kept = redact(answer.decode("utf-8", "replace")).encode() if answer else answer
        state.ledger.conn.execute(
            "UPDATE deliveries SET status=?, response_headers=?, response_body=?, error=?, outcome=?, duration_ms=?"
            " WHERE id=?",
            (status, json.dumps(answer_headers), kept, error, outcome, round((time.monotonic() - started) * 1000, 3),
             delivery_id),
        )
        return delivery_id, outcome == "delivered", status

    def _write(self, state: _EpisodeState, service: str, row: sqlite3.Row, attempt: int, copy: int,
               headers: list[tuple[str, str]], body: bytes | None, *, outcome: str, error: str | None = None,
               faults: list[str]) -> int:
        redact = state.ledger.redactor.text if state.ledger.redactor is not None else (lambda s: s)
        kept = redact(body[: state.ledger.body_cap].decode("utf-8", "replace")).encode() if body else None
        cur = state.ledger.conn.execute(
            "INSERT INTO deliveries (service, outbox_id, event_id, event_type, endpoint_id, attempt, copy, url,"
            " request_headers, request_body, outcome, error, faults, clock, started_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (service, row["id"], row["event_id"], row["event_type"], row["endpoint_id"], attempt, copy, row["url"],
             json.dumps(headers), kept, outcome, error, json.dumps(faults), row["created"], time.time()),
        )
        return int(cur.lastrowid)

    def _settle(self, state: _EpisodeState, service: str, row: sqlite3.Row, attempt: int, accepted: bool,
                status: int | None, *, final: bool) -> None:
        """The outbox row after an attempt: delivered if accepted (a 2xx; for Slack's challenge, its echo);
        else retried after the vendor's next wait, or failed."""
        conn = state.dbs[service]
        waits = self.retry_waits[row["scheme"]]
        if accepted:
            new_state, next_at = "delivered", 0.0
        elif final or attempt > len(waits) or row["event_type"] == VERIFICATION:
            new_state, next_at = "failed", 0.0
        else:
            new_state, next_at = "pending", self.clock() + waits[attempt - 1]
        # Only a row still pending: an endpoint deleted meanwhile has canceled it.
        conn.execute("UPDATE _webhook_outbox SET state=?, attempts=?, next_attempt_at=?, last_status=?"
                     " WHERE id=? AND state='pending'", (new_state, attempt, next_at, status, row["id"]))


def _signed(row: sqlite3.Row, body: bytes, timestamp: int, attempt: int, last_reason: str | None
            ) -> list[tuple[str, str]]:
    """The vendor's content and signature headers (and Slack's retry headers) for one attempt."""
    if row["scheme"] == "slack":
        headers = [("Content-Type", "application/json"), ("Accept", "*/*"),
                   ("X-Slack-Request-Timestamp", str(timestamp)),
                   ("X-Slack-Signature", slack_signature(row["secret"], body, timestamp))]
        if attempt > 1:
            headers += [("X-Slack-Retry-Num", str(attempt - 1)),
                        ("X-Slack-Retry-Reason", last_reason or "connection_failed")]
        return headers
    return [("Content-Type", "application/json; charset=utf-8"), ("Accept", "*/*; q=0.5, application/xml"),
            ("Cache-Control", "no-cache"), ("Stripe-Signature", stripe_signature(row["secret"], body, timestamp))]


def _echoes(answer: bytes, body: bytes) -> bool:
    """Did the endpoint answer Slack's challenge with it (as JSON, plain text or a form)?"""
    challenge = json.loads(body)["challenge"]
    text = answer.decode("utf-8", "replace").strip()
    if text == challenge or text == f"challenge={challenge}":
        return True
    try:
        parsed = json.loads(text)
    except ValueError:
        return False
    return isinstance(parsed, dict) and parsed.get("challenge") == challenge


def _post(target: Target, headers: list[tuple[str, str]], body: bytes, timeout: float
          ) -> tuple[int | None, list[tuple[str, str]], bytes, str | None]:
    """POST `body` to the agent's endpoint; (status, headers, the answer's first bytes, error)."""
    conn = http.client.HTTPConnection(target.address, target.port, timeout=timeout)
    try:
        conn.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        answer = response.read(MAX_ANSWER_BYTES)
        return response.status, list(response.getheaders()), answer, None
    except (OSError, http.client.HTTPException) as exc:
        return None, [], b"", f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


def _call(service: str, url: str, clock: int, clock_start: int) -> Call:
    parts = urlsplit(url)
    return Call(host=(parts.hostname or ""), method="POST", path=parts.path or "/", service=service,
                clock_s=float(clock - clock_start), via="webhook")


def _webhook_faults(episode: Episode) -> EpisodeFaults | None:
    """The episode's profile, for its `via: webhook` rules (None without a profile or without such rules)."""
    if not episode.faults:
        return None
    try:
        profile = load_profile(episode.faults)
    except Exception:  # noqa: BLE001 - validated when the episode was made; a file changed since is logged
        log.exception("episode %s: fault profile %s does not load; webhooks go without faults", episode.id,
                      episode.faults)
        return None
    if not any(rule.match.via == "webhook" for rule in profile.rules):
        return None
    return EpisodeFaults(profile, episode.fault_seed)


def _has_outbox_rows(path: Path) -> bool:
    """Has this service database ever had a delivery to make (the agent registered an endpoint and an
    event followed)?"""
    if not path.exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return False
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name='_webhook_outbox'").fetchone() is None:
            return False
        return conn.execute("SELECT 1 FROM _webhook_outbox LIMIT 1").fetchone() is not None
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def _stamp(path: Path | str) -> tuple[int, ...]:
    """What changes when a database is written (the WAL grows or is checkpointed into the file)."""
    stats: list[int] = []
    for name in (str(path), f"{path}-wal"):
        try:
            st = os.stat(name)
            stats += [st.st_mtime_ns, st.st_size]
        except OSError:
            stats += [0, 0]
    return tuple(stats)


def payload_of(delivery: dict[str, Any]) -> dict[str, Any]:
    """The event a delivery row carried (its request body), parsed."""
    return json.loads(delivery["request_body"])
