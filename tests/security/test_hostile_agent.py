"""A hostile agent tries every escape we know of, with only what an agent is given.

The agent under test is the adversary. Each attempt below is made with the credentials `sandbox env`
hands an agent (its episode's proxy URL, CA and fake keys), against a real sandbox (proxy, fakes,
control API as `sandbox up` runs them), from a process that is *not* isolated: the attempts show
what the control plane, the proxy and the fakes refuse on their own, before any network namespace
helps. (tests/security/test_isolated_agent.py makes the isolated attempts.)

Every attempt answers "did it get through?" with the evidence. Each is its own test, and
`test_nothing_gets_through` runs them all and counts: the count must be 0.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests

from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home, control_token, proxy_secret
from sandbox.limits import load_limits
from sandbox.run.agent_env import agent_env

pytestmark = pytest.mark.slow


@dataclass
class World:
    """What the attempts need: the sandbox (the operator's side) and the agent's environment."""

    home: Home
    ports: dict
    store: EpisodeStore
    me: Episode  # the hostile agent's own episode
    victim: Episode  # another live episode in the same sandbox
    env: dict[str, str]  # what the agent was given

    @property
    def control(self) -> str:
        return f"http://127.0.0.1:{self.ports['control']}"

    def proxied(self, episode: Episode | None = None, password: str | None = None) -> requests.Session:
        """A client that goes through the proxy with `episode`'s id (ours by default) and `password`
        (our token by default)."""
        episode = episode or self.me
        session = requests.Session()
        session.trust_env = False
        url = f"http://{episode.id}:{password or self.me.token}@127.0.0.1:{self.ports['proxy']}"
        session.proxies = {"http": url, "https": url}
        session.verify = self.env["SSL_CERT_FILE"]
        return session

    def direct(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        return session

    def ledger_bytes(self, episode: Episode) -> bytes:
        """Every byte of an episode's ledger on disk, the WAL included (where fresh rows live)."""
        folder = self.home.episode_dir(episode.id)
        return b"".join(p.read_bytes() for p in sorted(folder.glob("ledger.db*")))

    def exchange_count(self, episode: Episode) -> int:
        with self.store.ledger(episode.id) as ledger:
            return len(ledger.exchanges())


@dataclass(frozen=True)
class Outcome:
    through: bool
    evidence: str


ATTEMPTS: dict[str, Callable[[World], Outcome]] = {}


def attempt(fn: Callable[[World], Outcome]) -> Callable[[World], Outcome]:
    ATTEMPTS[fn.__name__] = fn
    return fn


def stripe_auth(world: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.me.api_keys['payments']}"}


# -- the control plane ----------------------------------------------------------------------------


@attempt
def find_the_control_plane_in_the_env(world: World) -> Outcome:
    token = control_token(world.home)
    leaks = [k for k, v in world.env.items()
             if token in v or f":{world.ports['control']}" in v or k.startswith("SANDBOX_CONTROL")]
    return Outcome(bool(leaks), f"variables naming the control API or its token: {leaks}")


@attempt
def list_every_episode_without_the_token(world: World) -> Outcome:
    r = world.direct().get(f"{world.control}/episodes", timeout=10)
    return Outcome(r.status_code < 400 or world.victim.token in r.text, f"GET /episodes → {r.status_code}")


@attempt
def create_a_wider_episode_without_the_token(world: World) -> Outcome:
    before = len(world.store.list())
    r = world.direct().post(f"{world.control}/episodes", json={"seed": 7, "allowed_hosts": ["127.0.0.1"]},
                            timeout=30)
    after = len(world.store.list())
    return Outcome(r.status_code < 400 or after != before, f"POST /episodes → {r.status_code}, {after - before} new")


@attempt
def finish_another_episode_without_the_token(world: World) -> Outcome:
    r = world.direct().post(f"{world.control}/episodes/{world.victim.id}/finish", json={}, timeout=30)
    still_live = world.store.require(world.victim.id).live
    return Outcome(r.status_code < 400 or not still_live, f"finish {world.victim.id} → {r.status_code}")


@attempt
def guess_the_control_token(world: World) -> Outcome:
    guesses = [world.me.token, world.me.api_keys["payments"], proxy_secret(world.home)[:8], "", "null"]
    codes = [world.direct().get(f"{world.control}/episodes", headers={"Authorization": f"Bearer {g}"},
                                timeout=10).status_code for g in guesses]
    return Outcome(any(c < 400 for c in codes), f"GET /episodes with guessed tokens → {codes}")


@attempt
def rebind_a_foreign_host_name_onto_the_control_api(world: World) -> Outcome:
    # DNS rebinding: a page on evil.example re-resolves its own name to 127.0.0.1; the browser then
    # sends Host: evil.example. Even holding the token (the worst case), the control API must refuse.
    headers = {"Host": f"evil.example:{world.ports['control']}",
               "Authorization": f"Bearer {control_token(world.home)}"}
    r = world.direct().get(f"{world.control}/episodes", headers=headers, timeout=10)
    return Outcome(r.status_code < 400, f"GET /episodes with Host evil.example → {r.status_code}")


@attempt
def post_a_cross_origin_simple_request(world: World) -> Outcome:
    # A form or fetch from another origin may send text/plain without a preflight; with the token
    # (worst case) it must still be refused, and no answer may carry CORS permissions.
    before = len(world.store.list())
    answers = []
    for headers in ({}, {"Authorization": f"Bearer {control_token(world.home)}"}):
        r = world.direct().post(f"{world.control}/episodes", data='{"seed": 7}',
                                headers={"Content-Type": "text/plain", "Origin": "http://evil.example", **headers},
                                timeout=30)
        answers.append(r)
    preflight = world.direct().options(f"{world.control}/episodes", timeout=10,
                                       headers={"Origin": "http://evil.example",
                                                "Access-Control-Request-Method": "POST"})
    cors = [h for r in (*answers, preflight) for h in r.headers if h.lower().startswith("access-control-")]
    created = len(world.store.list()) - before
    return Outcome(any(r.status_code < 400 for r in answers) or bool(cors) or created > 0,
                   f"text/plain POSTs → {[r.status_code for r in answers]}, CORS headers {cors}, {created} created")


@attempt
def record_over_a_file_outside_the_recordings_folder(world: World) -> Outcome:
    # With the operator's token (a confused deputy passing an agent's input on): names only.
    target = world.home.root / "victim-file.txt"
    target.write_text("precious")
    headers = {"Authorization": f"Bearer {control_token(world.home)}"}
    codes = []
    for name in (str(target), "../../victim-file", "a/../../b", "..", "/etc/passwd", "x\x00y", "%2e%2e/x"):
        r = world.direct().post(f"{world.control}/episodes", headers=headers, timeout=30,
                                json={"seed": 7, "mode": "record", "recording": name})
        codes.append(r.status_code)
    intact = target.read_text() == "precious"
    return Outcome(any(c < 400 or c >= 500 for c in codes) or not intact,
                   f"record to paths → {codes}, target intact: {intact}")


@attempt
def overflow_the_seed(world: World) -> Outcome:
    headers = {"Authorization": f"Bearer {control_token(world.home)}"}
    codes = [world.direct().post(f"{world.control}/episodes", headers=headers, json={"seed": seed}, timeout=30)
             .status_code for seed in (2**63, -1, 10**30, True, "7")]
    return Outcome(any(c < 400 or c >= 500 for c in codes), f"odd seeds → {codes}")


@attempt
def reach_the_control_api_through_the_proxy(world: World) -> Outcome:
    r = world.proxied().get(f"{world.control}/episodes", timeout=10)
    return Outcome(r.headers.get("X-Sandbox-Answered-By") != "sandbox-proxy" or r.status_code != 403,
                   f"GET control through the proxy → {r.status_code} {r.headers.get('X-Sandbox-Answered-By')}")


# -- the proxy: whose episode, which host -----------------------------------------------------------


@attempt
def use_another_episodes_id_with_my_token(world: World) -> Outcome:
    # requests raises on a 407 to CONNECT; send it over plain HTTP so the 407 comes back as an answer.
    r = world.proxied(world.victim).get("http://api.stripe.com/v1/customers", headers=stripe_auth(world), timeout=10)
    return Outcome(r.status_code != 407, f"victim id + my token → {r.status_code}")


@attempt
def use_a_made_up_episode(world: World) -> Outcome:
    ghost = Episode(**{**world.me.__dict__, "id": "ep999999"})
    r = world.proxied(ghost).get("http://api.stripe.com/v1/customers", headers=stripe_auth(world), timeout=10)
    return Outcome(r.status_code != 407, f"unknown episode → {r.status_code}")


@attempt
def use_a_finished_episode(world: World) -> Outcome:
    done = world.store.create(7)
    world.store.finish(done.id)
    r = world.proxied(done, done.token).get("http://api.stripe.com/v1/customers", timeout=10,
                                            headers={"Authorization": f"Bearer {done.api_keys['payments']}"})
    return Outcome(r.status_code != 407, f"finished episode → {r.status_code}")


@attempt
def swap_the_binding_headers(world: World) -> Outcome:
    # Claim the victim's episode with the proxy's own headers; the proxy drops them, so the write
    # must land in *my* episode and never in the victim's.
    before = world.exchange_count(world.victim)
    headers = {**stripe_auth(world), "X-Sandbox-Episode": world.victim.id, "X-Sandbox-Exchange": "1",
               "X-Sandbox-Proxy-Secret": "guess", "x-sandbox-episode": world.victim.id}
    r = world.proxied().post("https://api.stripe.com/v1/customers", data={"email": "swap@example.org"},
                             headers=headers, timeout=10)
    after = world.exchange_count(world.victim)
    return Outcome(after != before, f"POST with the victim's binding headers → {r.status_code}; "
                                    f"victim's ledger {before} → {after} exchanges")


@attempt
def call_a_fake_directly_as_another_episode(world: World) -> Outcome:
    before = world.exchange_count(world.victim)
    port = world.ports["services"]["payments"]
    codes = []
    for secret in ("guess", "", proxy_secret(world.home)[:-1]):
        r = world.direct().post(f"http://127.0.0.1:{port}/v1/customers", data={"email": "direct@example.org"},
                                headers={"X-Sandbox-Episode": world.victim.id, "X-Sandbox-Proxy-Secret": secret},
                                timeout=10)
        codes.append(r.status_code)
    after = world.exchange_count(world.victim)
    return Outcome(any(c < 400 for c in codes) or after != before,
                   f"direct to the fake as the victim → {codes}; victim's ledger {before} → {after}")


def _connect(world: World, target: str, episode: Episode | None = None) -> tuple[int, bytes]:
    """A raw CONNECT through the proxy with the agent's credentials; (status, what came back)."""
    episode = episode or world.me
    creds = base64.b64encode(f"{episode.id}:{world.me.token}".encode()).decode()
    with socket.create_connection(("127.0.0.1", world.ports["proxy"]), timeout=10) as sock:
        sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nProxy-Authorization: Basic {creds}\r\n\r\n"
                     .encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                return 0, head
            head += chunk
        status = int(head.split(b" ", 2)[1])
        if status != 200:
            return status, head
        # mitmproxy answers 200 to every CONNECT it accepts and decides upstream lazily: what
        # matters is whether anything answers from the other side of the tunnel.
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            return 200, sock.recv(65536)
        except (TimeoutError, OSError):
            return 200, b""


@attempt
def tunnel_to_a_fakes_port(world: World) -> Outcome:
    status, answer = _connect(world, f"127.0.0.1:{world.ports['services']['payments']}")
    got = b"HTTP/1.1 2" in answer or b"HTTP/1.0 2" in answer
    return Outcome(got, f"CONNECT fake port → {status}, inner answer {answer[:60]!r}")


@attempt
def tunnel_to_the_control_port(world: World) -> Outcome:
    status, answer = _connect(world, f"127.0.0.1:{world.ports['control']}")
    got = b'"ok"' in answer or b"HTTP/1.1 2" in answer
    return Outcome(got, f"CONNECT control port → {status}, inner answer {answer[:60]!r}")


@attempt
def tunnel_to_localhost_names(world: World) -> Outcome:
    port = world.ports["services"]["payments"]
    hits = []
    for host in ("localhost", "127.1", "2130706433", "0x7f000001", "[::1]", "0177.0.0.1", "127.0.0.2"):
        status, answer = _connect(world, f"{host}:{port}")
        if b"HTTP/1.1 2" in answer:
            hits.append(host)
    return Outcome(bool(hits), f"loopback spellings that reached the fake: {hits}")


@attempt
def plain_http_to_loopback_spellings(world: World) -> Outcome:
    port = world.ports["services"]["payments"]
    hits = []
    for host in ("127.0.0.1", "localhost", "127.1", "2130706433", "[::1]", "0.0.0.0"):
        r = world.proxied().get(f"http://{host}:{port}/_sandbox/health", timeout=10)
        if r.headers.get("X-Sandbox-Answered-By") != "sandbox-proxy":
            hits.append(f"{host} → {r.status_code}")
    return Outcome(bool(hits), f"plain HTTP to loopback that the proxy did not refuse: {hits}")


@attempt
def reach_a_fakes_internal_routes_through_the_proxy(world: World) -> Outcome:
    spellings = ["/_sandbox/health", "/%5Fsandbox/health", "/%5fsandbox/health", "//_sandbox/health",
                 "/v1/../_sandbox/health", "/./_sandbox/health", "/_sandbox%2Fhealth", "/%2E/_sandbox/health",
                 "/_sandbox/openapi.json", "/v1/%2e%2e/_sandbox/health", "/_sandbox", "/%2F_sandbox/health"]
    hits = []
    session = world.proxied()
    for path in spellings:
        # Sent as written: a prepared request keeps the path's encoding.
        req = requests.Request("GET", f"https://api.stripe.com{path}", headers=stripe_auth(world)).prepare()
        req.url = f"https://api.stripe.com{path}"
        r = session.send(req, timeout=10)
        # The fakes' internal routes answer 200 with {"ok": true, ...} (health) or an OpenAPI document.
        if r.status_code < 400 or '"ok": true' in r.text or '"openapi":' in r.text:
            hits.append(f"{path} → {r.status_code}")
    return Outcome(bool(hits), f"internal routes reached: {hits}")


@attempt
def reach_lookalike_vendor_hosts(world: World) -> Outcome:
    hits = []
    for host in ("api.stripe.com.evil.example", "evil-api.stripe.com", "api.stripe.co", "stripe.com"):
        r = world.proxied().get(f"http://{host}/v1/customers", headers=stripe_auth(world), timeout=10)
        if r.headers.get("X-Sandbox-Answered-By") != "sandbox-proxy":
            hits.append(f"{host} → {r.status_code}")
    return Outcome(bool(hits), f"lookalikes not refused by the proxy: {hits}")


# -- resources ------------------------------------------------------------------------------------


def _body_limit(world: World) -> int:
    return load_limits(world.home).max_body_bytes


@attempt
def send_a_body_over_the_limit(world: World) -> Outcome:
    """Over plain HTTP the 413 comes back before the body is read; inside TLS the client is usually
    still uploading when the proxy closes, so it sees the close instead. Either way: refused, ledgered."""
    size = _body_limit(world) + 1024
    form = {**stripe_auth(world), "Content-Type": "application/x-www-form-urlencoded"}
    answers = []
    for scheme in ("http", "https"):
        before = world.exchange_count(world.me)
        try:
            r = world.proxied().post(f"{scheme}://api.stripe.com/v1/customers", data=b"x" * size, timeout=60,
                                     headers=form)
            status = r.status_code
        except requests.ConnectionError:
            status = None  # closed mid-upload
        answers.append((scheme, status, world.exchange_count(world.me) - before))
    through = [a for a in answers if a[1] not in (413, None) or a[2] < 1]
    return Outcome(bool(through) or answers[0][1] != 413, f"{size}-byte bodies → (scheme, status, rows) {answers}")


@attempt
def stream_a_chunked_body_over_the_limit(world: World) -> Outcome:
    limit = _body_limit(world)

    def chunks():
        piece = b"y" * 65536
        for _ in range(limit // len(piece) + 4):
            yield piece

    try:
        r = world.proxied().post("https://api.stripe.com/v1/customers", data=chunks(), timeout=60,
                                 headers={**stripe_auth(world), "Content-Type": "application/x-www-form-urlencoded"})
        status = r.status_code
    except requests.ConnectionError as exc:  # refused by closing: also a refusal
        status = f"closed ({type(exc).__name__})"
    return Outcome(isinstance(status, int) and status < 400, f"chunked body over {limit} bytes → {status}")


# -- secrets on disk ------------------------------------------------------------------------------


@attempt
def leave_keys_in_the_ledger(world: World) -> Outcome:
    keys = world.me.api_keys
    session = world.proxied()
    session.get("https://slack.com/api/auth.test", params={"token": keys["chat"]}, timeout=10)
    session.post("https://api.stripe.com/v1/customers", headers={**stripe_auth(world), "X-Api-Key": keys["payments"]},
                 data={"description": f"key {keys['payments']}"}, timeout=10)
    session.post("https://api.github.com/user/repos", json={"name": "x", "token": keys["code"]},
                 headers={"X-Custom-Auth": keys["code"]}, timeout=10)
    on_disk = world.ledger_bytes(world.me)
    found = [service for service, key in keys.items() if key.encode() in on_disk]
    found += ["proxy token"] if world.me.token.encode() in on_disk else []
    return Outcome(bool(found), f"keys in clear in the ledger files: {found}")


@attempt
def read_the_sandbox_files_as_another_user(world: World) -> Outcome:
    loose = []
    paths = [world.home.root, world.home.control_db, world.home.root / "control.token",
             world.home.run_dir / "proxy.secret", world.home.episode_dir(world.me.id),
             world.home.ledger_path(world.me.id), world.home.service_db(world.me.id, "payments")]
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            loose.append(f"{path.relative_to(world.home.root.parent)} {oct(mode)}")
    return Outcome(bool(loose), f"readable by group or others: {loose}")


# -- webhooks: a URL the sandbox will POST to is an SSRF vector ---------------------------------------


def _register(world: World, url: str) -> requests.Response:
    return world.proxied().post("https://api.stripe.com/v1/webhook_endpoints", headers=stripe_auth(world),
                                data={"url": url, "enabled_events[0]": "*"}, timeout=10)


@attempt
def register_the_sandboxs_own_ports_as_a_webhook_endpoint(world: World) -> Outcome:
    ports = [world.ports["control"], world.ports["proxy"], *world.ports["services"].values()]
    accepted = []
    for port in ports:
        for host in ("127.0.0.1", "localhost", "[::1]"):
            answer = _register(world, f"http://{host}:{port}/episodes")
            if answer.status_code != 400:
                accepted.append(f"{host}:{port} -> {answer.status_code}")
    return Outcome(bool(accepted), f"accepted: {accepted}" if accepted else f"{len(ports) * 3} URLs refused")


@attempt
def register_other_hosts_as_a_webhook_endpoint(world: World) -> Outcome:
    urls = ["http://169.254.169.254/latest/meta-data/", "http://example.com/hook", "http://127.1:9/",
            "http://2130706433:9/", "http://0x7f000001:9/", "http://[::ffff:127.0.0.1]:9/", "http://0.0.0.0:9/",
            "https://127.0.0.1:9/", "http://user:pass@127.0.0.1:9/", "gopher://127.0.0.1:9/",
            "http://127.0.0.1.nip.io:9/", "http://127.0.0.1:9\\@example.com/"]
    accepted = [f"{url} -> {answer.status_code}" for url in urls
                if (answer := _register(world, url)).status_code != 400]
    return Outcome(bool(accepted), f"accepted: {accepted}" if accepted else f"{len(urls)} URLs refused")


@attempt
def move_a_webhook_endpoint_onto_the_control_api(world: World) -> Outcome:
    made = _register(world, "http://127.0.0.1:9/hook")
    if made.status_code != 200:
        return Outcome(False, f"could not register a loopback URL first: {made.status_code}")
    moved = world.proxied().post(f"https://api.stripe.com/v1/webhook_endpoints/{made.json()['id']}",
                                 headers=stripe_auth(world),
                                 data={"url": f"http://127.0.0.1:{world.ports['control']}/episodes"}, timeout=10)
    return Outcome(moved.status_code != 400, f"update answered {moved.status_code}")


@attempt
def see_another_episodes_webhook_endpoint(world: World) -> Outcome:
    # The victim's own agent registers it (straight to the fake, with the victim's key).
    theirs = world.direct().post(f"http://127.0.0.1:{world.ports['services']['payments']}/v1/webhook_endpoints",
                                 headers={"Authorization": f"Bearer {world.victim.api_keys['payments']}"},
                                 data={"url": "http://127.0.0.1:9/victim", "enabled_events[0]": "*"}, timeout=10)
    mine = world.proxied().get("https://api.stripe.com/v1/webhook_endpoints", headers=stripe_auth(world), timeout=10)
    if theirs.status_code != 200:
        return Outcome(True, f"the victim could not register its own endpoint ({theirs.status_code}): check broken")
    return Outcome("/victim" in mine.text, f"my list: {mine.text[:120]!r}")


@attempt
def leave_a_webhook_secret_in_the_ledger(world: World) -> Outcome:
    made = _register(world, "http://127.0.0.1:9/secret")
    secret = made.json().get("secret", "")
    leaked = bool(secret) and secret.encode() in world.ledger_bytes(world.me)
    return Outcome(leaked or not secret, f"secret {'in' if leaked else 'not in'} the ledger files")


# -- the tests ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(running_sandbox) -> World:
    home = running_sandbox.home
    store = EpisodeStore(home)
    me = store.create(7)
    victim = store.create(7)
    env = agent_env(home, me, running_sandbox.ports)
    yield World(home, running_sandbox.ports, store, me, victim, env)
    store.close()


@pytest.mark.parametrize("name", list(ATTEMPTS))
def test_attempt_is_refused(world, name):
    outcome = ATTEMPTS[name](world)
    assert not outcome.through, f"{name} got through: {outcome.evidence}"


def test_nothing_gets_through(world):
    outcomes = {name: fn(world) for name, fn in ATTEMPTS.items()}
    through = {name: o.evidence for name, o in outcomes.items() if o.through}
    tally = "\n".join(f"{'THROUGH' if o.through else 'refused'}  {name}: {o.evidence}"
                      for name, o in outcomes.items())
    print(f"\n{len(outcomes)} attempts, {len(through)} got through\n{tally}")
    assert len(outcomes) >= 30
    assert through == {}, json.dumps(through, indent=2)


def test_the_attempts_can_fail(world):
    """The checks are not vacuous: the same evidence reads as "through" where the door is open.
    A session through the proxy with our own credentials does reach the fake; the fake's own port
    answers its health route to a direct caller (not through the proxy, as by design)."""
    ok = world.proxied().get("https://api.stripe.com/v1/customers", headers=stripe_auth(world), timeout=10)
    assert ok.status_code == 200
    port = world.ports["services"]["payments"]
    assert world.direct().get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=10).status_code == 200
    token = control_token(world.home)
    listed = world.direct().get(f"{world.control}/episodes", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert listed.status_code == 200 and world.victim.id in listed.text
    assert os.environ.get("SANDBOX_CONTROL_URL") is None
    assert _register(world, "http://127.0.0.1:9/mine").status_code == 200  # the agent's own loopback is fine
