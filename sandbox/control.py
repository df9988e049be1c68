"""The control API: create, inspect, finish and score episodes over HTTP, on loopback only.

    POST /episodes                 {"seed": 7, "task": "refund-duplicate-charge", "id": "optional",
                                    "faults": "optional profile name or YAML path",
                                    "mode": "record | replay", "recording": "NAME or path",  (both optional)
                                    "allowed_hosts": ["example.org", "*.example.org"]}  (optional: outside
                                    hosts this episode may reach, besides its task's allowed_hosts)
    GET  /episodes                 all episodes
    GET  /episodes/<id>            one episode, with the environment its agent needs
    POST /episodes/<id>/finish     finish it (and score it, if it has a task)
    GET  /episodes/<id>/score      recompute the score from the ledger
    GET  /episodes/<id>/exchanges  the ledger's exchanges (without bodies)
    GET  /health

    python -m sandbox.control --home .sandbox --port 8090
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import threading
from dataclasses import asdict
from typing import Any

from flask import Flask, Response, jsonify, request

from sandbox.agent_env import agent_env
from sandbox.episodes import Episode, EpisodeStore
from sandbox.errors import ConfigError, EpisodeError, SandboxError, TaskError
from sandbox.home import Home
from sandbox.runner import attach_task, finish_and_score
from sandbox.scoring import score_ledger
from sandbox.tasks import load_task


def create_control_app(home: Home) -> Flask:
    app = Flask("sandbox.control")
    local = threading.local()

    def store() -> EpisodeStore:
        if getattr(local, "store", None) is None:
            local.store = EpisodeStore(home)
        return local.store

    def ports() -> dict[str, Any]:
        try:
            return json.loads(home.ports_file.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def describe(episode: Episode) -> dict[str, Any]:
        out = asdict(episode)
        out.pop("token")
        out["api_keys"] = sorted(episode.api_keys)
        if ports().get("proxy"):
            out["env"] = agent_env(home, episode, ports())
        return out

    @app.errorhandler(SandboxError)
    def sandbox_error(exc: SandboxError) -> tuple[Response, int]:
        status = 404 if isinstance(exc, EpisodeError) and "unknown" in exc.message else 400
        return jsonify({"error": {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint}}), status

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> tuple[Response, int]:
        return jsonify({"error": {"type": "not_found", "message": f"no route {request.method} {request.path}",
                                  "hint": "see the routes in sandbox/control.py"}}), 404

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
            raise EpisodeError("the body must be a JSON object")
        task = load_task(body["task"]) if body.get("task") else None
        seed = body.get("seed", task.seed if task else 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise EpisodeError(f"seed must be an integer, got {seed!r}")
        if task and seed != task.seed:
            raise TaskError(f"task {task.id} is defined on seed {task.seed}, not {seed}", hint="omit seed")
        faults = body.get("faults")
        if faults is not None and not isinstance(faults, str):
            raise EpisodeError("faults must be a profile name or a YAML file path", hint="sandbox faults list")
        hosts = body.get("allowed_hosts", [])
        if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
            raise EpisodeError(f"allowed_hosts must be a list of host names, got {hosts!r}",
                               hint='send "allowed_hosts": ["example.org", "*.example.org"]')
        recording = body.get("recording")  # with "mode": "record" | "replay": a name under recordings/, or a path
        if recording is not None:
            from sandbox.recordings.store import load, resolve

            recording = str(resolve(recording) if body.get("mode") == "record" else load(recording).path)
        episode = store().create(seed, task=task.id if task else None, episode_id=body.get("id"), faults=faults,
                                 mode=body.get("mode", "live"), recording=recording,
                                 allowed_hosts=(*(task.allowed_hosts if task else ()), *hosts))
        if task:
            attach_task(store(), episode, task)
        return jsonify(describe(episode)), 201

    @app.get("/episodes")
    def list_episodes() -> Response:
        return jsonify([describe(e) for e in store().list()])

    @app.get("/episodes/<episode_id>")
    def show(episode_id: str) -> Response:
        return jsonify(describe(store().require(episode_id)))

    @app.post("/episodes/<episode_id>/finish")
    def finish(episode_id: str) -> Response:
        episode, score = finish_and_score(store(), episode_id)
        return jsonify({"episode": describe(episode), "score": score.to_dict() if score else None})

    @app.get("/episodes/<episode_id>/score")
    def score(episode_id: str) -> Response:
        store().require(episode_id)
        return jsonify(score_ledger(home.ledger_path(episode_id)).to_dict())

    @app.get("/episodes/<episode_id>/exchanges")
    def exchanges(episode_id: str) -> Response:
        store().require(episode_id)
        with store().ledger(episode_id) as ledger:
            rows = ledger.exchanges()
        for row in rows:
            row.pop("request_body", None)
            row.pop("response_body", None)
        return jsonify(rows)

    return app


def require_loopback(host: str, allow_remote: bool) -> None:
    """The control API creates and finishes episodes: it listens on loopback unless asked not to."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_remote:
        raise ConfigError(
            f"refusing to listen on {host}: the control API is for this machine only",
            hint="use 127.0.0.1, or pass --allow-remote inside a container whose port is published on loopback",
        )


def main(argv: list[str] | None = None) -> None:
    from sandbox.serve import run_wsgi

    parser = argparse.ArgumentParser(prog="python -m sandbox.control", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--allow-remote", action="store_true")
    args = parser.parse_args(argv)
    require_loopback(args.host, args.allow_remote)
    home = Home.resolve(args.home)
    run_wsgi(create_control_app(home), host=args.host, port=args.port, workers=1, threads=4, name="control")


if __name__ == "__main__":
    main()
