"""The launcher: `python -m sandbox.isolation.launch --spec JSON -- COMMAND...` runs COMMAND in a
network namespace whose only way out is the proxy. It is what the runner starts instead of the
agent (same process group, same environment, same output); no root needed.

    launcher (L, the process the runner started)
    ├── gate (G): forked first, so it keeps the host's loopback; connects the relay's requests to
    │             the proxy, a fake or the webhook mailbox and passes the sockets back (gate.py)
    └── unshare(user, net, mount, pid); ids mapped; `lo` up; /etc/hosts, resolv.conf and the
        sandbox home replaced in a private mount table
        └── init (I, pid 1 of the new pid namespace): mounts its /proc, reaps orphans
            ├── relay (R): the listeners (relay.py), talking to G over an inherited socketpair
            └── agent (A): a nested user + mount namespace locks the mounts above, then execve

When the agent exits, I exits with its status and the kernel kills every process left in the pid
namespace: nothing the agent started outlives it, even if it left the process group. L exits with
the agent's status (or dies of the agent's signal), so the runner sees what it would see without
isolation. Failures of the launcher itself exit 125 with a message that names the step.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys

from sandbox.isolation import gate, namespaces
from sandbox.isolation.namespaces import MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC
from sandbox.isolation.relay import GateClient, Listener, Relay, bind

TYPE_CHECKING = False  # typing itself is ~8 ms of import: not on every agent's start
if TYPE_CHECKING:
    from typing import Any, NoReturn

OWN_FAILURE = 125  # as `docker run`: the wrapper failed, not the command
PR_SET_DUMPABLE = 4
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# Name services that answer over a Unix socket on the host (path sockets cross network
# namespaces): covered, so a lookup cannot ask the host's resolver behind our /etc/hosts.
NSS_SOCKETS = ("/run/nscd/socket", "/var/run/nscd/socket", "/run/systemd/resolve/io.systemd.Resolve")
SCRATCH = ".sandbox-isolation"  # in the first hidden folder's tmpfs: the generated hosts and resolv.conf


def fail(step: str, exc: BaseException) -> NoReturn:
    sys.stderr.write(f"sandbox isolation: {step} failed: {exc}\n"
                     "  (run without isolation with --no-isolate, or isolate=False)\n")
    sys.stderr.flush()
    os._exit(OWN_FAILURE)


def listeners(spec: dict[str, Any]) -> list[Listener]:
    vendor_ip = spec["vendor_ip"]
    out = [Listener("127.0.0.1", int(port), "pipe", name) for name, port in spec["targets"].items()]
    out += [Listener(vendor_ip, 443, "tls"), Listener(vendor_ip, 80, "http")]
    return out


def hosts_file(spec: dict[str, Any]) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
             f"127.0.0.1\t{socket.gethostname()}"]
    lines += [f"{spec['vendor_ip']}\t{host}" for host in spec["hosts"]]
    return "\n".join(lines) + "\n"


def private_view(spec: dict[str, Any]) -> None:
    """The mount table the agent sees: the sandbox home replaced by a tmpfs holding only the files
    it may read (the CA certificate), and name resolution that leads to the relay."""
    namespaces.mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount leaks back to the host
    # A kept file is written again into the tmpfs over its folder: one outside every hidden folder
    # would be written over the host's own file, so such an entry is ignored.
    hidden = [os.path.join(os.path.realpath(folder), "") for folder in spec["hide"]]
    kept = {path: _read(path) for path in spec["keep"]
            if os.path.isfile(path) and os.path.realpath(path).startswith(tuple(hidden))}
    for folder in spec["hide"]:
        namespaces.mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m")
    for path, data in kept.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _write(path, data)
    scratch = os.path.join(spec["hide"][0], SCRATCH)
    os.makedirs(scratch, exist_ok=True)
    _write(os.path.join(scratch, "hosts"), hosts_file(spec).encode())
    # Nothing listens on 127.0.0.1:53 but the relay's DNS answer, so every other name leads to it.
    _write(os.path.join(scratch, "resolv.conf"), b"nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    for name, target in (("hosts", "/etc/hosts"), ("resolv.conf", "/etc/resolv.conf")):
        real = os.path.realpath(target)
        if os.path.isfile(real):  # a missing resolv.conf means 127.0.0.1 to glibc already
            namespaces.mount(os.path.join(scratch, name), real, None, MS_BIND)
            namespaces.mount(None, real, None, MS_BIND | namespaces.MS_REMOUNT | MS_RDONLY)
    for path in NSS_SOCKETS:
        if os.path.exists(path):
            namespaces.mount("/dev/null", path, None, MS_BIND)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def _devnull_stdio() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def run_gate(channel: socket.socket, targets: dict[str, int]) -> NoReturn:
    try:
        namespaces.die_with_parent()
        _devnull_stdio()
        gate.serve(channel, targets)
    finally:
        os._exit(0)


def run_relay(spec: dict[str, Any], channel: socket.socket, listening: list, dns: socket.socket) -> NoReturn:
    try:
        namespaces.die_with_parent()
        # Not dumpable: the agent (same uid, but in a nested user namespace) cannot ptrace the relay
        # or open its descriptors through /proc, so the gate channel stays the relay's own.
        namespaces._libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        _devnull_stdio()
        relay = Relay(GateClient(channel), os.environ.get("SANDBOX_PROXY_URL", ""), spec["vendor_ip"])
        if spec.get("webhooks"):
            import threading

            threading.Thread(target=relay.serve_webhooks, daemon=True).start()
        relay.serve(listening, dns)
    finally:
        os._exit(0)


def run_agent(command: list[str], uid: int, gid: int, cwd: str) -> NoReturn:
    try:
        for sig in FORWARDED:
            signal.signal(sig, signal.SIG_DFL)
        # A nested user + mount namespace makes every mount above "locked": even an agent that is
        # root here (the caller was root: uid 0 maps to itself) cannot unmount the tmpfs over the
        # home or the hosts file, and holds no capability over the network namespace, which
        # belongs to the outer user namespace. No process in here can join the host's network
        # namespace: that needs CAP_SYS_ADMIN in the host's user namespace.
        namespaces.unshare(namespaces.CLONE_NEWUSER | namespaces.CLONE_NEWNS)
        namespaces.map_ids(uid, gid)
    except OSError as exc:
        fail("locking the agent's mounts", exc)
    try:
        os.chdir(cwd)  # again: a working directory inside the hidden home now lands on its tmpfs
    except OSError:
        os.chdir("/")
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        sys.stderr.write(f"sandbox isolation: cannot run {command[0]}: {exc.strerror or exc}\n")
        os._exit(127)


def run_init(spec: dict[str, Any], command: list[str], channel: socket.socket, status_out: int,
             uid: int, gid: int, cwd: str) -> NoReturn:
    try:
        namespaces.die_with_parent()
        # Our own /proc: only this namespace's processes, so none of the host's (nor their
        # /proc/PID/root, a way back into the host's mount table) is in view.
        namespaces.mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        listening = bind(listeners(spec))
        dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        dns.bind(("127.0.0.1", 53))
    except OSError as exc:
        fail("starting the relay", exc)
    if os.fork() == 0:
        run_relay(spec, channel, listening, dns)
    for sock, _ in listening:
        sock.close()
    dns.close()
    channel.close()
    agent = os.fork()
    if agent == 0:
        os.close(status_out)
        run_agent(command, uid, gid, cwd)
    for sig in FORWARDED:
        signal.signal(sig, lambda signum, frame: os.kill(agent, signum))
    while True:  # pid 1 adopts every orphan of the namespace: reap them until the agent is done
        pid, status = os.waitpid(-1, 0)
        if pid == agent:
            break
    os.write(status_out, struct.pack("!i", status))
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)  # and the kernel kills whatever is left in here


def launch(spec: dict[str, Any], command: list[str]) -> NoReturn:
    uid, gid, cwd = os.getuid(), os.getgid(), os.getcwd()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    if os.fork() == 0:
        theirs.close()
        targets = {name: int(port) for name, port in spec["targets"].items()}
        if spec.get("webhooks"):  # for the relay's webhook poll only: no listener in the namespace leads there
            targets["webhooks"] = int(spec["webhooks"])
        run_gate(ours, targets)
    ours.close()
    try:
        namespaces.unshare(namespaces.ALL)
        namespaces.map_ids(uid, gid)
        namespaces.loopback_up()
        private_view(spec)
    except OSError as exc:
        fail("creating the agent's namespaces", exc)
    status_in, status_out = os.pipe()
    init = os.fork()  # the first child after unshare(CLONE_NEWPID) is pid 1 of the new namespace
    if init == 0:
        os.close(status_in)
        run_init(spec, command, theirs, status_out, uid, gid, cwd)
    theirs.close()
    os.close(status_out)
    for sig in FORWARDED:
        signal.signal(sig, lambda signum, frame: os.kill(init, signum))
    _, init_status = os.waitpid(init, 0)
    reported = os.read(status_in, 4)
    if len(reported) == 4:
        status = struct.unpack("!i", reported)[0]
        if os.WIFSIGNALED(status):  # die of the agent's signal: the runner sees -N, as without us
            sig = os.WTERMSIG(status)
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        os._exit(os.waitstatus_to_exitcode(status))
    code = os.waitstatus_to_exitcode(init_status)
    os._exit(code if code >= 0 else 128 - code)


USAGE = "usage: python -m sandbox.isolation.launch --spec JSON -- COMMAND..."


def main(argv: list[str] | None = None) -> NoReturn:
    """No argparse: its import alone is a few milliseconds of every isolated agent's start."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 4 or args[0] != "--spec" or args[2] != "--":
        sys.stderr.write(f"{USAGE}\n")
        sys.exit(2)
    try:
        spec = json.loads(args[1])
    except ValueError as exc:
        sys.stderr.write(f"sandbox isolation: --spec is not JSON: {exc}\n{USAGE}\n")
        sys.exit(2)
    sys.stdout.flush()
    launch(spec, args[3:])


if __name__ == "__main__":
    main()
