"""The control API: create, inspect, finish and score episodes over HTTP. For the operator only.

    POST /episodes                 {"seed": 7, "task": "refund-duplicate-charge", "id": "optional",
                                    "faults": "optional profile name or YAML path",
                                    "fault_seed": 3,  (optional: the faults' draws, default the seed)
                                    "mode": "record | replay", "recording": "NAME",  (both optional)
                                    "allowed_hosts": ["example.org", "*.example.org"],  (optional: outside
                                    hosts this episode may reach, besides its task's allowed_hosts)
                                    "routes": {"api.openai.com": "http://127.0.0.1:8000/v1"}}  (optional:
                                    hosts sent to a server of yours, over the task's routes; see
                                    sandbox/episodes/routes.py for {"url": ..., "keep_auth": true})
    GET  /episodes                 all episodes                    (?credentials=1: with their credentials)
    GET  /episodes/<id>            one episode                     (?credentials=1: with the agent's env)
    POST /episodes/<id>/finish     finish it (and score it, if it has a task)
    GET  /episodes/<id>/score      recompute the score from the ledger
    GET  /episodes/<id>/exchanges  the ledger's exchanges (without bodies)
    GET  /episodes/<id>/env        the agent's environment, and the CA it trusts: {"episode", "env",
                                   "ca_cert": PEM}. Paths in env are this API's (in a container: the
                                   container's); `ControlClient.agent_env(id, ca_file)` writes the CA
                                   where the agent is and points env at it
    POST /episodes/<id>/snapshots  {"name": "optional"}: snapshot it now (sandbox/episodes/snapshot.py)
    GET  /episodes/<id>/snapshots  its snapshots
    POST /episodes/<id>/fork       {"snapshot": "NAME (optional: now)", "id": "optional"}: a new episode from
                                   that snapshot of it; answered like POST /episodes (with credentials)
    GET  /health                   the only route without a token

    python -m sandbox.interfaces.control --home .sandbox --port 8090 [--publish proxy=8080 ...]

--publish NAME=PORT (docker compose): where the host reaches each part, written to
<home>/run/published.json (sandbox/run/published.py) for the env of agents on the host.

Whoever drives this API can create episodes that reach any host, read every episode's credentials
and finish anyone's episode, and the agent under test is assumed hostile. So:

- Every route but `GET /health` needs `Authorization: Bearer <token>`, the token being
  `<home>/control.token` (0600, in a 0700 home: the operator's alone; `control_headers(home)` and
  `ControlClient` build the header). An agent's environment names neither the token nor this API.
- The Host header must be 127.0.0.1, localhost or [::1] (any port), or a name the operator declared
  with `--public-name`: a web page whose DNS name was rebound to 127.0.0.1 is refused (403).
- A POST must be `Content-Type: application/json` (else 415): a cross-origin page can send a
  text/plain or form POST without asking, never a JSON one. No CORS header is ever sent.
- Credentials are shown only when asked for: listings and `GET /episodes/<id>` leave out the proxy
  token, the API keys and the agent's env unless `?credentials=1`. The answer to `POST /episodes`
  does include them (`token`, `api_keys`, `env`): the operator just made the episode to hand it to an
  agent. `services` always lists the services an episode has keys for.
- A recording is a NAME (`recordings/<name>.jsonl`), never a path: a record episode overwrites its
  file. The CLI, run by the operator, still accepts paths.
- The body is checked whole: unknown keys (typos), non-string ids or modes, seeds outside 0..2**63-1
  are refused with 400 rather than ignored or turned into a 500.
"""

from __future__ import annotations

import argparse
import hmac
import json
import math
import os
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from sandbox.episodes.routes import parse_routes, routes_to_dict
from sandbox.episodes.snapshot import fork, list_snapshots, snapshot
from sandbox.episodes.store import Episode, EpisodeLimitError, EpisodeStore
from sandbox.errors import ConfigError, EpisodeError, SandboxError, TaskError, did_you_mean
from sandbox.home import Home, control_token
from sandbox.run.agent_env import AGENT_PYTHON, CA_VARS, agent_env
from sandbox.run.bind import require_loopback
from sandbox.run.published import parse_publish, published_ports, write_published
from sandbox.run.runner import attach_task, finish_and_score
from sandbox.scoring.score import score_ledger
from sandbox.tasks import load_task

