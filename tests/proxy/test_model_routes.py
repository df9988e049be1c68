"""Routes to a model server, end to end: the real `openai` SDK, with its default base URL
(https://api.openai.com/v1, OPENAI_BASE_URL unset), through the real proxy (`python -m sandbox.proxy`),
to a stand-in OpenAI-compatible server on 127.0.0.1 (tests/proxy/model_stand_in.py). Nothing leaves
127.0.0.1: api.openai.com is never resolved, the route sends its traffic to the stand-in.

"Incremental" is shown by order, not timing: the stand-in sends its first event, then waits for a
gate the test opens only once the SDK has yielded that event. Timing is checked from the recording
(the recorded delay before the stand-in's pause) and, on replay, only as a lower bound (the replay
cannot send an event before its recorded delay has passed): no test waits on the wall clock to pass.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import requests
from click.testing import CliRunner

import services
from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home
from sandbox.recordings.format import read_recording
from sandbox.recordings.store import finalize
from tests.proxy.conftest import REPO, agent, running_proxy
from tests.proxy.model_stand_in import MODEL, ModelStandIn, tokens_for

API_KEY = "sk-proj-" + "Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gFeDcBa"  # what an agent's real OpenAI key looks like
PROMPT = "say something streamed"


class Lab:
    def __init__(self, home: Home, proxy, standin: ModelStandIn, other: ModelStandIn) -> None:
        self.home, self.proxy, self.standin, self.other = home, proxy, standin, other
        self.store = EpisodeStore(home)
        self.clients: list[openai.OpenAI] = []  # closed after each test

    def create(self, routes=(), **kwargs) -> Episode:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(services, "service_ids", list)  # no fake's world: the proxy needs none
            return self.store.create(seed=7, routes=routes, **kwargs)

    def finish(self, episode: Episode) -> None:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(services, "service_ids", list)
            self.store.finish(episode.id)

    def ledger(self, episode: Episode) -> list[dict]:
        with Ledger(self.home.ledger_path(episode.id)) as ledger:
            return ledger.exchanges()

    def settled_ledger(self, episode: Episode, within: float = 15.0) -> list[dict]:
        """The ledger once no exchange is pending. The SDK stops reading a stream at `data: [DONE]`
        and closes it; the proxy writes the row when the server's body ends, a moment later."""
        deadline = time.monotonic() + within
        while True:
            rows = self.ledger(episode)
            if all(row["outcome"] != "pending" for row in rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.02)

    def client(self, episode: Episode, key: str = API_KEY) -> openai.OpenAI:
        """The SDK as an agent of `episode` has it: HTTPS_PROXY with the episode's credentials, the
        sandbox CA, its own key, and no base URL of ours."""
        proxy = f"http://{episode.id}:{episode.token}@127.0.0.1:{self.proxy.port}"
        trusted = ssl.create_default_context(cafile=str(self.home.ca_cert))
        http_client = httpx.Client(proxy=proxy, verify=trusted, trust_env=False, timeout=30)
        client = openai.OpenAI(api_key=key, http_client=http_client, max_retries=0)
        self.clients.append(client)
        return client

    def close_clients(self) -> None:
        while self.clients:
            self.clients.pop().close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory, monkeypatch_module) -> Iterator[Lab]:
    monkeypatch_module.delenv("OPENAI_BASE_URL", raising=False)
    home = Home.resolve(tmp_path_factory.mktemp("routes-home"))
    with ModelStandIn() as standin, ModelStandIn() as other:
        # A proxy-wide route (`sandbox up --route`) for one host; the episodes bring their own for api.openai.com.
        with running_proxy(home, "--route", f"api.anthropic.com={other.url}") as proxy:
            lab = Lab(home, proxy, standin, other)
            yield lab
            lab.store.close()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(autouse=True)
def closed_clients(lab) -> Iterator[None]:
    yield
    lab.close_clients()


@pytest.fixture
def standin(lab) -> ModelStandIn:
    lab.standin.seen.clear()
    lab.standin.gated, lab.standin.opened, lab.standin.pause_ms = False, None, 0.0
    lab.standin.gate.clear()
    return lab.standin


