"""The Python API: an episode as a context manager, for notebooks, tests and RL loops.

    import sandbox
    with sandbox.episode("refund-duplicate-charge", faults="ghost-refund") as ep:
        r = ep.request("GET", "https://api.stripe.com/v1/customers", params={"email": "..."})
        ep.run(["python", "my_agent.py"])          # or run an agent process in the episode
        print(ep.score().score)                    # partial credit so far
        snap = ep.snapshot()                       # this state, to go on from more than once:
        with ep.fork(snap) as other: ...           # a new episode from it (also sandbox.fork("EP/NAME"))
    print(ep.result.render())                      # finished and scored on leaving the block

Requests go through the sandbox's proxy like an agent's would (TLS with the sandbox CA, the
episode's proxy credentials), so the ledger records them. A request to a vendor host without an
Authorization header gets the episode's key the way that vendor's clients send it.

The sandbox: the one `sandbox up` runs on the home, else one started on first use in this process
and stopped at exit (or pass your own: `with sandbox.open_sandbox(home) as sb: sandbox.episode(..., sandbox=sb)`).

From Ray tasks and actors (or any worker process): a SandboxHandle and an EpisodeHandle pickle as
where the sandbox listens and which episode it is, so a handle made by the driver works in a worker
on the same machine; processes that call `shared_sandbox(home)` on one home share one sandbox.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from sandbox.episodes.routes import parse_routes
from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.errors import TaskError
from sandbox.home import Home
from sandbox.run.agent_env import agent_env
from sandbox.run.runner import attach_task, finish_and_score
from sandbox.scoring.score import Score, score_ledger
from sandbox.tasks import Task, load_task
from sandbox.world import world

if TYPE_CHECKING:
    from sandbox.episodes.snapshot import Snapshot

T = TypeVar("T")


@dataclass
class SandboxHandle:
    """Where a sandbox listens: its home and ports (started here or found running)."""

    home: Home
    ports: dict[str, Any]
    _owned: Any = None  # the supervisor.Sandbox we started, if any

    def stop(self) -> None:
        if self._owned is not None:
            self._owned.stop()
            self._owned = None

    def __getstate__(self) -> dict[str, Any]:
        # Pickled (to a Ray task or actor, a worker process): where the sandbox listens, not the
        # processes of it this process started. Only its starter stops it.
        return {**self.__dict__, "_owned": None}


_shared: dict[Path, SandboxHandle] = {}
_shared_lock = threading.Lock()


def shared_sandbox(home: Home | str | None = None) -> SandboxHandle:
    """The sandbox of `home`: the running one, or one started now and stopped at interpreter exit.
    Processes sharing a home (Ray actors on one node, say) share one sandbox: the first starts it,
    under a lock on the home, and the others find it running."""
    from sandbox.run.supervisor import Sandbox, running_ports

    resolved = home if isinstance(home, Home) else Home.resolve(home)
    with _shared_lock, _home_lock(resolved):
        found = _shared.get(resolved.root)
        if found is not None and (found._owned is not None or running_ports(resolved)):
            return found
        ports = running_ports(resolved)
        if ports:
            handle = SandboxHandle(resolved, ports)
        else:
            started = Sandbox(resolved, ephemeral=True, workers=1).start()
            handle = SandboxHandle(resolved, started.ports, started)
            atexit.register(handle.stop)
        _shared[resolved.root] = handle
        return handle


@contextlib.contextmanager
def _home_lock(home: Home) -> Iterator[None]:
    """Held by one process of the machine at a time (flock; released if its holder dies)."""
    import fcntl

    with open(home.run_dir / "shared-sandbox.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def open_sandbox(home: Home | str | None = None, **options: Any) -> Iterator[SandboxHandle]:
    """Start a sandbox for the block (options as supervisor.Sandbox), stop it after."""
    from sandbox.run.supervisor import Sandbox

    resolved = home if isinstance(home, Home) else Home.resolve(home)
    with Sandbox(resolved, ephemeral=True, **{"workers": 1, **options}) as started:
        yield SandboxHandle(resolved, started.ports)


@dataclass
class EpisodeHandle:
    """A live episode of a task: its environment, an HTTP client through the proxy, its score."""

    episode: Episode
    task: Task
    sandbox: SandboxHandle
    result: Score | None = None
    _session: Any = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return self.episode.id

    @property
    def home(self) -> Home:
        return self.sandbox.home

    @property
    def ledger_path(self) -> Path:
        return self.home.ledger_path(self.id)

    @property
    def env(self) -> dict[str, str]:
        """What an agent process needs (as `sandbox env` prints), plus the task's instruction."""
        return {**agent_env(self.home, self.episode, self.sandbox.ports), "SANDBOX_TASK_ID": self.task.id,
                "SANDBOX_TASK_INSTRUCTION": self.task.instruction}

    @property
    def session(self) -> Any:
        """A requests.Session whose traffic goes through this episode's proxy, trusting the sandbox CA."""
        if self._session is None:
            import requests

            env = self.env
            session = requests.Session()
            session.trust_env = False  # only this episode's proxy, whatever the caller's environment says
            session.proxies = {"http": env["HTTP_PROXY"], "https": env["HTTPS_PROXY"]}
            session.verify = env["SSL_CERT_FILE"]
            self._session = session
        return self._session

    def auth_headers(self, url: str) -> dict[str, str]:
        """The episode's credentials for the vendor behind `url`, as that vendor's clients send them."""
        from services import get_service, host_routes

        host = (urlsplit(url).hostname or "").lower()
        routes = host_routes()
        # Exact vendor host, else a wildcard one (`*.zendesk.com` for every helpdesk subdomain).
        service = routes.get(host) or routes.get("*." + host.partition(".")[2])
        if service is None or service not in self.episode.api_keys:
            return {}
        spec = get_service(service)
        if spec.auth_headers is None:
            return {}
        return spec.auth_headers(self.episode.api_keys[service], world(self.episode.seed))

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None, timeout: float = 30,
                auto_auth: bool = True, **kwargs: Any) -> Any:
        """One HTTP request through the proxy (requests' keyword arguments: params, data, json...)."""
        merged = dict(headers or {})
        if auto_auth and not any(k.lower() == "authorization" for k in merged):
            merged.update(self.auth_headers(url))
        return self.session.request(method, url, headers=merged, timeout=timeout, **kwargs)

    def run(self, command: list[str], *, timeout: float | None = None, isolate: bool | None = None
            ) -> subprocess.CompletedProcess:
        """Run an agent process inside this episode (its output is captured and returned).

        Like `sandbox run`, the agent runs in its own network namespace whose only way out is the
        proxy (sandbox/isolation), where the kernel allows it: `isolate=False` runs it without, and
        `isolate=True` fails where isolation is not available."""
        from sandbox.errors import ConfigError
        from sandbox.isolation import isolation_for

        env = {**os.environ, **self.env}
        isolation, _ = isolation_for(isolate, self.home, self.sandbox.ports, env,
                                     [route.host for route in self.episode.routes])
        if isolation is not None:
            why_not = isolation.check(command, env)
            if why_not:
                raise ConfigError(f"cannot run {command[0]} isolated: {why_not}",
                                  hint="run it from outside the sandbox home, or pass isolate=False")
            command = isolation.wrap(command)
        limit = timeout if timeout is not None else self.task.limits.seconds
        # Its own process group, killed whole at the limit: the agent's children (and, isolated,
        # its launcher's namespace) go with it, as under `sandbox run`.
        with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True) as proc:
            try:
                out, err = proc.communicate(timeout=limit)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                raise
        return subprocess.CompletedProcess(command, proc.returncode, out, err)

    def __getstate__(self) -> dict[str, Any]:
        # A requests.Session does not travel between processes: the receiving one opens its own.
        return {**self.__dict__, "_session": None}

    def __enter__(self) -> EpisodeHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()  # `with ep.fork() as child:` finishes and scores the child, as sandbox.episode does

    def snapshot(self, name: str | None = None) -> Snapshot:
        """This episode's state now (services, ledger, fault state), to fork from: see `fork`."""
        from sandbox.episodes.snapshot import snapshot

        return _with_store(self.home, lambda store: snapshot(store, self.id, name))

    def fork(self, snapshot: Snapshot | str | None = None, *, episode_id: str | None = None) -> EpisodeHandle:
        """A new live episode from `snapshot` (one of this episode's, or its name), or from this
        episode as it is now: same task, its own id and credentials; this episode is untouched."""
        from sandbox.episodes.snapshot import Snapshot

        if isinstance(snapshot, str) and "/" not in snapshot:
            snapshot = f"{self.id}/{snapshot}"
        source = self.id if snapshot is None else snapshot
        if isinstance(source, Snapshot) and source.episode != self.id:
            return fork(source, sandbox=self.sandbox, episode_id=episode_id)  # another episode's: its task
        return _fork(source, self.task, self.sandbox, episode_id)

    def score(self) -> Score:
        """The score so far (partial credit), without finishing the episode."""
        return score_ledger(self.ledger_path)

    def finish(self) -> Score:
        """Finish the episode (no more traffic is accepted) and record its score; idempotent."""
        if self.result is None:
            if self._session is not None:
                self._session.close()
            store = EpisodeStore(self.home)
            try:
                _, score = finish_and_score(store, self.id)
            finally:
                store.close()
            assert score is not None
            self.result = score
        return self.result