DEFAULT_PORT = 8090
MAX_SEED = 2**63 - 1  # seeds are stored as SQLite INTEGERs (signed 64-bit)
BODY_KEYS = ("seed", "task", "id", "faults", "fault_seed", "mode", "recording", "allowed_hosts", "routes")
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
MAX_BODY_BYTES = 1024 * 1024  # an episode request is a few hundred bytes


def _error(status: int, kind: str, message: str, hint: str | None = None) -> tuple[Response, int]:
    """The one error shape of this API (and of SandboxError answers)."""
    return jsonify({"error": {"type": kind, "message": message, "hint": hint}}), status


def host_name(header: str) -> str | None:
    """The name part of a Host header (`127.0.0.1:8090` → `127.0.0.1`, `[::1]:80` → `[::1]`),
    lower-cased; None when the header is malformed (a port that is not a number, say)."""
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        if end < 0:
            return None
        name, rest = header[: end + 1], header[end + 1 :]
    else:
        name, colon, port = header.partition(":")
        rest = colon + port
    if rest and not (rest[0] == ":" and rest[1:].isascii() and rest[1:].isdigit()):
        return None
    return name or None


def create_control_app(home: Home, public_names: tuple[str, ...] = ()) -> Flask:
    """The control app of `home`. `public_names`: Host names accepted besides loopback ones
    (a container's service name, say), for a control API served with --allow-remote."""
    app = Flask("sandbox.interfaces.control")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    token = control_token(home).encode()
    accepted = LOOPBACK_NAMES | {n.strip().lower() for n in public_names}
    local = threading.local()

    def store() -> EpisodeStore:
        if getattr(local, "store", None) is None:
            local.store = EpisodeStore(home)
        return local.store

    def ports() -> dict[str, Any]:
        # `sandbox up`'s ports, else those docker compose publishes (sandbox/run/published.py).
        try:
            return json.loads(home.ports_file.read_text())
        except (FileNotFoundError, ValueError):
            return published_ports(home) or {}

    def describe(episode: Episode, credentials: bool) -> dict[str, Any]:
        out = asdict(episode)
        out.pop("token")
        keys = out.pop("api_keys")
        out["services"] = sorted(keys)
        out["routes"] = routes_to_dict(episode.routes)
        if credentials:
            out["token"] = episode.token
            out["api_keys"] = dict(sorted(keys.items()))
            if ports().get("proxy"):
                out["env"] = agent_env(home, episode, ports())
        return out

    def wants_credentials() -> bool:
        value = request.args.get("credentials", "0").lower()
        if value not in ("0", "1", "true", "false"):
            raise EpisodeError(f"credentials={value!r} is neither 1 nor 0", hint="use ?credentials=1")
        return value in ("1", "true")

    @app.before_request
    def guard() -> tuple[Response, int] | None:
        # The header as sent (request.host would drop a default port, or invent a name when none came).
        sent = request.environ.get("HTTP_HOST", "")
        if host_name(sent) not in accepted:
            # DNS rebinding: a page on evil.example, its name rebound to 127.0.0.1, calls us with its Host.
            return _error(403, "forbidden_host", f"Host {_short(sent)} is not a name of this control API",
                          hint="call it as http://127.0.0.1:PORT (or localhost, [::1]); a control API in a "
                               "container accepts more names with --public-name NAME")
        if request.endpoint == "health" and request.method in ("GET", "HEAD"):
            return None  # health checks (supervisor, docker compose) carry no token
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode("utf-8", "replace"), token):
            response, status = _error(
                401, "unauthorized",
                "missing or wrong control token" if scheme else "this route needs the control token",
                hint=f"send 'Authorization: Bearer <token>', the token being in {home.control_token_file} "
                     "(readable by the operator only); sandbox.interfaces.control.control_headers(home) builds it")
            response.headers["WWW-Authenticate"] = 'Bearer realm="sandbox-control"'
            return response, status
        if request.method == "POST" and request.mimetype != "application/json":
            # A cross-origin page may POST text/plain or a form without a preflight, never JSON.
            return _error(415, "unsupported_media_type",
                          f"a POST must be application/json, not {request.mimetype or 'without a Content-Type'}",
                          hint="send 'Content-Type: application/json' (and a JSON object body, or none)")
        return None

    @app.after_request
    def no_cors(response: Response) -> Response:
        # Never let a browser share an answer with another origin, whatever adds such a header.
        for header in [h for h in response.headers.keys() if h.lower().startswith("access-control-")]:
            del response.headers[header]
        response.headers["Cache-Control"] = "no-store"  # answers may carry credentials
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.errorhandler(SandboxError)
    def sandbox_error(exc: SandboxError) -> tuple[Response, int]:
        if isinstance(exc, EpisodeLimitError):
            # 429 for the rate (with when to retry), 503 for the live count: both say "not now", not "bad request".
            answer, status = _error(429 if exc.retry_after else 503, type(exc).__name__, exc.message, exc.hint)
            answer.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after or 30)))
            return answer, status
        status = 404 if isinstance(exc, EpisodeError) and "unknown" in exc.message else 400
        return _error(status, type(exc).__name__, exc.message, exc.hint)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        if exc.code == 404:
            return _error(404, "not_found", f"no route {request.method} {request.path}",
                          hint="see the routes in sandbox/interfaces/control.py")
        return _error(exc.code or 500, type(exc).__name__, exc.description or exc.name)

    @app.errorhandler(InternalServerError)
    def internal_error(exc: InternalServerError) -> tuple[Response, int]:
        cause = type(exc.original_exception).__name__ if exc.original_exception else "error"
        return _error(500, "internal", f"the control API failed ({cause}); this is a bug",
                      hint=f"the traceback is in the control API's log ({home.run_dir / 'control.log'} "
                           "under sandbox up)")

    @app.get("/health")
    def health() -> Response:
        return jsonify({"ok": True})

    @app.post("/episodes")
    def create() -> tuple[Response, int]:
        body = request.get_json(silent=True)
        if body is None and request.data:
            raise EpisodeError("the body is not valid JSON", hint='send {"seed": 7} or {"task": "TASK_ID"}')
        body = body or {}
        if not isinstance(body, dict):
            raise EpisodeError("the body must be a JSON object", hint='send {"seed": 7} or {"task": "TASK_ID"}')
        for key in body:
            if key not in BODY_KEYS:
                raise EpisodeError(f"{_short(key)} is not a field of POST /episodes",
                                   hint=did_you_mean(key[:100], BODY_KEYS))
        for key in ("task", "id", "mode", "faults", "recording"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise EpisodeError(f"{key} must be a string, got {_short(body[key])}",
                                   hint=f"fields: {', '.join(BODY_KEYS)} (see sandbox/interfaces/control.py)")
        task = load_task(body["task"]) if body.get("task") else None
        seed = body.get("seed", task.seed if task else 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise EpisodeError(f"seed must be an integer from 0 to 2**63-1, got {_short(seed)}", hint='e.g. "seed": 7')
        if task and seed != task.seed:
            raise TaskError(f"task {task.id} is defined on seed {task.seed}, not {seed}", hint="omit seed")
        hosts = body.get("allowed_hosts", [])
        if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
            raise EpisodeError(f"allowed_hosts must be a list of host names, got {_short(hosts)}",
                               hint='send "allowed_hosts": ["example.org", "*.example.org"]')
        routes = body.get("routes", {})
        if not isinstance(routes, dict):
            raise EpisodeError(f"routes must be an object of host to URL, got {_short(routes)}",
                               hint='send "routes": {"api.openai.com": "http://127.0.0.1:8000/v1"}')
        mode = "live" if body.get("mode") is None else body["mode"]
        recording = body.get("recording")
        if recording is not None and mode in ("record", "replay"):
            from sandbox.recordings.store import load, resolve_name

            path = resolve_name(recording)  # a name only: a record episode overwrites this file
            recording = str(path if mode == "record" else load(path).path)
        episode = store().create(seed, task=task.id if task else None, episode_id=body.get("id"),
                                 faults=body.get("faults"), fault_seed=body.get("fault_seed"), mode=mode,
                                 recording=recording,
                                 allowed_hosts=(*(task.allowed_hosts if task else ()), *hosts),
                                 routes=(*(task.routes if task else ()), *parse_routes(routes, where="routes")))
        if task:
            attach_task(store(), episode, task)
        return jsonify(describe(episode, credentials=True)), 201

    @app.get("/episodes")
    def list_episodes() -> Response:
        credentials = wants_credentials()
        return jsonify([describe(e, credentials) for e in store().list()])

    @app.get("/episodes/<episode_id>")
    def show(episode_id: str) -> Response:
        credentials = wants_credentials()
        return jsonify(describe(store().require(episode_id), credentials))

    @app.post("/episodes/<episode_id>/finish")
    def finish(episode_id: str) -> Response:
        episode, score = finish_and_score(store(), episode_id)
        return jsonify({"episode": describe(episode, credentials=False), "score": score.to_dict() if score else None})

    @app.get("/episodes/<episode_id>/score")
    def score(episode_id: str) -> Response:
        store().require(episode_id)
        return jsonify(score_ledger(home.ledger_path(episode_id)).to_dict())

    @app.post("/episodes/<episode_id>/snapshots")
    def take_snapshot(episode_id: str) -> tuple[Response, int]:
        body = _fields(("name",))
        return jsonify(snapshot(store(), episode_id, body.get("name")).describe()), 201

    @app.get("/episodes/<episode_id>/snapshots")
    def snapshots(episode_id: str) -> Response:
        store().require(episode_id)
        return jsonify([s.describe() for s in list_snapshots(store(), episode_id)])

    @app.post("/episodes/<episode_id>/fork")
    def fork_episode(episode_id: str) -> tuple[Response, int]:
        body = _fields(("snapshot", "id"))
        # A snapshot is named within its episode: the route's episode, never a path.
        source = f"{episode_id}/{body['snapshot']}" if body.get("snapshot") else episode_id
        child = fork(store(), source, episode_id=body.get("id"))
        with store().ledger(child.id) as ledger:
            forked = ledger.meta().get("forked_from")
        return jsonify({**describe(child, credentials=True), "forked_from": forked}), 201

    @app.get("/episodes/<episode_id>/exchanges")
    def exchanges(episode_id: str) -> Response:
        store().require(episode_id)
        with store().ledger(episode_id) as ledger:
            rows = ledger.exchanges()
        for row in rows:
            row.pop("request_body", None)
            row.pop("response_body", None)
        return jsonify(rows)

    @app.get("/episodes/<episode_id>/env")
    def episode_env(episode_id: str) -> Response:
        episode = store().require(episode_id)
        known = ports()
        if not known.get("proxy"):
            raise ConfigError(f"no proxy port is known for {home.root}",
                              hint="start the sandbox with `sandbox up`, or run the control API with "
                                   "--publish proxy=PORT (docker compose does)")
        if not home.ca_cert.is_file():
            raise ConfigError(f"{home.ca_cert} is not made yet", hint="the proxy makes it when it first starts")
        return jsonify({"episode": episode.id, "env": agent_env(home, episode, known),
                        "ca_cert": home.ca_cert.read_text()})

    return app


def _fields(names: tuple[str, ...]) -> dict[str, str]:
    """The JSON object body of a POST whose fields are all optional strings among `names`."""
    body = request.get_json(silent=True)
    if body is None and request.data:
        raise EpisodeError("the body is not valid JSON", hint=f"send an object with {', '.join(names)} (optional)")
    body = body or {}
    if not isinstance(body, dict):
        raise EpisodeError("the body must be a JSON object", hint=f"fields: {', '.join(names)}")
    for key, value in body.items():
        if key not in names:
            raise EpisodeError(f"{_short(key)} is not a field of {request.method} {request.path}",
                               hint=did_you_mean(str(key)[:100], names))
        if value is not None and not isinstance(value, str):
            raise EpisodeError(f"{key} must be a string, got {_short(value)}", hint=f"fields: {', '.join(names)}")
    return body


def _short(value: Any) -> str:
    """A value for an error message, cut short (a hostile body may send a 4,000-digit seed)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- the operator's side ---------------------------------------------------------------------------


def control_headers(home: Home) -> dict[str, str]:
    """The headers a call to `home`'s control API needs: its token, and JSON."""
    return {"Authorization": f"Bearer {control_token(home)}", "Content-Type": "application/json"}


class ControlClient:
    """Calls `home`'s control API with its token, never through a proxy:

        status, episode = ControlClient(home).post("/episodes", {"task": "refund-duplicate-charge"})

    The port defaults to the one `sandbox up` wrote to <home>/run/ports.json, else 8090."""

    def __init__(self, home: Home, port: int | None = None, host: str = "127.0.0.1", timeout: float = 30.0) -> None:
        if port is None:
            try:
                port = int(json.loads(home.ports_file.read_text())["control"])
            except (FileNotFoundError, ValueError, KeyError, TypeError):
                port = DEFAULT_PORT
        self.base = f"http://{host}:{port}"
        self.headers = control_headers(home)
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, decoded JSON answer) — an HTTP error status is returned, not raised."""
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=self.headers)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            with exc:
                status, raw = exc.code, exc.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        return self.request("POST", path, body)

    def agent_env(self, episode_id: str, ca_file: str | os.PathLike[str]) -> dict[str, str]:
        """The environment of an agent of `episode_id` that runs here, wherever the sandbox runs
        (in containers, say): the CA is written to `ca_file` and the env's CA variables name it,
        and PYTHONPATH names this installation's agent_python folder, not the sandbox's."""
        status, answer = self.get(f"/episodes/{urllib.parse.quote(episode_id, safe='')}/env")
        if status != 200:
            error = answer.get("error", {}) if isinstance(answer, dict) else {}
            raise SandboxError(f"GET /episodes/{episode_id}/env answered {status}: {error.get('message', answer)}",
                               hint=error.get("hint"))
        path = Path(ca_file).resolve()
        path.write_text(answer["ca_cert"])
        env = {**answer["env"], **dict.fromkeys(CA_VARS, str(path))}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(AGENT_PYTHON), os.environ.get("PYTHONPATH", "")) if p)
        return env


def main(argv: list[str] | None = None) -> None:
    from sandbox.run.serve import run_wsgi

    parser = argparse.ArgumentParser(prog="python -m sandbox.interfaces.control", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--allow-remote", action="store_true")
    parser.add_argument("--public-name", action="append", default=[], metavar="NAME",
                        help="a Host name to accept besides 127.0.0.1, localhost and [::1] (repeatable)")
    parser.add_argument("--publish", action="append", default=[], metavar="NAME=PORT",
                        help="the host port a part (proxy, control, a fake) is published on, in a container "
                             "(repeatable; written to <home>/run/published.json)")
    args = parser.parse_args(argv)
    try:
        require_loopback(args.host, args.allow_remote, "the control API")
        published = parse_publish(args.publish) if args.publish else None
    except SandboxError as exc:  # one line and status 2, as from the CLI, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    home = Home.resolve(args.home)
    if published:
        write_published(home, published)
    app = create_control_app(home, tuple(args.public_name))
    run_wsgi(app, host=args.host, port=args.port, workers=1, threads=4, name="control")


if __name__ == "__main__":
    main()
