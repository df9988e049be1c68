"""Who is calling: the episode named by the proxy credentials.

An agent runs with `HTTPS_PROXY=http://<episode>:<token>@127.0.0.1:8080` (`sandbox env EPISODE`
prints it). Its client sends `Proxy-Authorization: Basic base64(episode:token)` on every CONNECT
and on every plain-HTTP proxy request. As in mitmproxy's proxyauth, a CONNECT's credentials are
remembered for its client connection, since the requests inside the tunnel carry none.

Missing or wrong credentials, an unknown episode, a finished one or one past the home's episode
lifetime get a 407 that says which and what to do. Registry lookups are cached for `ttl` seconds
(0.5 s): the hot path is a dict lookup, and an episode finished elsewhere is refused at most `ttl`
later, even inside an open tunnel.

Headers named `X-Sandbox-*` are the proxy's to send (the fakes trust them together with the
proxy secret); whatever the agent sent under those names is dropped, as is Proxy-Authorization,
which must never reach an upstream host.
"""

from __future__ import annotations

import binascii
import functools
import hmac
import time
import weakref
from collections.abc import MutableMapping

from mitmproxy import connection, http, tcp

from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home
from sandbox.limits import load_limits
from sandbox.proxy.flows import EPISODE, sandbox_answer

REALM = "agent-sandbox"
MAX_CACHED = 4096
_DROPPED = (b"x-sandbox-", b"proxy-authorization", b"proxy-connection")  # never passed on


class EpisodeDirectory:
    """The episode registry as the proxy sees it: `get(id)`, cached for `ttl` seconds.

    Shared by the episode stage (who may call) and the ledger stage (which ledgers to keep open).
    Unknown ids are cached too, so a client retrying bad credentials costs no query per request.
    What egress allows an episode (`Episode.allowed_hosts`) is part of the cached record and never
    changes after creation, so the cache cannot serve a stale list: a new episode's first lookup
    reads it from the registry, with the rest of the episode.
    """

    def __init__(self, home: Home, ttl: float = 0.5) -> None:
        self.store = EpisodeStore(home)
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Episode | None]] = {}

    def get(self, episode_id: str) -> Episode | None:
        now = time.monotonic()
        hit = self._cache.get(episode_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        episode = self.store.get(episode_id)
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[episode_id] = (now + self.ttl, episode)
        return episode

    def close(self) -> None:
        self.store.close()


@functools.lru_cache(maxsize=1024)
def parse_credentials(header: str) -> tuple[str, str] | None:
    """(episode, token) from a `Basic` Proxy-Authorization value, or None if it is not one."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = binascii.a2b_base64(encoded.strip().encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    episode_id, sep, token = decoded.partition(":")
    return (episode_id, token) if sep and episode_id else None


class EpisodeIdentity:
    def __init__(self, episodes: EpisodeDirectory) -> None:
        self.episodes = episodes
        # Past its lifetime an episode is refused at once, not only once the reaper (every ~30 s)
        # has finished it. Read at start: `sandbox up` writes limits.json before starting us.
        self.lifetime = load_limits(episodes.store.home).episode_lifetime_seconds
        # Credentials accepted on a CONNECT, for the requests inside that tunnel.
        self.tunnels: MutableMapping[connection.Client, tuple[str, str]] = weakref.WeakKeyDictionary()

    def http_connect(self, flow: http.HTTPFlow) -> None:
        if flow.response:
            return
        credentials = parse_credentials(flow.request.headers.get("Proxy-Authorization", ""))
        _, refusal = self.check(credentials)
        if refusal is not None:
            flow.response = refusal
        else:
            assert credentials is not None
            self.tunnels[flow.client_conn] = credentials

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response:
            return  # answered already (health check)
        headers = flow.request.headers
        credentials = self.tunnels.get(flow.client_conn)
        if credentials is None:  # a plain-HTTP proxy request: credentials on each request
            credentials = parse_credentials(headers.get("Proxy-Authorization", ""))
        episode, refusal = self.check(credentials)
        if refusal is not None:
            flow.response = refusal
            return
        flow.metadata[EPISODE] = episode
        fields = headers.fields
        if any(name.lower().startswith(_DROPPED) for name, _ in fields):
            headers.fields = tuple((name, value) for name, value in fields if not name.lower().startswith(_DROPPED))

    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        """Raw TCP inside a CONNECT tunnel (not HTTP): tag it with the tunnel's episode, or, if that
        episode is no longer live, make sure its upstream connection is never opened."""
        episode, refusal = self.check(self.tunnels.get(flow.client_conn))
        if refusal is None:
            flow.metadata[EPISODE] = episode
        else:
            flow.server_conn.error = "sandbox: the tunnel's episode credentials are no longer valid"

    def done(self) -> None:
        self.episodes.close()

    def check(self, credentials: tuple[str, str] | None) -> tuple[Episode | None, http.Response | None]:
        """(episode, None) if `credentials` name a live episode, else (None, a 407 saying why)."""
        if credentials is None:
            return None, _refuse(
                "missing_credentials",
                "The sandbox proxy needs episode credentials, and this request has no usable "
                "Proxy-Authorization (Basic) header.",
            )
        episode_id, token = credentials
        episode = self.episodes.get(episode_id)
        if episode is None:
            return None, _refuse("unknown_episode", f"There is no episode {episode_id!r} in this sandbox.")
        if not hmac.compare_digest(token.encode(), episode.token.encode()):
            return None, _refuse("wrong_token", f"The token given for episode {episode_id!r} is not its token.")
        if not episode.live:
            return None, _refuse(
                "episode_finished",
                f"Episode {episode_id!r} is {episode.status}; it takes no more traffic.",
                hint="start a new episode and use its proxy URL (`sandbox env EPISODE` prints it)",
            )
        if time.time() - episode.created_at >= self.lifetime:
            return None, _refuse(
                "episode_expired",
                f"Episode {episode_id!r} has been live for longer than this sandbox's episode lifetime "
                f"({self.lifetime:g} s); it takes no more traffic and is finished and scored shortly.",
                hint="start a new episode and use its proxy URL (`sandbox env EPISODE` prints it), or raise "
                     "the lifetime (`sandbox up --episode-lifetime SECONDS`)",
            )
        return episode, None


def _refuse(code: str, message: str, hint: str | None = None) -> http.Response:
    return sandbox_answer(
        407,
        "sandbox_proxy_auth",
        message,
        code=code,
        hint=hint
        or "use the proxy URL of a live episode, http://EPISODE:TOKEN@HOST:PORT "
        "(`sandbox env EPISODE` prints it as HTTPS_PROXY)",
        headers={"Proxy-Authenticate": f'Basic realm="{REALM}"'},
    )