def expected_answer(count: int = 6) -> str:
    return "".join(tokens_for(PROMPT, count))


def chat(client: openai.OpenAI, **kwargs):
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": PROMPT}], **kwargs)


def test_the_sdk_reaches_the_model_server_by_its_default_url_and_the_ledger_has_it(lab, standin):
    episode = lab.create({"api.openai.com": f"{standin.url}/v1"})
    client = lab.client(episode)
    assert str(client.base_url) == "https://api.openai.com/v1/"  # the SDK's own default: nothing pointed elsewhere
    assert [m.id for m in client.models.list()] == [MODEL]
    answer = chat(client)
    assert answer.choices[0].message.content == expected_answer()

    # The base path /v1 is not given twice; the Host is the server's; the agent's key stayed behind.
    assert [(s.method, s.path) for s in standin.seen] == [("GET", "/v1/models"), ("POST", "/v1/chat/completions")]
    assert standin.seen[-1].headers["host"] == f"127.0.0.1:{standin.port}"
    assert "authorization" not in standin.seen[-1].headers

    rows = lab.ledger(episode)
    assert [(r["method"], r["host"], r["path"], r["service"], r["outcome"], r["status"]) for r in rows] == [
        ("GET", "api.openai.com", "/v1/models", "route:api.openai.com", "routed", 200),
        ("POST", "api.openai.com", "/v1/chat/completions", "route:api.openai.com", "routed", 200),
    ]
    headers = {k.lower(): v for k, v in rows[1]["request_headers"]}
    assert headers["authorization"] == "Bearer REDACTED"  # the agent did send one: redacted, not lost
    assert expected_answer().encode() in rows[1]["response_body"]


def test_a_streamed_answer_arrives_event_by_event(lab, standin):
    standin.gated = True
    episode = lab.create({"api.openai.com": f"{standin.url}/v1"})
    stream = chat(lab.client(episode), stream=True)
    pieces = []
    for chunk in stream:
        pieces.append(chunk.choices[0].delta.content or "")
        if len(pieces) == 1:
            assert standin.opened is None  # the server is still waiting: this came before the rest was sent
            standin.gate.set()
    assert standin.opened is True, "the proxy held the first event back until the stream ended"
    assert pieces[:-1] == tokens_for(PROMPT, 6) and pieces[-1] == ""  # the last event only finishes

    [row] = lab.settled_ledger(episode)
    assert (row["outcome"], row["service"], row["status"]) == ("routed", "route:api.openai.com", 200), row["error"]
    assert row["response_body"].count(b"data: ") == 8 and row["response_body"].endswith(b"data: [DONE]\n\n")


def test_keep_auth_passes_the_agents_key_on_and_still_keeps_it_out_of_the_ledger(lab, standin):
    episode = lab.create([f"api.openai.com={standin.url}/v1#keep-auth"])
    chat(lab.client(episode))
    assert standin.seen[-1].headers["authorization"] == f"Bearer {API_KEY}"
    assert API_KEY.encode() not in lab.home.ledger_path(episode.id).read_bytes()
    assert not any(API_KEY in str(row) for row in lab.ledger(episode))


def test_a_proxy_wide_route_serves_every_episode(lab):
    lab.other.seen.clear()
    episode = lab.create()  # no routes of its own
    client = lab.client(episode).with_options(base_url="https://api.anthropic.com/v1")
    assert [m.id for m in client.models.list()] == [MODEL]
    assert [s.path for s in lab.other.seen] == ["/v1/models"]
    [row] = lab.ledger(episode)
    assert (row["host"], row["service"], row["outcome"]) == ("api.anthropic.com", "route:api.anthropic.com", "routed")


