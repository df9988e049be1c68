"""pytest plugin: replay regression runs in CI, registered as the `sandbox` pytest11 entry point.

    @pytest.mark.sandbox_replay("refund-run")            # recordings/refund-run.jsonl
    def test_refund_agent(sandbox_episode):
        run_my_agent(env=sandbox_episode.env)            # or sandbox_episode.session() for requests
        # or, as an agent process in its own network namespace (Linux; see sandbox/isolation):
        # assert sandbox_episode.run(["node", "agent.mjs"]).exit_code == 0
        score = sandbox_episode.finish()
        sandbox_episode.assert_no_misses()
        assert score.success

Without options every marked test replays its recording: no fake, no internet, no LLM bill. With
`--sandbox-record` the same tests record instead (fakes and allowed hosts answer, the recording is
rewritten when the episode finishes). The marker takes `task=` (an id or file; by default the
recording's own task) and `seed=` (by default the recording's, else the task's, else 0).

Options: --sandbox-record, --sandbox-recordings DIR (default $SANDBOX_RECORDINGS or ./recordings),
--sandbox-home DIR (use a sandbox already `up` there), --sandbox-allow-host HOST (record mode),
--sandbox-no-isolate (`sandbox_episode.run` starts agents without their network namespace).
One embedded sandbox is started per session, on free ports, the first time a test needs it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sandbox", "agent-sandbox record/replay")
    group.addoption("--sandbox-record", action="store_true", default=False,
                    help="Record the recordings of @sandbox_replay tests again instead of replaying them.")
    group.addoption("--sandbox-recordings", default=None, metavar="DIR",
                    help="Folder of recordings (default $SANDBOX_RECORDINGS or ./recordings).")
    group.addoption("--sandbox-home", default=None, metavar="DIR",
                    help="Use the sandbox already up on this home instead of starting one.")
    group.addoption("--sandbox-allow-host", action="append", default=[], metavar="HOST",
                    help="A real host agents may reach while recording (repeat).")
    group.addoption("--sandbox-no-isolate", action="store_true", default=False,
                    help="Run the agents of sandbox_episode.run() without their network namespace.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sandbox_replay(name, task=None, seed=None): the test's sandbox_episode "
                                       "replays recording NAME (or records it, with --sandbox-record)")


@dataclass(frozen=True)
class AgentRun:
    """How an agent process of `SandboxEpisode.run` ended."""

    exit_code: int | None  # None: killed at the time limit, or could not start (`error`)
    timed_out: bool
    error: str | None
    isolated: bool
    output: str
    log: Path


@dataclass
class SandboxEpisode:
    """The episode a marked test drives: its agent environment, then its score and ledger."""

    home: Any
    episode: Any
    env: dict[str, str]
    recording: str
    _store: Any = field(repr=False, default=None)
    score: Any = None
    finished: bool = False
    ports: Any = None
    isolate: bool | None = None  # for run(): None = in a network namespace where the kernel allows it

    def run(self, command: list[str], *, timeout: float | None = None) -> AgentRun:
        """Run `command` as the episode's agent process, as `sandbox run` does: its environment,
        its own process group killed at `timeout` (default the task's limit, else 300 s), in its
        own network namespace unless --sandbox-no-isolate, and an `agent_exit` event in the ledger.
        Its output (stdout and stderr) is returned, and kept in the episode folder's agent.log."""
        from sandbox.isolation import isolation_for
        from sandbox.run.runner import run_process

        limit = timeout if timeout is not None else self._limit()
        isolation, isolated = isolation_for(self.isolate, self.home, self.ports, self.env)
        log = self.home.episode_dir(self.episode.id) / "agent.log"
        started = time.monotonic()
        exit_code, timed_out, error = run_process(command, {**os.environ, **self.env}, limit, log,
                                                  isolation=isolation)
        detail = {"exit_code": exit_code, "timed_out": timed_out, "seconds": round(time.monotonic() - started, 3),
                  "command": command, **isolated}
        if error:
            detail["error"] = error
        with self._store.ledger(self.episode.id) as ledger:
            ledger.record_event("agent_exit", detail)
        return AgentRun(exit_code, timed_out, error, bool(isolated["isolated"]),
                        log.read_text(errors="replace") if log.exists() else "", log)

    def _limit(self) -> float:
        with self._store.ledger(self.episode.id) as ledger:
            spec = ledger.meta().get("task_spec")
        if spec:
            from sandbox.tasks.model import Task

            return Task.from_spec(json.loads(spec) if isinstance(spec, str) else spec).limits.seconds
        return 300.0

    @property
    def mode(self) -> str:
        return self.episode.mode

    def session(self):
        """A requests.Session that goes through the episode's proxy and trusts the sandbox CA."""
        import requests

        session = requests.Session()
        session.trust_env = False
        session.proxies = {"http": self.env["HTTPS_PROXY"], "https": self.env["HTTPS_PROXY"]}
        session.verify = self.env["SSL_CERT_FILE"]
        return session

    def finish(self):
        """Finish the episode (a recording is written now) and return its score, or None without a task."""
        if not self.finished:
            from sandbox.run.runner import finish_and_score

            self.episode, self.score = finish_and_score(self._store, self.episode.id)
            self.finished = True
        return self.score

    def exchanges(self) -> list[dict[str, Any]]:
        with self._store.ledger(self.episode.id) as ledger:
            return ledger.exchanges()

    def misses(self) -> list[dict[str, Any]]:
        """The replay misses of this episode, each with its closest recorded requests."""
        with self._store.ledger(self.episode.id) as ledger:
            return [e["detail"] for e in ledger.events() if e["kind"] == "replay_miss"]

    def assert_no_misses(self) -> None:
        misses = self.misses()
        assert not misses, "requests the recording has no answer for:\n" + "\n".join(
            f"  {m['request']}: closest {m['closest'][0]['request'] if m['closest'] else '-'} "
            f"({'; '.join(m['closest'][0]['differences']) if m['closest'] else m['reason']})" for m in misses)

    def assert_score(self, success: bool = True, score: float | None = None) -> None:
        result = self.finish()
        assert result is not None, "the episode has no task, so no score"
        assert result.success == success, result.render()
        if score is not None:
            assert result.score == pytest.approx(score), result.render()

    def assert_exchanges(self, expected: list[tuple]) -> None:
        """The ledger's exchanges as (method, host, path, status), in order."""
        assert [(e["method"], e["host"], e["path"], e["status"]) for e in self.exchanges()] == list(expected)


@pytest.fixture(scope="session")
def sandbox_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """(home, ports) of the sandbox the marked tests use: one already up, or one started now."""
    from sandbox.home import Home
    from sandbox.run.supervisor import Sandbox, running_ports

    config = request.config
    if config.getoption("sandbox_home"):
        home = Home.resolve(config.getoption("sandbox_home"))
        ports = running_ports(home)
        if not ports:
            pytest.fail(f"--sandbox-home {home.root}: no sandbox is up there (start it with `sandbox up`)")
        yield home, ports
        return
    home = Home.resolve(tmp_path_factory.mktemp("sandbox-home"))
    allow = tuple(config.getoption("sandbox_allow_host") or ())
    with Sandbox(home, ephemeral=True, workers=1, allow_hosts=allow) as sandbox:
        yield home, sandbox.ports


@pytest.fixture
def sandbox_episode(request: pytest.FixtureRequest, sandbox_server) -> Iterator[SandboxEpisode]:
    """An episode whose traffic is replayed from (or, with --sandbox-record, recorded to) the
    recording named by the test's @pytest.mark.sandbox_replay."""
    from sandbox.episodes.store import EpisodeStore
    from sandbox.recordings.store import load, resolve
    from sandbox.run.agent_env import agent_env
    from sandbox.run.runner import attach_task
    from sandbox.tasks import load_task
    from sandbox.tasks.model import Task

    marker = request.node.get_closest_marker("sandbox_replay")
    if marker is None or not marker.args:
        pytest.fail("sandbox_episode needs @pytest.mark.sandbox_replay(NAME) on the test")
    home, ports = sandbox_server
    folder = request.config.getoption("sandbox_recordings")
    record = request.config.getoption("sandbox_record")
    task = load_task(marker.kwargs["task"]) if marker.kwargs.get("task") else None
    if record:
        path = resolve(marker.args[0], folder)
        seed = marker.kwargs.get("seed", task.seed if task else 0)
    else:
        recording = load(marker.args[0], folder)
        path = recording.path
        spec = recording.header.get("task_spec")
        task = task or (Task.from_spec(spec) if spec else None)
        seed = marker.kwargs.get("seed", recording.header.get("seed") if recording.header.get("seed") is not None
                                 else task.seed if task else 0)
    store = EpisodeStore(home)
    episode = store.create(int(seed), task=task.id if task else None, mode="record" if record else "replay",
                           recording=str(path), allowed_hosts=task.allowed_hosts if task else ())
    if task is not None:
        attach_task(store, episode, task)
    handle = SandboxEpisode(home, episode, agent_env(home, episode, ports), str(path), store, ports=ports,
                            isolate=False if request.config.getoption("sandbox_no_isolate") else None)
    try:
        yield handle
        handle.finish()  # a recording is written even if the test did not ask for the score
    finally:
        store.close()
