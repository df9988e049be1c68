"""The proxy under test is the real thing: `python -m sandbox.proxy` in a subprocess, real sockets,
real SQLite ledgers. A stand-in HTTP server on 127.0.0.1 plays the fake (routes are given with
`--route`, so nothing here depends on the services registry) and, when allow-listed, the internet.
Nothing leaves 127.0.0.1: refused hosts are never contacted, routed ones go to the stand-in.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

# Some tests drive mitmproxy addons in-process. Importing mitmproxy's addons imports ldap3, whose
# pyasn1 use warns at import time from ldap3's own module, which pyproject's
# "ignore::DeprecationWarning:mitmproxy.*" does not cover. Import it once here, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import mitmproxy.addons  # noqa: F401

import services
from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


# -- a stand-in upstream --------------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class StandIn:
    """An HTTP server on 127.0.0.1 that records what reaches it and answers JSON."""

    server: ThreadingHTTPServer
    seen: list[Seen] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def last(self) -> Seen:
        assert self.seen, "nothing reached the stand-in"
        return self.seen[-1]


@contextmanager
def stand_in() -> Iterator[StandIn]:
    holder: dict[str, StandIn] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen = Seen(self.command, self.path, list(self.headers.items()), body)
            holder["s"].seen.append(seen)
            echo = body.decode(errors="replace")
            payload = json.dumps({"method": self.command, "path": self.path, "echo": echo}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Stand-In", "yes")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder["s"] = StandIn(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["s"]
    finally:
        server.shutdown()
        server.server_close()


# -- the proxy process ----------------------------------------------------------------------------


@dataclass
class ProxyProcess:
    proc: subprocess.Popen
    port: int
    home: Home
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode


def launch_proxy(home: Home, *args: str, log: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "sandbox.proxy", "--home", str(home.root), *args]
    with open(log, "ab") as err:
        return subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, cwd=REPO, env=os.environ.copy()
        )


def wait_ready(proc: subprocess.Popen, log: Path) -> int:
    """The port from the proxy's `proxy listening on HOST:PORT` line."""
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT
    buffer = b""
    while time.monotonic() < deadline:
        if selector.select(timeout=0.2):
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buffer += chunk
            for line in buffer.decode(errors="replace").splitlines():
                if line.startswith("proxy listening on "):
                    return int(line.rsplit(":", 1)[1])
        elif proc.poll() is not None:
            break
    proc.kill()
    proc.wait()
    raise AssertionError(f"proxy did not start: {buffer!r}\n{log.read_text(errors='replace')}")


@contextmanager
def running_proxy(home: Home, *args: str) -> Iterator[ProxyProcess]:
    log = home.run_dir / f"proxy-test-{time.monotonic_ns()}.log"
    proc = launch_proxy(home, "--port", "0", *args, log=log)
    try:
        port = wait_ready(proc, log)
        yield ProxyProcess(proc, port, home, log)
    finally:
        ProxyProcess(proc, 0, home, log).stop()


# -- episodes -------------------------------------------------------------------------------------


class Episodes:
    """Creates episodes in a home without building any fake's world: the proxy needs none."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.store = EpisodeStore(home)

    def create(self) -> Episode:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(services, "service_ids", list)
            return self.store.create(seed=7)

    def finish(self, episode: Episode) -> None:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(services, "service_ids", list)
            self.store.finish(episode.id)

    def ledger(self, episode: Episode) -> list[dict]:
        with Ledger(self.home.ledger_path(episode.id)) as ledger:
            return ledger.exchanges()


# -- clients --------------------------------------------------------------------------------------


def proxy_url(proxy: ProxyProcess, episode_id: str, token: str) -> str:
    return f"http://{episode_id}:{token}@127.0.0.1:{proxy.port}"


def agent(proxy: ProxyProcess, episode: Episode, token: str | None = None) -> requests.Session:
    """A requests session configured as an agent of `episode` would be (HTTPS_PROXY + the CA)."""
    session = requests.Session()
    session.trust_env = False
    url = proxy_url(proxy, episode.id, token or episode.token)
    session.proxies = {"http": url, "https": url}
    session.verify = str(proxy.home.ca_cert)
    return session


def raw_connect(proxy: ProxyProcess, target: str, credentials: str | None = None) -> tuple[int, dict, bytes]:
    """Send a bare CONNECT and read the proxy's answer (clients hide the body of a refused CONNECT)."""
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    if credentials is not None:
        lines.append("Proxy-Authorization: Basic " + base64.b64encode(credentials.encode()).decode())
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
        while len(body) < int(headers.get("content-length", 0)):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(status_line.split()[1]), headers, body


# -- fixtures -------------------------------------------------------------------------------------


@dataclass
class World:
    """One proxy for a test module, with a stand-in fake (api.stripe.com -> payments) and a stand-in
    internet host (127.0.0.1 is allow-listed)."""

    home: Home
    proxy: ProxyProcess
    fake: StandIn
    internet: StandIn
    episodes: Episodes


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    home = Home.resolve(tmp_path_factory.mktemp("proxy-home"))
    with stand_in() as fake, stand_in() as internet:
        args = ["--service", f"payments={fake.port}", "--route", "api.stripe.com=payments", "--allow-host", "127.0.0.1"]
        with running_proxy(home, *args) as proxy:
            episodes = Episodes(home)
            yield World(home, proxy, fake, internet, episodes)
            episodes.store.close()


@pytest.fixture
def episode(world) -> Episode:
    return world.episodes.create()


# -- the helpdesk's pages in a real browser (tests/proxy/test_*browser.py) ---------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


@dataclass
class HelpdeskWeb:
    home: Home
    proxy: ProxyProcess
    store: EpisodeStore
    host: str


@pytest.fixture(scope="session")
def helpdesk_web(tmp_path_factory) -> Iterator[HelpdeskWeb]:
    """The helpdesk fake (world 7) behind the real proxy, once for every browser module: starting
    them and Chromium is most of those modules' time."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed: no browser to render the pages with")
    from sandbox.run.supervisor import running_service
    from sandbox.world import world as world_of

    host = world_of(7).org.helpdesk_host  # type: ignore[union-attr]
    home = Home.resolve(tmp_path_factory.mktemp("web-home"))
    # These modules need only the helpdesk fake. Only while starting it: the fixture lives for the
    # whole session, and a variable left set would shrink every later module's sandbox to one fake
    # (the modules set it again around their own store.create).
    with contextlib.ExitStack() as running:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SANDBOX_SERVICES", "helpdesk")
            store = EpisodeStore(home)
            running.callback(store.close)
            store.prepare(7)
            port = running.enter_context(running_service(home, "helpdesk"))
            proxy = running.enter_context(
                running_proxy(home, "--service", f"helpdesk={port}", "--route", f"{host}=helpdesk"))
        yield HelpdeskWeb(home, proxy, store, host)


@pytest.fixture(scope="module")
def chromium(helpdesk_web):
    """Chromium for one module: Playwright's sync API keeps an event loop running on this thread until
    it stops, and a later module's asyncio.run / anyio.run would find it ("cannot be called from a
    running event loop")."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