def test_without_a_route_the_host_stays_refused_and_the_servers_address_is_not_reachable_directly(lab, standin):
    unrouted = lab.create()
    with pytest.raises(openai.PermissionDeniedError) as refused:
        chat(lab.client(unrouted))
    assert refused.value.body["type"] == "sandbox_egress_refused"

    # A routed episode's agent naming the server's address itself: refused like any unlisted host.
    routed = lab.create({"api.openai.com": f"{standin.url}/v1"})
    with agent(lab.proxy, routed) as session:
        direct = session.get(f"{standin.url}/v1/models", timeout=30)
    assert direct.status_code == 403 and direct.json()["error"]["type"] == "sandbox_egress_refused"
    assert standin.seen == []
    assert [r["outcome"] for r in lab.ledger(unrouted)] == ["refused"]
    assert [r["outcome"] for r in lab.ledger(routed)] == ["refused"]


def test_recorded_stream_replays_with_no_server_running_same_events_same_gaps(lab, tmp_path):
    recording = tmp_path / "model-run.jsonl"
    pause_ms = 150.0
    with ModelStandIn(pause_at=3, pause_ms=pause_ms) as server:
        recorder = lab.create({"api.openai.com": f"{server.url}/v1"}, mode="record", recording=str(recording))
        client = lab.client(recorder)
        live_pieces = [c.choices[0].delta.content or "" for c in chat(client, stream=True)]
        live_whole = chat(client).choices[0].message.content
        lab.finish(recorder)
        finalize(recorder.id, recording, lab.home.ledger_path(recorder.id))
    # The server is stopped: nothing answers on its port any more.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/v1/models", timeout=5)

    streamed, whole = read_recording(recording).exchanges
    assert (streamed.upstream, streamed.request.host, streamed.request.path) == (
        "route:api.openai.com", "api.openai.com", "/v1/chat/completions")
    events = streamed.response.events
    assert [e.data.count(b"data: ") for e in events] == [1] * 8  # one SSE event per recorded piece
    assert events[3].delay_ms >= pause_ms * 0.9  # the server's pause, as the proxy saw it (a lower bound)
    assert whole.response.events is None and live_whole.encode() in whole.response.body
    assert not any(API_KEY in line for line in recording.read_text().splitlines())

    # Replay: no route, no server. The recording answers, event by event, with the recorded gaps.
    replayer = lab.create(mode="replay", recording=str(recording))
    client = lab.client(replayer)
    arrivals: list[tuple[float, str]] = []
    for chunk in chat(client, stream=True):
        arrivals.append((time.monotonic(), chunk.choices[0].delta.content or ""))
    assert [piece for _, piece in arrivals] == live_pieces
    gap = (arrivals[3][0] - arrivals[2][0]) * 1000.0
    assert gap >= events[3].delay_ms * 0.9, "the replay sent the paused event before its recorded delay"
    assert chat(client).choices[0].message.content == live_whole
    rows = lab.ledger(replayer)
    assert [(r["outcome"], r["service"]) for r in rows] == [("replayed", "route:api.openai.com")] * 2

    # An agent that stops reading during the recorded pause: an answer as far as it went, as live.
    quitter = lab.create(mode="replay", recording=str(recording))
    stream = chat(lab.client(quitter), stream=True)
    next(iter(stream))
    stream.close()
    [row] = lab.settled_ledger(quitter)
    assert (row["outcome"], row["status"], row["error"]) == ("replayed", 200, None)
    assert 1 <= row["response_body"].count(b"data: ") <= 3  # what the replay had sent before the pause

    # No key in the recording nor in any ledger: the project's own scan says so.
    result = CliRunner().invoke(_cli(), ["--home", str(lab.home.root), "recordings", "scan", str(recording),
                                         "--ledgers"])
    assert result.exit_code == 0, result.output
    for path in [recording, *lab.home.episodes_dir.glob("*/ledger.db*")]:
        assert API_KEY.encode() not in Path(path).read_bytes(), path


def _cli():
    from sandbox.cli import main

    return main


