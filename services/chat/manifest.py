"""apps.manifest.update / apps.manifest.create: where the app's Events API subscription is set.

On Slack an app's manifest names its request URL (`settings.event_subscriptions.request_url`) and
the events it wants (`bot_events`). Setting a URL makes Slack POST `{"type": "url_verification",
"challenge": ...}` to it, and the URL is accepted only if the answer echoes the challenge. Here the
challenge is an outbox row like any delivery (the fake never connects to an agent itself: the
host-side deliverer does, and reaches isolated agents through their relay); the method waits for
the deliverer's verdict and answers `ok`, or `invalid_manifest` with the reason, as Slack does.

Differences from Slack, on purpose: the episode's bot token is accepted (Slack wants an app
configuration token, which an agent here is not given); the workspace has one app, the bot's, so
`create` configures that app and answers with its id and credentials. The signing secret is
derived from the seed and given to the agent as SLACK_SIGNING_SECRET; the request URL must be the
agent's own loopback (sandbox/webhooks/urls.py).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g

from sandbox.clock import episode_time, stable_token
from sandbox.webhooks.urls import EndpointURLError, check_endpoint_url, sandbox_ports
from services.chat.errors import SlackError
from services.chat.events import BOT_EVENTS
from services.chat.params import request_args
from services.chat.store import workspace
from services.chat.wire import ok
from services.common.db import next_counter, write_transaction

bp = Blueprint("manifest", __name__)

VERIFY_WAIT_S = 8.0  # how long the method waits for the request URL's answer to the challenge
URL_POINTER = "/settings/event_subscriptions/request_url"


def init_app(app: Flask, ports_file: Any) -> None:
    app.config["SANDBOX_PORTS_FILE"] = ports_file


def signing_secret(seed: int) -> str:
    """The app's signing secret (32 hex characters, as Slack's), from the seed."""
    return hashlib.sha256(f"slack-signing-secret\x1f{seed}".encode()).hexdigest()[:32]


def verification_token(seed: int) -> str:
    """The app's (deprecated) verification token, sent in every payload's `token`."""
    return stable_token("slack-verification-token", seed, length=24)


def _invalid(message: str, pointer: str = "/") -> SlackError:
    return SlackError("invalid_manifest", errors=[{"message": message, "pointer": pointer}])


def _parse(raw: str | None) -> dict[str, Any]:
    if raw is None:
        raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: manifest"])
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise _invalid("the manifest is not valid JSON (send it as a JSON string)") from None
    if not isinstance(manifest, dict):
        raise _invalid("the manifest must be a JSON object")
    return manifest


def _subscription(manifest: dict[str, Any]) -> tuple[str | None, list[str]]:
    settings = manifest.get("settings") or {}
    events = settings.get("event_subscriptions") if isinstance(settings, dict) else None
    if events is None:
        return None, []
    if not isinstance(events, dict):
        raise _invalid("event_subscriptions must be an object", "/settings/event_subscriptions")
    url = events.get("request_url")
    bot_events = events.get("bot_events") or []
    if not isinstance(bot_events, list) or not all(isinstance(e, str) for e in bot_events):
        raise _invalid("bot_events must be a list of event names", "/settings/event_subscriptions/bot_events")
    for i, name in enumerate(bot_events):
        if name not in BOT_EVENTS:
            raise _invalid(f"unknown event {name!r}: the sandbox raises {', '.join(BOT_EVENTS)}",
                           f"/settings/event_subscriptions/bot_events/{i}")
    if url is not None:
        try:
            check_endpoint_url(url, sandbox_ports(current_app.config["SANDBOX_PORTS_FILE"]))
        except EndpointURLError as exc:
            raise _invalid(f"Invalid request URL: {exc}", URL_POINTER) from None
    return url, sorted(set(bot_events))


def _verify(url: str) -> str | None:
    """Send the url_verification challenge through the outbox and wait for the verdict; None when
    the URL echoed it, else why not."""
    seed = g.episode.seed
    with write_transaction(g.db) as conn:
        n = next_counter(conn, "challenge")
        challenge = stable_token("slack-challenge", seed, n, length=48)
        body = json.dumps({"token": verification_token(seed), "challenge": challenge, "type": "url_verification"},
                          separators=(",", ":")).encode()
        cur = conn.execute(
            "INSERT INTO _webhook_outbox (event_id, event_type, endpoint_id, url, scheme, secret, body, created)"
            " VALUES (?, 'url_verification', ?, ?, 'slack', ?, ?, ?)",
            (f"challenge-{n}", workspace().app_id, url, signing_secret(seed), body,
             episode_time(g.exchange_id or 0, g.episode.clock_start)),
        )
        row_id = cur.lastrowid
    end = time.monotonic() + VERIFY_WAIT_S
    while time.monotonic() < end:
        state = g.db.execute("SELECT state FROM _webhook_outbox WHERE id=?", (row_id,)).fetchone()[0]
        if state == "delivered":
            return None
        if state == "failed":
            break
        time.sleep(0.02)
    else:
        g.db.execute("UPDATE _webhook_outbox SET state='canceled' WHERE id=? AND state='pending'", (row_id,))
        return "Your URL didn't respond in time (is your server listening, and is the sandbox's deliverer up?)."
    return "Your URL didn't respond with the value of the challenge parameter."


def _configure(manifest: dict[str, Any]) -> None:
    url, bot_events = _subscription(manifest)
    if url is not None:
        why = _verify(url)
        if why is not None:
            raise _invalid(why, URL_POINTER)
    app_id = workspace().app_id
    with write_transaction(g.db) as conn:
        now = episode_time(g.exchange_id or 0, g.episode.clock_start)
        conn.execute(
            "INSERT INTO event_subscriptions (id, request_url, bot_events, verified, manifest, updated)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET request_url=excluded.request_url,"
            " bot_events=excluded.bot_events, verified=excluded.verified, manifest=excluded.manifest,"
            " updated=excluded.updated",
            (app_id, url, json.dumps(bot_events), int(url is not None), json.dumps(manifest, sort_keys=True), now),
        )


@bp.route("/api/apps.manifest.update", methods=["GET", "POST"])
def update() -> Response:
    """Updates the app's manifest: its request URL is verified by the challenge first."""
    args = request_args()
    app_id = args.string("app_id", required=True)
    if app_id != workspace().app_id:
        raise SlackError("invalid_app_id")
    _configure(_parse(args.string("manifest")))
    return ok({"app_id": app_id, "permissions_updated": False})


@bp.route("/api/apps.manifest.create", methods=["GET", "POST"])
def create() -> Response:
    """Configures the workspace's one app from a manifest; answers with its id and credentials."""
    args = request_args()
    _configure(_parse(args.string("manifest")))
    w = workspace()
    seed = g.episode.seed
    return ok({
        "app_id": w.app_id,
        "credentials": {"client_id": f"{w.id[1:]}.{stable_token('client-id', seed, length=13)}",
                        "client_secret": stable_token("client-secret", seed, length=32),
                        "verification_token": verification_token(seed),
                        "signing_secret": signing_secret(seed)},
        "oauth_authorize_url": f"https://slack.com/oauth/v2/authorize?client_id={w.id[1:]}",
    })
