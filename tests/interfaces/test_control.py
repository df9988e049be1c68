"""The control API is the operator's alone: a token from the home on every route but /health, loopback
Host names only, JSON-only POSTs, no CORS, no credentials unless asked, recordings by name only,
bounded seeds. The agent under test is assumed hostile and runs on the same machine."""

from __future__ import annotations

import http.client
import json
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from sandbox.episodes.store import EpisodeStore
from sandbox.errors import SandboxError
from sandbox.home import Home, control_token
from sandbox.interfaces.control import ControlClient, control_headers, create_control_app, host_name
from sandbox.recordings.format import RecordingError
from sandbox.recordings.store import resolve_name
from sandbox.run.agent_env import agent_env

# Every route, with a placeholder id; an unknown route must not tell a caller without the token
# that it does not exist either.
ROUTES = [
    ("GET", "/episodes"),
    ("POST", "/episodes"),
    ("GET", "/episodes/{id}"),
    ("GET", "/episodes/{id}?credentials=1"),
    ("POST", "/episodes/{id}/finish"),
    ("GET", "/episodes/{id}/score"),
    ("GET", "/episodes/{id}/exchanges"),
    ("GET", "/episodes/{id}/env"),
    ("POST", "/episodes/{id}/snapshots"),
    ("GET", "/episodes/{id}/snapshots"),
    ("POST", "/episodes/{id}/fork"),
    ("OPTIONS", "/episodes"),
    ("POST", "/health"),
    ("GET", "/no-such-route"),
]
PORTS = {"proxy": 18080, "control": 18090, "services": {}}


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    home = Home.resolve(tmp_path_factory.mktemp("control") / "home")
    store = EpisodeStore(home)
    store.prepare(7)  # the world of seed 7 once for the module; each episode is then a copy
    store.close()
    home.ports_file.write_text(json.dumps(PORTS))  # as `sandbox up` writes it, so answers can carry env
    return home


