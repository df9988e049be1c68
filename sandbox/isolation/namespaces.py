"""Linux namespaces through libc, for the launcher: can we, and the few calls it needs.

Python 3.11 has no `os.unshare`, so unshare(2), mount(2) and prctl(2) go through ctypes. Nothing
here needs root: an unprivileged process may create a user namespace, and inside it holds the
capabilities that creating a network, mount and pid namespace need (Linux >= 3.8, unless the
distribution turned unprivileged user namespaces off).
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import os
import socket
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
ALL = CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

PR_SET_PDEATHSIG = 1
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

# The running program's own symbols include libc's: no ctypes.util.find_library, which runs
# ldconfig in a subprocess and would cost each isolated agent start several milliseconds.
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_libc.unshare.argtypes = (ctypes.c_int,)
_libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    """unshare(2). The caller must be single-threaded for CLONE_NEWUSER (EINVAL otherwise)."""
    _check(_libc.unshare(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    _check(_libc.mount(_bytes(source), target.encode(), _bytes(fstype), flags, _bytes(data)), f"mount {target}")


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else text.encode()


def die_with_parent(sig: int = 9) -> None:
    """PR_SET_PDEATHSIG: the kernel sends `sig` to this process when its parent dies."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def map_ids(uid: int, gid: int, pid: str = "self") -> None:
    """Map `uid`/`gid` to themselves in the (new) user namespace of `pid`: the agent keeps its ids,
    and owns nothing else. An unprivileged process may map exactly its own ids, and only after
    giving up setgroups(2), so "deny" comes first."""
    base = f"/proc/{pid}"
    with open(f"{base}/setgroups", "w") as f:
        f.write("deny")
    with open(f"{base}/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open(f"{base}/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")


def loopback_up() -> None:
    """`ip link set lo up` without iproute2: a new network namespace starts with `lo` down."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


UNAVAILABLE = ("user namespaces are disabled (kernel.unprivileged_userns_clone=0 / user.max_user_namespaces=0)")


def _probe() -> str | None:
    """Try, in a forked child, what the launcher does first: a user + network + mount + pid
    namespace with our ids mapped and `lo` up. None if it worked, else why not."""
    if not sys.platform.startswith("linux"):
        return f"network namespaces are Linux-only (this is {sys.platform})"
    read, write = os.pipe()
    uid, gid = os.getuid(), os.getgid()
    pid = os.fork()
    if pid == 0:  # the child: single-threaded after fork, as unshare(CLONE_NEWUSER) requires
        os.close(read)
        why = b""
        try:
            unshare(ALL)
            map_ids(uid, gid)
            loopback_up()
            mount(None, "/", None, MS_REC | MS_PRIVATE)
        except BaseException as exc:  # noqa: BLE001 - anything at all is "no", with its text
            text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            why = text.encode()[:500]
        os.write(write, why)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        why = f.read().decode(errors="replace")
    os.waitpid(pid, 0)
    if not why:
        return None
    # EPERM: disabled by sysctl, seccomp or LSM; ENOSPC: max_user_namespaces=0 (or used up).
    if "Operation not permitted" in why or "No space left" in why:
        return f"{UNAVAILABLE} ({why})"
    return f"cannot create the agent's namespaces: {why}"


@functools.cache
def available() -> tuple[bool, str | None]:
    """(True, None) when this machine can isolate an agent, else (False, why). Checked once per
    process, by actually trying (a sysctl says too little: containers, seccomp, AppArmor)."""
    why = _probe()
    return why is None, why
