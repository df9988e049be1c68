"""`sandbox up` stopped by a signal: SIGTERM (docker stop, systemd, kill) and SIGHUP (a closed
terminal) stop every child as Ctrl-C does, instead of leaving fakes, control and proxy running.
Killed outright (SIGKILL: nothing of ours runs), the children die with it all the same (Linux)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sandbox.home import Home
from sandbox.run.supervisor import _spawn, dies_with_us, free_port, running_ports
from services import service_ids

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
KILLED_BOUND = 5.0  # seconds the tree of a SIGKILLed supervisor may take to go (measured: well under 0.1 s)

ROOT = Path(__file__).resolve().parents[2]
BOUND = 30.0  # seconds a stop may take (children get 10 s to go before SIGKILL)


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (children in their own sessions included), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(predicate, what: str, bound: float = BOUND) -> None:
    deadline = time.monotonic() + bound
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {bound:.0f} s: {what}")
        time.sleep(0.1)


def _start_up(tmp_path: Path, workers: int = 1) -> tuple[subprocess.Popen, dict[str, int], Path]:
    """`sandbox up` in a subprocess on free ports: (process, ports, its log)."""
    home = tmp_path / "home"
    ports = {"proxy": free_port(), "control": free_port(), **{s: free_port() for s in service_ids()}}
    argv = [sys.executable, "-m", "sandbox.cli", "--home", str(home), "up", "--workers", str(workers),
            "--proxy-port", str(ports["proxy"]), "--control-port", str(ports["control"]),
            *[f"--service-port={s}={ports[s]}" for s in service_ids()]]
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    return up, ports, log


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_to_sandbox_up_stops_every_child(tmp_path, signum):
    home = tmp_path / "home"
    up, ports, log = _start_up(tmp_path)
    children: set[int] = set()
    try:
        ports_file = home / "run" / "ports.json"
        wait_for(lambda: ports_file.exists() or up.poll() is not None, "sandbox up wrote its ports", 90)
        assert up.poll() is None, log.read_text()
        assert json.loads(ports_file.read_text())["pid"] == up.pid
        children = descendants(up.pid)
        assert len(children) >= len(service_ids()) + 2  # a gunicorn per fake (and its workers), control, proxy
        assert all(listening(port) for port in ports.values())

        up.send_signal(signum)
        assert up.wait(timeout=BOUND) == 0, log.read_text()
        wait_for(lambda: not any(alive(pid) for pid in children),
                 f"children gone, left: {sorted(p for p in children if alive(p))}")
        wait_for(lambda: not any(listening(port) for port in ports.values()),
                 f"ports closed, open: {[n for n, p in ports.items() if listening(p)]}")
        assert not ports_file.exists()  # no stale ports.json pointing at nothing
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        for pid in children:  # before the fix the children outlive `up`: don't leak them into the session
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_a_stop_signal_to_sandbox_run_stops_the_agent_and_the_sandbox_it_started(tmp_path):
    marker = tmp_path / "agent-started"
    agent = [sys.executable, "-c", f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(300)"]
    argv = [sys.executable, "-m", "sandbox.cli", "--home", str(tmp_path / "home"), "run",
            "refund-duplicate-charge", "--", *agent]
    run = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: set[int] = set()
    try:
        wait_for(lambda: marker.exists() or run.poll() is not None, "the agent started", 90)
        children = descendants(run.pid)
        assert len(children) >= 3, "the agent, the fakes and the proxy run below `sandbox run`"
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=BOUND)
        wait_for(lambda: not any(alive(pid) for pid in children), "every child of `sandbox run` is gone")
    finally:
        for pid in [*children, run.pid]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_an_agent_leaves_nothing_running_when_it_exits(tmp_path):
    from sandbox.run.runner import run_process

    pidfile = tmp_path / "grandchild.pid"
    code, timed_out, error = run_process(["sh", "-c", f"sleep 300 & echo $! > {pidfile}"], dict(os.environ), 30)
    assert (code, timed_out, error) == (0, False, None)
    grandchild = int(pidfile.read_text())
    wait_for(lambda: not alive(grandchild), "the agent's background child is gone", 5)


def _gone_within(children: set[int], bound: float) -> float:
    """Seconds until none of `children` is alive; fails naming the survivors after `bound`."""
    started = time.monotonic()
    wait_for(lambda: not any(alive(pid) for pid in children),
             f"every child gone, left: {sorted(p for p in children if alive(p))}", bound)
    return time.monotonic() - started


@linux_only
@pytest.mark.slow
def test_a_sigkilled_sandbox_up_leaves_no_process_and_no_trusted_ports(tmp_path):
    up, ports, log = _start_up(tmp_path, workers=2)  # 2 workers: the grandchildren must go too
    children: set[int] = set()
    try:
        ports_file = tmp_path / "home" / "run" / "ports.json"
        wait_for(lambda: ports_file.exists() or up.poll() is not None, "sandbox up wrote its ports", 90)
        assert up.poll() is None, log.read_text()
        children = descendants(up.pid)
        # per fake a gunicorn master and 2 workers, the control API's master and worker, the proxy
        assert len(children) >= 3 * len(service_ids()) + 3, children
        up.kill()
        up.wait()
        _gone_within(children, KILLED_BOUND)
        wait_for(lambda: not any(listening(port) for port in ports.values()),
                 f"ports closed, open: {[n for n, p in ports.items() if listening(p)]}", KILLED_BOUND)
        assert ports_file.exists()  # nobody was left to remove it...
        assert running_ports(Home.resolve(tmp_path / "home")) is None  # ...and nobody trusts it
    finally:
        for pid in [*children, up.pid]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@linux_only
@pytest.mark.slow
def test_a_sigkilled_sandbox_run_takes_its_agent_and_its_sandbox_with_it(tmp_path):
    marker = tmp_path / "agent-started"
    agent = [sys.executable, "-c", f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(300)"]
    argv = [sys.executable, "-m", "sandbox.cli", "--home", str(tmp_path / "home"), "run",
            "refund-duplicate-charge", "--", *agent]
    run = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: set[int] = set()
    try:
        wait_for(lambda: marker.exists() or run.poll() is not None, "the agent started", 90)
        children = descendants(run.pid)
        assert len(children) >= len(service_ids()) + 3, "the agent, the fakes, control and the proxy run below it"
        run.kill()
        run.wait()
        _gone_within(children, KILLED_BOUND)
    finally:
        for pid in [*children, run.pid]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@linux_only
def test_children_outlive_the_thread_that_asked_for_them(tmp_path):
    """The kernel sends PDEATHSIG when the *thread* that forked ends: a child started by a thread
    that ends (directly, with dies_with_us) is killed, one started through _spawn (forked by a
    long-lived thread) lives on while its process does."""
    started: dict[str, subprocess.Popen] = {}

    def direct() -> None:
        started["direct"] = subprocess.Popen(["sleep", "30"], preexec_fn=dies_with_us())

    def spawned() -> None:
        started["spawned"] = _spawn(["sleep", "30"])

    try:
        for target in (direct, spawned):
            thread = threading.Thread(target=target)
            thread.start()
            thread.join()
        wait_for(lambda: started["direct"].poll() is not None, "the directly forked child died with its thread", 5)
        assert started["direct"].returncode == -signal.SIGKILL
        time.sleep(0.3)
        assert started["spawned"].poll() is None
    finally:
        for proc in started.values():
            proc.kill()
            proc.wait()


def test_running_ports_trusts_a_live_supervisor_only(tmp_path):
    home = Home.resolve(tmp_path / "home")
    with socket.socket() as listener:  # something listens on the proxy port either way
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        dead = subprocess.Popen(["true"])
        dead.wait()
        for pid, trusted in ((dead.pid, False), (os.getpid(), True), ("1; rm", False)):
            home.ports_file.write_text(json.dumps({"proxy": port, "control": port, "services": {}, "pid": pid}))
            assert (running_ports(home) is not None) == trusted, pid
    home.ports_file.write_text("{}")
    assert running_ports(home) is None


def test_sandbox_up_routes_go_to_the_proxy_and_their_hosts_to_the_ports_file(tmp_path):
    from sandbox.run.supervisor import Sandbox

    routes = ("api.openai.com=http://127.0.0.1:8000/v1", "api.anthropic.com=http://127.0.0.1:8001#keep-auth")
    sandbox = Sandbox(Home.resolve(tmp_path / "home"), ephemeral=True, routes=routes)
    [proxy] = sandbox._proxy_plan()
    given = [proxy.argv[i + 1] for i, arg in enumerate(proxy.argv) if arg == "--route"]
    assert given == list(routes)
    # ports.json carries the routed hosts, for an isolated agent's /etc/hosts (sandbox/isolation/host.py).
    assert sandbox.ports["routes"] == ["api.openai.com", "api.anthropic.com"]
    assert "routes" not in Sandbox(Home.resolve(tmp_path / "other"), ephemeral=True).ports