@pytest.fixture(autouse=True)
def recordings(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "recordings"
    folder.mkdir()
    monkeypatch.setenv("SANDBOX_RECORDINGS", str(folder))
    return folder


@pytest.fixture
def client(home):
    return create_control_app(home).test_client()


@pytest.fixture
def auth(home) -> dict[str, str]:
    return control_headers(home)


@pytest.fixture
def episode(home):
    store = EpisodeStore(home)
    yield store.create(7)
    store.close()


def episode_count(home: Home) -> int:
    store = EpisodeStore(home)
    try:
        return len(store.list())
    finally:
        store.close()


def no_cors(response) -> bool:
    return not [h for h in response.headers.keys() if h.lower().startswith("access-control-")]


# -- the token -------------------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Bearer ", "Basic b3A6dG9rZW4=", "TOKEN"])
@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_every_route_but_health_needs_the_token(home, client, episode, method, route, authorization):
    headers = {"Content-Type": "application/json"}
    if authorization == "TOKEN":  # the right token without its scheme is still refused
        authorization = control_token(home)
    if authorization is not None:
        headers["Authorization"] = authorization
    before = episode_count(home)
    answer = client.open(route.format(id=episode.id), method=method, headers=headers,
                         data=json.dumps({"seed": 7, "allowed_hosts": ["127.0.0.1"]}))
    assert answer.status_code == 401
    error = answer.get_json()["error"]
    assert error["type"] == "unauthorized"
    assert str(home.control_token_file) in error["hint"] and "operator" in error["hint"]
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert episode.token not in answer.get_data(as_text=True)
    assert episode_count(home) == before
    store = EpisodeStore(home)
    try:
        assert store.require(episode.id).live  # nobody finished it
    finally:
        store.close()


def test_a_token_of_one_character_less_is_refused(home, client):
    token = control_token(home)
    assert client.get("/episodes", headers={"Authorization": f"Bearer {token[:-1]}"}).status_code == 401
    assert client.get("/episodes", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
    assert client.get("/episodes", headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_health_needs_no_token(client):
    answer = client.get("/health")
    assert answer.status_code == 200 and answer.get_json() == {"ok": True}
    assert client.head("/health").status_code == 200


def test_the_token_file_is_the_operators_and_made_once(tmp_path):
    home = Home.resolve(tmp_path / "fresh")
    assert stat.S_IMODE(home.root.stat().st_mode) == 0o700
    assert not home.control_token_file.exists()
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(control_token(home))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results[0]) >= 32  # racing creators all read the one token
    assert stat.S_IMODE(home.control_token_file.stat().st_mode) == 0o600
    assert control_token(Home.resolve(tmp_path / "fresh")) == results[0]
    assert sorted(p.name for p in home.root.iterdir() if p.name.endswith(".tmp")) == []


def test_a_loose_home_of_ours_is_tightened(tmp_path):
    root = tmp_path / "loose"
    root.mkdir()
    root.chmod(0o755)
    Home.resolve(root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_an_empty_token_file_is_an_error_not_an_open_door(tmp_path):
    from sandbox.errors import ConfigError

    home = Home.resolve(tmp_path / "home")
    home.control_token_file.write_text("\n")
    with pytest.raises(ConfigError, match="control.token is empty"):
        create_control_app(home)


# -- Host header (DNS rebinding) -------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8090", "127.0.0.1.evil.example",
                                  "localhost.evil.example:80", "127.0.0.2:8090", "[::2]:8090", "0.0.0.0:8090",
                                  "localhost:abc", "[::1", "", "control:8090"])
@pytest.mark.parametrize("route", ["/episodes", "/health"])
def test_a_foreign_host_is_refused_even_with_the_token(client, auth, host, route):
    answer = client.get(route, headers=auth, environ_overrides={"HTTP_HOST": host})
    assert answer.status_code == 403
    error = answer.get_json()["error"]
    assert error["type"] == "forbidden_host" and repr(host) in error["message"]
    assert "--public-name" in error["hint"]


@pytest.mark.parametrize("host", ["127.0.0.1:8090", "127.0.0.1", "localhost", "LocalHost:1", "[::1]:8090", "[::1]"])
def test_loopback_hosts_with_any_port_are_accepted(client, auth, host):
    assert client.get("/episodes", headers=auth, environ_overrides={"HTTP_HOST": host}).status_code == 200


def test_declared_public_names_are_accepted(home, auth):
    client = create_control_app(home, ("control",)).test_client()
    assert client.get("/episodes", headers=auth, environ_overrides={"HTTP_HOST": "control:8090"}).status_code == 200
    assert client.get("/episodes", headers=auth, environ_overrides={"HTTP_HOST": "evil:8090"}).status_code == 403


def test_host_name_parsing():
    assert host_name("127.0.0.1:8090") == "127.0.0.1"
    assert host_name("[::1]:80") == "[::1]"
    assert host_name("LOCALHOST") == "localhost"
    assert host_name("localhost:") is None and host_name("localhost:８０") is None and host_name("[::1]x") is None


# -- JSON only, no CORS ----------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          None, "application/json-seq"])
def test_a_post_that_is_not_json_is_refused_and_creates_nothing(home, client, content_type):
    headers = {"Authorization": f"Bearer {control_token(home)}"}
    if content_type:
        headers["Content-Type"] = content_type
    before = episode_count(home)
    answer = client.post("/episodes", headers=headers, data='{"seed": 7, "allowed_hosts": ["127.0.0.1"]}')
    assert answer.status_code == 415
    assert "application/json" in answer.get_json()["error"]["hint"]
    assert episode_count(home) == before


def test_no_answer_carries_cors_headers(client, auth, episode):
    cross = {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}
    answers = [
        client.options("/episodes", headers=cross),
        client.options("/episodes", headers={**cross, **auth}),
        client.options(f"/episodes/{episode.id}/finish", headers=cross),
        client.get("/health", headers=cross),
        client.get("/episodes", headers={**cross, **auth}),
        client.post("/episodes", headers={**cross, "Content-Type": "text/plain"}, data="{}"),
        client.get("/episodes", headers={**cross, **auth}, environ_overrides={"HTTP_HOST": "evil.example"}),
        client.get("/nowhere", headers={**cross, **auth}),
    ]
    assert [a.status_code for a in answers] == [401, 200, 401, 200, 200, 401, 403, 404]
    assert all(no_cors(a) for a in answers)
    assert all(a.headers["Cache-Control"] == "no-store" for a in answers)


def test_an_oversized_body_is_refused_in_the_usual_shape(client, auth):
    answer = client.post("/episodes", headers=auth, data=b'{"id": "' + b"x" * (2 * 1024 * 1024) + b'"}')
    assert answer.status_code == 413 and answer.get_json()["error"]["message"]


# -- credentials only when asked -------------------------------------------------------------------


def test_listings_show_credentials_only_when_asked(client, auth):
    created = client.post("/episodes", headers=auth, json={"seed": 7})
    assert created.status_code == 201
    made = created.get_json()  # the operator made it to hand to an agent: it comes with what the agent needs
    token, keys = made["token"], made["api_keys"]
    assert made["env"]["HTTPS_PROXY"] == f"http://{made['id']}:{token}@127.0.0.1:18080"
    assert set(keys.values()) <= set(made["env"].values()) and made["services"] == sorted(keys)
    secrets = [token, *keys.values()]

    for path in ("/episodes", f"/episodes/{made['id']}", f"/episodes/{made['id']}?credentials=0"):
        answer = client.get(path, headers=auth)
        assert answer.status_code == 200
        text = answer.get_data(as_text=True)
        assert not [s for s in secrets if s in text], path
        rows = answer.get_json() if isinstance(answer.get_json(), list) else [answer.get_json()]
        assert rows and all(not {"token", "api_keys", "env"} & set(row) for row in rows)
        assert all("services" in row for row in rows)

    shown = client.get(f"/episodes/{made['id']}?credentials=1", headers=auth).get_json()
    assert shown["token"] == token and shown["api_keys"] == keys and shown["env"] == made["env"]
    listed = client.get("/episodes?credentials=1", headers=auth).get_json()
    assert {row["id"]: row["token"] for row in listed}[made["id"]] == token
    assert client.get("/episodes?credentials=maybe", headers=auth).status_code == 400

    finished = client.post(f"/episodes/{made['id']}/finish", headers=auth)
    assert finished.status_code == 200
    assert not [s for s in secrets if s in finished.get_data(as_text=True)]


def test_the_agent_env_holds_nothing_of_the_control_plane(home, episode):
    env = agent_env(home, episode, PORTS)
    assert "SANDBOX_CONTROL_URL" not in env and not [k for k in env if "CONTROL" in k]
    assert not [v for v in env.values() if control_token(home) in v or str(PORTS["control"]) in v]
    assert env["NODE_USE_ENV_PROXY"] == "1"
    assert env["HTTPS_PROXY"].endswith(f"@127.0.0.1:{PORTS['proxy']}")  # the rest is still there


# -- recordings by name only -----------------------------------------------------------------------

BAD_NAMES = ["../x", "../../etc/cron.d/x", "/etc/passwd", "/tmp/x.jsonl", "a/b", "%2e%2e", "%2e%2e%2fx", "..",
             "..\\x", "x\\y", "x\0y", "", ".hidden", "x.jsonl", "C:\\x", "~/x", "x y"]


@pytest.mark.parametrize("mode", ["record", "replay"])
@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_recording_is_a_name_never_a_path(home, client, auth, recordings, tmp_path, mode, name):
    # Where a path-taking API would have written: the name as a path, beside or under the recordings
    # folder, with and without the suffix (their existence before and after must not change).
    clean = name.replace("\0", "")
    targets = {t.resolve() for base in (recordings, Path.cwd()) for t in (base / clean, base / f"{clean}.jsonl")}
    existed = {t: t.exists() for t in targets}
    before_files = sorted(tmp_path.rglob("*"))
    before = episode_count(home)
    answer = client.post("/episodes", headers=auth, json={"seed": 7, "mode": mode, "recording": name})
    assert answer.status_code == 400, answer.get_json()
    error = answer.get_json()["error"]
    assert error["type"] == "RecordingError" and error["hint"]
    assert episode_count(home) == before
    assert sorted(tmp_path.rglob("*")) == before_files
    assert {t: t.exists() for t in targets} == existed
    assert list(recordings.iterdir()) == []


def test_a_recording_name_that_links_outside_is_refused(client, auth, recordings, tmp_path):
    outside = tmp_path / "outside.jsonl"
    outside.write_text("precious\n")
    (recordings / "evil.jsonl").symlink_to(outside)
    with pytest.raises(RecordingError, match="outside"):
        resolve_name("evil")
    answer = client.post("/episodes", headers=auth, json={"seed": 7, "mode": "record", "recording": "evil"})
    assert answer.status_code == 400 and "outside" in answer.get_json()["error"]["message"]
    assert outside.read_text() == "precious\n"


def test_a_plain_name_records_inside_the_recordings_folder(client, auth, recordings):
    answer = client.post("/episodes", headers=auth, json={"seed": 7, "mode": "record", "recording": "refund-run"})
    assert answer.status_code == 201
    assert answer.get_json()["recording"] == str(recordings.resolve() / "refund-run.jsonl")
    missing = client.post("/episodes", headers=auth, json={"seed": 7, "mode": "replay", "recording": "nope"})
    assert missing.status_code == 400 and "no recording" in missing.get_json()["error"]["message"]


# -- the body, checked whole -----------------------------------------------------------------------


@pytest.mark.parametrize(("body", "words"), [
    ({"seed": 2**63}, "0 to 2**63-1"),
    ({"seed": -1}, "0 to 2**63-1"),
    ({"seed": 10**4000}, "0 to 2**63-1"),
    ({"seed": True}, "seed must be an integer"),
    ({"seed": 7.0}, "seed must be an integer"),
    ({"seed": "7"}, "seed must be an integer"),
    ({"sed": 7}, "'sed' is not a field"),
    ({"seed": 7, "allowed_host": ["x.test"]}, "'allowed_host' is not a field"),
    ({"id": 7}, "id must be a string"),
    ({"mode": 1}, "mode must be a string"),
    ({"task": ["t"]}, "task must be a string"),
    ({"faults": {"a": 1}}, "faults must be a string"),
    ([7], "must be a JSON object"),
])
def test_a_bad_body_is_a_400_that_names_the_field(home, client, auth, body, words):
    before = episode_count(home)
    answer = client.post("/episodes", headers=auth, data=json.dumps(body))
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert words in error["message"] and error["hint"] and len(error["message"]) < 200
    assert episode_count(home) == before


def test_a_typo_gets_a_did_you_mean(client, auth):
    answer = client.post("/episodes", headers=auth, json={"sed": 7})
    assert "did you mean 'seed'" in answer.get_json()["error"]["hint"]


# -- over a real socket ----------------------------------------------------------------------------


@pytest.fixture
def served(home) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, create_control_app(home), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)