def start_episode(task: str | Path | Task, *, faults: str | None = None, seed: int | None = None,
                  home: Home | str | None = None, sandbox: SandboxHandle | None = None,
                  allow_hosts: Iterable[str] = (), fault_seed: int | None = None,
                  routes: Mapping[str, Any] | Iterable[str] = ()) -> EpisodeHandle:
    """A new live episode of `task` (an id, a file or a Task); finish it with `.finish()`.
    It may reach the task's `allowed_hosts`, plus `allow_hosts`, for real (this episode only).
    `fault_seed`: what the profile's draws use instead of the world seed, so trial k of an RL loop
    can meet its own fault timing on the same world (None: the world seed, as a sweep's default).
    `routes`: hosts sent to a server of yours, over the task's `routes:` (this episode only), as
    `{"api.openai.com": "http://127.0.0.1:8000/v1"}` or `["api.openai.com=http://127.0.0.1:8000/v1"]`
    (sandbox/episodes/routes.py)."""
    handle = sandbox or shared_sandbox(home)
    if isinstance(task, Task):
        loaded = task if seed is None or seed == task.seed else load_task(task.source or task.id, seed=seed)
    else:
        loaded = load_task(task, seed=seed)
    profile = None if faults in (None, "", "none") else faults  # validated by the store
    store = EpisodeStore(handle.home)
    try:
        created = store.create(loaded.seed, task=loaded.id, faults=profile, fault_seed=fault_seed,
                               allowed_hosts=(*loaded.allowed_hosts, *_hosts(allow_hosts)),
                               routes=(*loaded.routes, *parse_routes(routes, where="routes")))
        attach_task(store, created, loaded)
    finally:
        store.close()
    return EpisodeHandle(created, loaded, handle)