def test_sandbox_run_with_a_task_that_routes_its_model_and_an_unchanged_sdk_agent(running_sandbox, tmp_path):
    """`sandbox run TASK -- python examples/openai_stream_agent.py`, the route in the task file: the
    agent's SDK uses its own defaults and HTTPS_PROXY; the model server answers; the ledger has it."""
    with ModelStandIn() as server:
        task = tmp_path / "ask-the-model.yaml"
        task.write_text((REPO / "examples" / "tasks" / "goodwill-refund.yaml").read_text().replace(
            "id: goodwill-refund", "id: ask-the-model") + f"routes:\n  api.openai.com: {server.url}/v1\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SANDBOX_"))}
        env["OPENAI_API_KEY"] = API_KEY
        done = subprocess.run(
            [sys.executable, "-m", "sandbox.cli", "--home", str(running_sandbox.home.root), "run", "--json",
             str(task), "--", sys.executable, str(REPO / "examples" / "openai_stream_agent.py")],
            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert done.returncode == 1, done.stderr  # the task (a refund) is not done: the agent only talked
        printed, _, answer = done.stdout.partition('{\n  "episode"')  # the agent's output, then ours
        result = json.loads('{\n  "episode"' + answer)
        assert [word[-1] for word in printed.split()] == list("012345")  # the six streamed tokens
        assert result["exit_code"] == 0
        assert [s.path for s in server.seen] == ["/v1/models", "/v1/chat/completions"]
        assert all("authorization" not in s.headers for s in server.seen)
    with Ledger(running_sandbox.home.ledger_path(result["episode"])) as ledger:
        rows = [(e["host"], e["path"], e["service"], e["outcome"], e["status"]) for e in ledger.exchanges()]
    assert rows == [("api.openai.com", "/v1/models", "route:api.openai.com", "routed", 200),
                    ("api.openai.com", "/v1/chat/completions", "route:api.openai.com", "routed", 200)]
    assert API_KEY.encode() not in running_sandbox.home.ledger_path(result["episode"]).read_bytes()


def test_a_route_to_a_server_that_is_not_running_is_a_502_and_an_error_row(lab):
    with ModelStandIn() as server:
        url = server.url
    episode = lab.create({"api.openai.com": f"{url}/v1"})  # nothing listens there any more
    with pytest.raises(openai.InternalServerError) as failed:
        chat(lab.client(episode))
    assert failed.value.status_code == 502
    [row] = lab.ledger(episode)
    assert (row["host"], row["service"], row["outcome"]) == ("api.openai.com", "route:api.openai.com", "error")
    assert url.rpartition(":")[2] in row["error"]  # the server's address, so the operator knows what to start


@pytest.mark.parametrize("mode", ["live", "record"])
def test_a_stream_the_agent_closes_early_is_an_answer_as_far_as_it_went(lab, standin, tmp_path, mode):
    """The openai SDK closes a stream at `data: [DONE]`, before the server's body ends; an agent may
    also stop a generation half-way. Either way it got a 200 and read what it wanted: the ledger has
    the answer as far as it went (not an error), the recording too, and an event says who closed it."""
    standin.gated = True
    recording = tmp_path / "closed.jsonl"
    extra = {"mode": "record", "recording": str(recording)} if mode == "record" else {}
    episode = lab.create({"api.openai.com": f"{standin.url}/v1"}, **extra)
    stream = chat(lab.client(episode), stream=True)
    first = next(iter(stream))
    stream.close()  # while the server waits at its gate: the rest was never sent
    standin.gate.set()
    assert first.choices[0].delta.content == tokens_for(PROMPT, 1)[0]
    [row] = lab.settled_ledger(episode)
    assert (row["outcome"], row["status"], row["error"]) == ("routed", 200, None)
    assert row["response_body"].count(b"data: ") == 1
    with Ledger(lab.home.ledger_path(episode.id)) as ledger:
        events = [(e["kind"], e["detail"]) for e in ledger.events() if e["kind"] == "stream_closed_by_agent"]
    assert events == [("stream_closed_by_agent", {"exchange_id": row["id"]})]
    if mode == "record":
        lab.finish(episode)
        finalize(episode.id, recording, lab.home.ledger_path(episode.id))
        [exchange] = read_recording(recording).exchanges
        assert [e.data.count(b"data: ") for e in exchange.response.events] == [1]