def raw(port: int, method: str, path: str, headers: dict[str, str], body: str | None = None) -> tuple[int, dict]:
    """One request with exactly these headers (a browser's, or a rebound page's)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        data = body.encode() if body is not None else None
        if data is not None:
            connection.putheader("Content-Length", str(len(data)))
        connection.endheaders(data)
        response = connection.getresponse()
        return response.status, {**dict(response.getheaders()), "body": response.read().decode()}
    finally:
        connection.close()


def test_over_a_socket_only_the_operator_gets_in(home, served):
    control = ControlClient(home, served, timeout=10)
    status, made = control.post("/episodes", {"seed": 7})
    assert status == 201 and made["env"]["NODE_USE_ENV_PROXY"] == "1"
    status, shown = control.get(f"/episodes/{made['id']}")
    assert status == 200 and "token" not in shown
    before = episode_count(home)
    token = control_token(home)

    # what an agent on this machine can send: no token
    status, answer = raw(served, "POST", "/episodes", {"Host": f"127.0.0.1:{served}",
                                                       "Content-Type": "application/json"}, '{"seed": 7}')
    assert status == 401 and made["token"] not in answer["body"]
    # what a web page can send without a preflight: text/plain, its own Host (rebinding), an Origin
    browser = {"Host": f"evil.example:{served}", "Origin": "http://evil.example", "Content-Type": "text/plain"}
    status, answer = raw(served, "POST", "/episodes", browser, '{"seed": 7}')
    assert status == 403 and "evil.example" in answer["body"]
    status, answer = raw(served, "POST", "/episodes", {**browser, "Host": f"localhost:{served}",
                                                       "Authorization": f"Bearer {token}"}, '{"seed": 7}')
    assert status == 415
    status, answer = raw(served, "OPTIONS", "/episodes", {**browser, "Host": f"localhost:{served}",
                                                          "Access-Control-Request-Method": "POST"})
    assert status == 401 and not [h for h in answer if h.lower().startswith("access-control-")]
    assert episode_count(home) == before
    status, answer = raw(served, "GET", "/health", {"Host": f"[::1]:{served}"})
    assert status == 200

    assert control.post(f"/episodes/{made['id']}/finish")[0] == 200


# -- an agent's environment, wherever the agent runs ----------------------------------------------


@pytest.fixture(scope="module")
def ca_pem(home) -> str:
    """A real CA in the home, as the proxy makes it on its first start."""
    from mitmproxy import certs

    certs.CertStore.from_store(home.ca_dir, "mitmproxy", 2048)
    return home.ca_cert.read_text()


def test_the_env_route_gives_an_agent_elsewhere_its_env_and_ca(home, served, ca_pem, tmp_path):
    from sandbox.run.agent_env import AGENT_PYTHON, CA_VARS

    control = ControlClient(home, served, timeout=10)
    status, made = control.post("/episodes", {"seed": 7})
    status, answer = control.get(f"/episodes/{made['id']}/env")
    assert status == 200 and answer["episode"] == made["id"] and answer["ca_cert"] == ca_pem
    assert answer["env"] == made["env"]  # the env `sandbox env` and POST /episodes give, for this home
    assert answer["env"]["SSL_CERT_FILE"] == str(home.ca_cert)

    # In a container the home's paths are the container's: the client writes the CA where the agent is.
    local = control.agent_env(made["id"], tmp_path / "ca.pem")
    assert (tmp_path / "ca.pem").read_text() == ca_pem
    assert {local[name] for name in CA_VARS} == {str(tmp_path / "ca.pem")}
    assert local["PYTHONPATH"].split(":")[0] == str(AGENT_PYTHON)
    assert local["HTTPS_PROXY"] == made["env"]["HTTPS_PROXY"] and made["token"] in local["HTTPS_PROXY"]

    with pytest.raises(SandboxError, match="answered 404") as failed:
        control.agent_env("ep-nobody", tmp_path / "other.pem")
    assert "ep-nobody" in failed.value.message and not (tmp_path / "other.pem").exists()


def test_a_compose_home_gives_the_ports_docker_publishes(tmp_path, ca_pem):
    """No ports.json under docker compose: the control container wrote published.json at start."""
    from sandbox.run.published import write_published

    home = Home.resolve(tmp_path / "compose")
    client, auth = create_control_app(home).test_client(), control_headers(home)
    made = client.post("/episodes", headers=auth, json={"seed": 7}).get_json()
    assert "env" not in made  # no proxy port known yet
    refused = client.get(f"/episodes/{made['id']}/env", headers=auth)
    assert refused.status_code == 400 and "--publish proxy=PORT" in refused.get_json()["error"]["hint"]

    write_published(home, {"proxy": 18080, "control": 18090, "services": {"payments": 18101}})
    refused = client.get(f"/episodes/{made['id']}/env", headers=auth)
    assert refused.status_code == 400 and str(home.ca_cert) in refused.get_json()["error"]["message"]
    home.ca_cert.write_text(ca_pem)
    answer = client.get(f"/episodes/{made['id']}/env", headers=auth).get_json()
    assert answer["env"]["HTTPS_PROXY"].endswith("@127.0.0.1:18080")
    assert answer["env"]["SANDBOX_PAYMENTS_URL"] == "http://127.0.0.1:18101"


def test_the_client_reads_the_port_from_the_home(home, tmp_path):
    assert ControlClient(home).base == f"http://127.0.0.1:{PORTS['control']}"
    assert ControlClient(Home.resolve(tmp_path / "other")).base == "http://127.0.0.1:8090"


def test_a_limit_is_a_retry_later_not_a_bad_request(tmp_path):
    from sandbox.limits import Limits, save_limits

    home = Home.resolve(tmp_path / "limited")
    save_limits(home, Limits(max_live_episodes=1, creations_per_minute=2))
    client = create_control_app(home).test_client()
    headers = control_headers(home)
    assert client.post("/episodes", json={"seed": 7}, headers=headers).status_code == 201
    full = client.post("/episodes", json={"seed": 7}, headers=headers)
    assert full.status_code == 503 and int(full.headers["Retry-After"]) >= 1
    assert "max_live_episodes" in full.get_json()["error"]["message"] + full.get_json()["error"]["hint"]
    save_limits(home, Limits(max_live_episodes=10, creations_per_minute=2))
    answers = [client.post("/episodes", json={"seed": 7}, headers=headers) for _ in range(3)]
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled and int(throttled[0].headers["Retry-After"]) >= 1


def test_an_episode_can_draw_its_faults_from_its_own_seed(client, auth, home):
    created = client.post("/episodes", json={"seed": 7, "fault_seed": 123}, headers=auth)
    assert created.status_code == 201 and created.get_json()["fault_seed"] == 123
    assert EpisodeStore(home).get(created.get_json()["id"]).fault_seed == 123
    default = client.post("/episodes", json={"seed": 7}, headers=auth).get_json()
    assert default["fault_seed"] == 7
    for bad in (-1, "3", True, 2**63):
        refused = client.post("/episodes", json={"seed": 7, "fault_seed": bad}, headers=auth)
        message = refused.get_json()["error"]["message"]
        assert refused.status_code == 400 and "fault seed must be an integer" in message, bad


# -- routes to a server of the operator's ------------------------------------------------------------


def test_an_episode_is_created_with_routes_and_shows_them(client, auth):
    body = {"seed": 7, "routes": {"api.openai.com": "http://127.0.0.1:8000/v1",
                                  "api.anthropic.com": {"url": "http://127.0.0.1:8001", "keep_auth": True}}}
    answer = client.post("/episodes", headers=auth, data=json.dumps(body))
    assert answer.status_code == 201, answer.get_json()
    routes = {"api.openai.com": {"url": "http://127.0.0.1:8000/v1", "keep_auth": False},
              "api.anthropic.com": {"url": "http://127.0.0.1:8001", "keep_auth": True}}
    assert answer.get_json()["routes"] == routes
    assert client.get(f"/episodes/{answer.get_json()['id']}", headers=auth).get_json()["routes"] == routes


@pytest.mark.parametrize(("routes", "message"), [
    (["api.openai.com=http://127.0.0.1:8000"], "routes must be an object of host to URL"),
    ({"api.openai.com": "127.0.0.1:8000"}, "routes.api.openai.com: api.openai.com=127.0.0.1:8000: the URL must start"),
    ({"api.stripe.com": "http://127.0.0.1:8000"}, "answered by the payments fake"),
])
def test_bad_routes_are_a_400_that_names_them_and_create_nothing(home, client, auth, routes, message):
    before = episode_count(home)
    answer = client.post("/episodes", headers=auth, data=json.dumps({"seed": 7, "routes": routes}))
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert message in error["message"] and error["hint"]
    assert episode_count(home) == before
