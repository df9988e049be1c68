"""`sandbox up`: start the fakes, the control API and the proxy as child processes on loopback.

Each part is its own process (the fakes in gunicorn workers, never inside the proxy's event loop),
started in order, health-checked, and stopped together. What is listening where is written to
`<home>/run/ports.json`, which `sandbox env` and `sandbox run` read.

The children die with us even when we cannot stop them (SIGKILL, OOM killer, a crash): on Linux
each is started with PR_SET_PDEATHSIG=SIGKILL, and each gunicorn worker with the same towards its
master. The kernel sends that signal when the *thread* that forked the child ends, not the process,
so children are forked from one long-lived thread (`_Forker`). Elsewhere there is no such signal:
there a killed supervisor still leaves its children running.

The proxy may be N worker processes sharing its port (`proxy_workers`, `sandbox up --proxy-workers`:
sandbox/run/proxy_workers.py); a worker that dies is started again, within a restart budget.

The supervisor also runs the reaper (sandbox/episodes/reaper.py), which finishes and scores episodes past
the home's lifetime or idle limits.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import functools
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.errors import ConfigError, ServiceError
from sandbox.home import Home
from sandbox.run.proxy_workers import (
    ReadyLine,
    Restarts,
    note_everywhere,
    usable_proxy_workers,
    worker_argv,
    worker_log,
)
from services import service_ids

if TYPE_CHECKING:
    from sandbox.episodes.reaper import Reaper
    from sandbox.webhooks.deliverer import Deliverer

DEFAULT_PORTS = {
    "proxy": 8080,
    "control": 8090,
    "services": {"payments": 8101, "helpdesk": 8102, "chat": 8103, "code": 8104},
    "webhooks": 8091,  # the mailbox isolated agents' relays fetch webhook deliveries from
}
START_TIMEOUT = 30.0
REAP_EVERY = 30.0  # seconds between reaper rounds: limits are minutes to hours, a round is a query per live episode


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

# -- children that die with their parent ----------------------------------------------------------

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # loaded here, in the parent: a child only calls it
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def set_death_signal(parent: int | None = None) -> None:
    """In a child process: be SIGKILLed when our parent (the thread of it that forked us) dies.
    `parent`: the pid we were forked from; if it died before the signal was set, die now, since the
    kernel will not send it any more. No-op where prctl is missing (not Linux)."""
    if _PRCTL is None:
        return
    _PRCTL(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), ctypes.c_ulong(0), ctypes.c_ulong(0),
           ctypes.c_ulong(0))
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


def dies_with_us() -> Callable[[], None] | None:
    """A `preexec_fn` for Popen: the child is SIGKILLed when this process dies, however it dies.
    None where that is not possible (not Linux). Mind that the kernel watches the thread that
    forks: fork from a thread that lives as long as the child should (see `_Forker`)."""
    if _PRCTL is None:
        return None
    return functools.partial(set_death_signal, os.getpid())


class _Forker:
    """Starts processes from one daemon thread that lives as long as this process, so that
    PR_SET_PDEATHSIG (which fires when the forking *thread* exits) means "when this process dies".
    A Sandbox started from a short-lived thread (a pool worker calling api.shared_sandbox(), say)
    would otherwise see its children killed as soon as that thread ended."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen:
        with self._lock:  # a fork of this process has our _Forker but not its thread: start one
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="sandbox-forker", daemon=True)
                self._thread.start()
        done: concurrent.futures.Future = concurrent.futures.Future()
        self._jobs.put((done, argv, kwargs))
        return done.result()

    def _serve(self) -> None:
        while True:
            done, argv, kwargs = self._jobs.get()
            try:
                done.set_result(subprocess.Popen(argv, preexec_fn=dies_with_us(), **kwargs))
            except BaseException as exc:  # handed to the caller, who raises it in its own thread
                done.set_exception(exc)


_FORKER = _Forker()


def _spawn(argv: list[str], **kwargs: Any) -> subprocess.Popen:
    """Popen for the supervisor's children: killed with this process where the OS allows."""
    if _PRCTL is None:
        return subprocess.Popen(argv, **kwargs)
    return _FORKER.popen(argv, **kwargs)


