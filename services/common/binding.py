"""Bind every request of a fake to its episode: database, ledger, exchange id.

Two ways in:
- through the proxy, which sends `X-Sandbox-Episode`, `X-Sandbox-Exchange` and the home's proxy
  secret; the proxy has already written the exchange to the ledger;
- directly by base URL (`api_base` override), where the API key names the episode and the fake
  writes the exchange to the ledger itself (`via = 'direct'`).

Either way, the row changes a request makes are copied into the ledger before its response leaves.
Routes under `/_sandbox/` are the sandbox's own (health, OpenAPI) and are not bound.
"""

from __future__ import annotations

import hmac
import io
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, g, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home, proxy_secret
from sandbox.limits import load_limits
from services.common.db import ExchangeContext, open_service_db, sync_changes

EPISODE_HEADER = "X-Sandbox-Episode"
EXCHANGE_HEADER = "X-Sandbox-Exchange"
SECRET_HEADER = "X-Sandbox-Proxy-Secret"
MAX_OPEN_EPISODES = 64

try:  # what gunicorn (how `sandbox up` serves the fakes) raises for a badly chunked body
    from gunicorn.http.errors import ParseException as _ServerParseError
except ImportError:  # pragma: no cover - served by another WSGI server
    _ServerParseError = OSError  # type: ignore[assignment,misc]

# Reading a body a client framed badly: gunicorn's InvalidChunkSize / ChunkMissingTerminator
# (ParseException), NoMoreData (an OSError) for a body cut short, werkzeug's OSError("Invalid chunk header").
_FRAMING_ERRORS: tuple[type[BaseException], ...] = (_ServerParseError, OSError, ValueError)


def _framing_error() -> str | None:
    """Read the body now, before anything parses it, and say what is wrong with its framing (None
    when nothing is). A bad body then gets the vendor's 400, not a 500 from whichever parser met it
    first, and every later read sees an empty body instead of a half-read stream."""
    try:
        request.get_data(cache=True)
    except RequestEntityTooLarge:
        return None  # the handler answers 413 when it reads the body
    except _FRAMING_ERRORS as error:
        request.stream = io.BytesIO()  # type: ignore[misc]
        return (f"The request body is badly framed ({type(error).__name__}: {error}). Send a body that"
                " matches its Content-Length, or valid Transfer-Encoding: chunked.")
    return None


def _body_or_none() -> bytes | None:
    """The request body, or None when it is over the app's size limit: the exchange still goes in
    the ledger (its 413 answer with it), just without the oversized body."""
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        return None


class AuthFailure(Exception):
    """Raised by binding when a request carries no usable credentials; `kind` is one of
    missing | invalid | finished, and the service turns it into its vendor's 401."""

    def __init__(self, kind: str, key: str | None = None, episode: str | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.key = key
        self.episode = episode


@dataclass
class _Open:
    conn: object
    context: ExchangeContext
    ledger: Ledger


class EpisodeBinding:
    """Install on a service app with `EpisodeBinding(app, service_id, home, key_of, on_auth_failure)`.

    key_of(request) -> the API key the request carries, or None.
    on_auth_failure(AuthFailure) -> the vendor-shaped 401 response.
    Handlers then use `g.db` (sqlite3 connection of this episode), `g.episode`, `g.exchange_id`.
    """

    def __init__(
        self,
        app: Flask,
        service_id: str,
        home: Home,
        key_of: Callable[[object], str | None],
        on_auth_failure: Callable[[AuthFailure], Response],
    ) -> None:
        self.service_id = service_id
        self.home = home
        self.key_of = key_of
        self.on_auth_failure = on_auth_failure
        self.secret = proxy_secret(home)
        self._local = threading.local()
        app.before_request(self._before)
        app.after_request(self._after)
        app.teardown_request(self._teardown)

    # Each worker thread keeps its own registry connection and its own episode connections:
    # sqlite3 connections are not to be shared between threads mid-statement.
    def _store(self) -> EpisodeStore:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = EpisodeStore(self.home)
        return store

    def _open(self, episode: Episode) -> _Open:
        cache: OrderedDict[str, _Open] = getattr(self._local, "open", None) or OrderedDict()
        self._local.open = cache
        found = cache.get(episode.id)
        if found is not None:
            cache.move_to_end(episode.id)
            return found
        context = ExchangeContext()
        path: Path = self.home.service_db(episode.id, self.service_id)
        # Direct-mode exchanges are capped and redacted by the Ledger, as the proxy's are.
        ledger = Ledger(self.home.ledger_path(episode.id), body_cap=load_limits(self.home).ledger_body_bytes)
        opened = _Open(open_service_db(path, context), context, ledger)
        cache[episode.id] = opened
        if len(cache) > MAX_OPEN_EPISODES:
            _, old = cache.popitem(last=False)
            old.conn.close()
            old.ledger.close()
        return opened

    def _before(self) -> Response | None:
        g.episode = None
        if request.path.startswith("/_sandbox/"):
            return None
        framing = _framing_error()  # before key_of, which may read a form body for its token
        key = self.key_of(request)
        # Constant-time: an agent calling a fake directly must not learn the secret byte by byte from timings.
        sent = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        via_proxy = hmac.compare_digest(sent, self.secret.encode()) and EPISODE_HEADER in request.headers
        claimed = request.headers.get(EPISODE_HEADER) if via_proxy else None
        if not key:
            return self.on_auth_failure(AuthFailure("missing", episode=claimed))
        found = self._store().by_api_key(key)
        if found is None or found[1] != self.service_id or (claimed and found[0].id != claimed):
            return self.on_auth_failure(AuthFailure("invalid", key=key, episode=claimed))
        episode = found[0]
        if not episode.live:
            return self.on_auth_failure(AuthFailure("finished", key=key, episode=episode.id))
        opened = self._open(episode)
        if via_proxy:
            exchange_id = int(request.headers.get(EXCHANGE_HEADER, "0")) or None
        else:
            exchange_id = opened.ledger.begin_exchange(
                via="direct",
                service=self.service_id,
                method=request.method,
                scheme=request.scheme,
                host=request.host.split(":")[0],
                port=request.environ.get("SERVER_PORT") and int(request.environ["SERVER_PORT"]),
                path=request.path,
                query=request.query_string.decode("latin-1"),
                request_headers=list(request.headers.items()),
                request_body=_body_or_none(),
            )
        opened.context.exchange_id = exchange_id
        g.episode = episode
        g.exchange_id = exchange_id
        g.via_proxy = via_proxy
        g.db = opened.conn
        g._opened = opened
        g._changes_before = opened.conn.total_changes
        if framing:  # raised once the exchange is open, so the ledger keeps it with its 400
            raise BadRequest(framing)
        return None

    def _after(self, response: Response) -> Response:
        opened: _Open | None = getattr(g, "_opened", None)
        if opened is None:
            return response
        # Durable before the agent sees the response: the ledger gets the row changes now.
        if opened.conn.total_changes != g._changes_before:
            sync_changes(opened.conn, opened.ledger, self.service_id)
        if not g.via_proxy and g.exchange_id:
            opened.ledger.end_exchange(
                g.exchange_id,
                outcome="routed",
                status=response.status_code,
                response_headers=list(response.headers.items()),
                response_body=None if response.is_streamed else response.get_data(),
            )
        return response

    def _teardown(self, exc: BaseException | None) -> None:
        opened: _Open | None = getattr(g, "_opened", None)
        if opened is not None:
            if opened.conn.in_transaction:  # a handler died mid-write: nothing half-applied
                opened.conn.execute("ROLLBACK")
            opened.context.exchange_id = None