@contextlib.contextmanager
def episode(task: str | Path | Task, *, faults: str | None = None, seed: int | None = None,
            home: Home | str | None = None, sandbox: SandboxHandle | None = None,
            allow_hosts: Iterable[str] = (), fault_seed: int | None = None,
            routes: Mapping[str, Any] | Iterable[str] = ()) -> Iterator[EpisodeHandle]:
    """`with sandbox.episode(task, faults=...) as ep:` — finished and scored when the block ends,
    also when it raises (the score is then in `ep.result`, and the exception propagates)."""
    handle = start_episode(task, faults=faults, seed=seed, home=home, sandbox=sandbox, allow_hosts=allow_hosts,
                           fault_seed=fault_seed, routes=routes)
    try:
        yield handle
    finally:
        handle.finish()


def fork(snapshot: Snapshot | str, *, home: Home | str | None = None, sandbox: SandboxHandle | None = None,
         episode_id: str | None = None) -> EpisodeHandle:
    """A new live episode from `snapshot` (a Snapshot, "EPISODE/NAME", or an episode id: snapshot it
    now), with the task of the episode it was taken of; finish it with `.finish()`."""
    from sandbox.episodes.snapshot import load_snapshot

    handle = sandbox or shared_sandbox(home)

    def task_of(store: EpisodeStore) -> Task:
        parent = snapshot.episode if not isinstance(snapshot, str) else snapshot.partition("/")[0]
        with store.ledger(parent) as ledger:
            spec = ledger.meta().get("task_spec")
        if spec is None:
            raise TaskError(f"episode {parent} has no task, so a fork of it would have none to score",
                            hint="snapshot episodes made with a task (sandbox.episode(task), --task)")
        return Task.from_spec(spec)

    if isinstance(snapshot, str) and "/" in snapshot:
        snapshot = _with_store(handle.home, lambda store: load_snapshot(store, snapshot))
    return _fork(snapshot, _with_store(handle.home, task_of), handle, episode_id)


def _fork(source: Snapshot | str, task: Task, sandbox: SandboxHandle, episode_id: str | None) -> EpisodeHandle:
    from sandbox.episodes.snapshot import fork as fork_episode

    child = _with_store(sandbox.home, lambda store: fork_episode(store, source, episode_id=episode_id))
    return EpisodeHandle(child, task, sandbox)


def _with_store(home: Home, work: Callable[[EpisodeStore], T]) -> T:
    store = EpisodeStore(home)
    try:
        return work(store)
    finally:
        store.close()


def _hosts(hosts: Iterable[str]) -> tuple[str, ...]:
    return (hosts,) if isinstance(hosts, str) else tuple(hosts)  # one host given bare, not its letters