@contextlib.contextmanager
def interrupt_on_stop_signals() -> Iterator[None]:
    """Inside, SIGTERM and SIGHUP raise KeyboardInterrupt as Ctrl-C does, so the same `finally`
    clauses stop the children (in their own sessions, they would outlive us otherwise). Only the
    first stop signal of any kind interrupts: a second one (another Ctrl-C, a SIGTERM after it)
    while stopping must not cut the stop short and skip its SIGKILL escalation. Main thread only;
    elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    interrupted = False

    def handler(signum: int, frame: object) -> None:
        nonlocal interrupted
        if not interrupted:
            interrupted = True
            raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@dataclass
class _Child:
    name: str
    argv: list[str]
    ready: Any  # () -> bool
    log: Path
    proc: subprocess.Popen | None = None


@dataclass
class Sandbox:
    """The embedded sandbox. `with Sandbox(home) as sb:` starts everything; leaving stops it."""

    home: Home
    proxy_port: int | None = None
    control_port: int | None = None
    service_ports: dict[str, int] = field(default_factory=dict)
    webhooks_port: int | None = None
    allow_hosts: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()  # HOST=URL: hosts sent to a server of the operator's, for every episode
    workers: int = 2
    proxy_workers: int = 1  # proxy processes sharing proxy_port (SO_REUSEPORT, Linux); `sandbox up` defaults to cores
    ephemeral: bool = False  # pick free ports instead of the defaults (tests, demo)
    reap_every: float | None = REAP_EVERY  # seconds between reaper rounds; None: no reaper (tests)
    _children: list[_Child] = field(default_factory=list)
    _reaper: Reaper | None = None
    _deliverer: Deliverer | None = None
    _restarts: Restarts | None = None

    def __post_init__(self) -> None:
        pick = free_port if self.ephemeral else None
        self.proxy_port = self.proxy_port or (pick() if pick else DEFAULT_PORTS["proxy"])
        self.control_port = self.control_port or (pick() if pick else DEFAULT_PORTS["control"])
        self.webhooks_port = self.webhooks_port or (pick() if pick else DEFAULT_PORTS["webhooks"])
        for i, service in enumerate(service_ids()):
            if service not in self.service_ports:
                self.service_ports[service] = pick() if pick else DEFAULT_PORTS["services"].get(service, 8101 + i)

    @property
    def ports(self) -> dict[str, Any]:
        ports = {"proxy": self.proxy_port, "control": self.control_port, "services": dict(self.service_ports),
                 "webhooks": self.webhooks_port}
        if self.proxy_workers > 1:
            ports["proxy_workers"] = self.proxy_workers
        if self.routes:  # the routed hosts, which an isolated agent's /etc/hosts sends to the relay too
            ports["routes"] = [route.partition("=")[0].strip().lower() for route in self.routes]
        return ports

    def _plan(self) -> list[_Child]:
        py = [sys.executable, "-m"]
        home = ["--home", str(self.home.root)]
        run = self.home.run_dir
        children = [
            _service_child(self.home, service, port, self.workers) for service, port in self.service_ports.items()
        ]
        children.append(
            _Child(
                "control",
                [*py, "sandbox.interfaces.control", *home, "--port", str(self.control_port)],
                lambda: _http_ok(f"http://127.0.0.1:{self.control_port}/health"),
                run / "control.log",
            )
        )
        return children

    def _proxy_plan(self) -> list[_Child]:
        """The proxy worker(s): one as ever, or N sharing proxy_port, each with its own log."""
        proxy_argv = [sys.executable, "-m", "sandbox.proxy", "--home", str(self.home.root), "--port",
                      str(self.proxy_port)]
        for service, port in self.service_ports.items():
            proxy_argv += ["--service", f"{service}={port}"]
        for host in self.allow_hosts:
            proxy_argv += ["--allow-host", host]
        for route in self.routes:
            proxy_argv += ["--route", route]
        count, fallback = usable_proxy_workers(self.proxy_workers)
        if fallback:
            sys.stderr.write(fallback + "\n")
        self.proxy_workers = count
        if count == 1:
            return [_Child("proxy", proxy_argv, lambda: _port_open(self.proxy_port) and self.home.ca_cert.exists(),
                           worker_log(self.home, 0, 1))]
        return [_Child(f"proxy-{i}", worker_argv(proxy_argv, i, count), ReadyLine(worker_log(self.home, i, count)),
                       worker_log(self.home, i, count)) for i in range(count)]

    def start(self) -> Sandbox:
        for name, port in [("proxy", self.proxy_port), ("control", self.control_port), ("webhooks", self.webhooks_port),
                           *self.service_ports.items()]:
            if _port_open(port):
                raise ConfigError(
                    f"port {port} for {name} is already in use on 127.0.0.1",
                    hint="is a sandbox already up (sandbox down)? or choose other ports (sandbox up --help)",
                )
        try:
            for child in self._plan():
                self._launch(child)
            proxies = self._proxy_plan()
            self._launch_proxies(proxies)
            if len(proxies) > 1:
                self._restarts = Restarts(proxies, self._relaunch, note_everywhere(self.home)).start()
            if self.reap_every is not None:
                from sandbox.episodes.reaper import Reaper  # the episode store and scoring: not for every CLI command

                self._reaper = Reaper(self.home, self.reap_every, self.home.run_dir / "reaper.log").start()
            from sandbox.webhooks.deliverer import Deliverer  # the fakes' webhook events, to the agents' endpoints

            self._deliverer = Deliverer(self.home, mailbox_port=self.webhooks_port).start()
            self._write_ports()  # last: ports.json says everything is up
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(self, child: _Child) -> None:
        self._children.append(child)
        _launch(child)

    def _launch_proxies(self, proxies: list[_Child]) -> None:
        """The first worker alone (it creates the CA, if missing, which the others then load: two
        creating it at once would sign with two CAs), then the rest at once."""
        first, *rest = proxies
        self._relaunch(first)
        self._children.append(first)
        for child in rest:
            if isinstance(child.ready, ReadyLine):
                child.ready.mark()
            self._children.append(child)
            _spawn_child(child)
        for child in rest:
            _await_ready(child)

    @staticmethod
    def _relaunch(child: _Child) -> None:
        if isinstance(child.ready, ReadyLine):
            child.ready.mark()  # ready once this start says so, not on an earlier start's line
        _launch(child)

    def _write_ports(self) -> None:
        data = {**self.ports, "pid": os.getpid(), "started_at": time.time()}
        tmp = self.home.ports_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(self.home.ports_file)

    def stop(self) -> None:
        if self._restarts is not None:
            self._restarts.stop()  # first: a worker stopped below must not be started again
            self._restarts = None
        if self._reaper is not None:
            self._reaper.stop()  # first: a round finishing an episode is let to end, not cut off
            self._reaper = None
        if self._deliverer is not None:
            self._deliverer.stop()
            self._deliverer = None
        _stop(self._children)
        self._children.clear()
        try:
            data = json.loads(self.home.ports_file.read_text())
            if data.get("pid") == os.getpid():
                self.home.ports_file.unlink()
        except (FileNotFoundError, ValueError):
            pass

    def wait(self) -> int:
        """Block until a child dies or we are interrupted; returns the exit status to use."""
        try:
            while True:
                if self._restarts is not None and self._restarts.failed:
                    sys.stderr.write(f"{self._restarts.failed}; stopping\n")
                    return 1
                for child in self._children:
                    if self._restarts is not None and child in self._restarts.children:
                        continue  # a proxy worker: restarted, not fatal
                    if child.proc and child.proc.poll() is not None:
                        sys.stderr.write(f"{child.name} exited ({child.proc.returncode}); stopping\n")
                        return 1
                time.sleep(0.5)
        except KeyboardInterrupt:
            return 0

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _service_child(home: Home, service: str, port: int, workers: int, threads: int = 4) -> _Child:
    argv = [sys.executable, "-m", "sandbox.run.serve", service, "--home", str(home.root), "--port", str(port),
            "--workers", str(workers), "--threads", str(threads)]
    return _Child(
        f"service-{service}",
        argv,
        lambda: _http_ok(f"http://127.0.0.1:{port}/_sandbox/health"),
        home.run_dir / f"{service}.log",
    )


def _launch(child: _Child) -> None:
    """Start `child` in its own process group and wait until it is ready, or raise with its log."""
    _spawn_child(child)
    _await_ready(child)


def _spawn_child(child: _Child) -> None:
    """Start `child` in its own process group, its output to its log."""
    log = open(child.log, "ab")  # noqa: SIM115 - the child owns it for its lifetime
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child.proc = _spawn(
        child.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env=env, start_new_session=True,
    )
    log.close()


def _await_ready(child: _Child) -> None:
    """Wait until `child` is ready, or raise with its log (it exited, or START_TIMEOUT passed)."""
    assert child.proc is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise ServiceError(
                f"{child.name} exited with status {child.proc.returncode} while starting",
                hint=f"its log says:\n{_tail(child.log)}",
            )
        if child.ready():
            return
        time.sleep(0.05)
    raise ServiceError(f"{child.name} did not become ready in {START_TIMEOUT:.0f} s", hint=_tail(child.log))


def _stop(children: list[_Child]) -> None:
    """SIGTERM every child's process group (gunicorn workers included), SIGKILL what lingers."""
    for child in reversed(children):
        if child.proc and child.proc.poll() is None:
            try:
                os.killpg(child.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for child in reversed(children):
        if child.proc is None:
            continue
        try:
            child.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(child.proc.pid, signal.SIGKILL)
            child.proc.wait()


@contextlib.contextmanager
def running_service(home: Home, service: str, *, workers: int = 1, threads: int = 4) -> Iterator[int]:
    """One fake in its own gunicorn process on a free loopback port; yields the port."""
    port = free_port()
    child = _service_child(home, service, port, workers, threads)
    try:
        _launch(child)
        yield port
    finally:
        _stop([child])


def running_ports(home: Home) -> dict[str, Any] | None:
    """The ports of a sandbox already up on this home: its supervisor is alive and its proxy
    answers. A ports.json left by a killed supervisor is not trusted, even if something else
    listens on its proxy port by now."""
    try:
        data = json.loads(home.ports_file.read_text())
        pid, proxy = data["pid"], int(data["proxy"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(pid, int) or not pid_alive(pid):
        return None
    return data if _port_open(proxy) else None


def pid_alive(pid: int) -> bool:
    """True if process `pid` exists and has not exited (a zombie, exited but not yet waited for,
    counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): kill(0) said it exists
    return state != "Z"


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
