"""Whether this machine can isolate an agent is known by trying, once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sandbox.isolation import decide, namespaces
from sandbox.isolation.namespaces import available


def test_available_is_probed_once_and_cached():
    first = available()
    assert available() is first
    if not first[0]:
        assert first[1]  # says why


def test_no_isolate_is_never_probed_and_says_so():
    assert decide(False) == (False, "--no-isolate")


@pytest.mark.skipif(not available()[0], reason="user namespaces unavailable here")
def test_a_new_network_namespace_has_only_loopback_and_it_is_up():
    code = (
        "import os, socket\n"
        "from sandbox.isolation import namespaces as n\n"
        "uid, gid = os.getuid(), os.getgid()  # before: once unshared, they read as the overflow id\n"
        "n.unshare(n.CLONE_NEWUSER | n.CLONE_NEWNET); n.map_ids(uid, gid); n.loopback_up()\n"
        "print(sorted(name for _, name in socket.if_nameindex()))\n"
        "s = socket.create_server(('127.0.0.1', 0)); socket.create_connection(s.getsockname()).close()\n"
        "print('uid', os.getuid())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True).stdout
    assert out.splitlines() == ["['lo']", f"uid {os.getuid()}"]
    assert namespaces.ALL & namespaces.CLONE_NEWPID


UNAVAILABLE_HERE = """
import sys
from sandbox.isolation import decide, isolation_for
from sandbox.errors import ConfigError
print(isolation_for(None, None, {}, {}))
print(decide(None))  # the warning is printed once per process, not per agent
try:
    decide(True)
except ConfigError as exc:
    print("required:", exc.message)
"""


@pytest.mark.skipif(not available()[0], reason="user namespaces unavailable here")
def test_where_user_namespaces_are_off_the_agent_runs_without_and_a_warning_says_why():
    # A real machine without user namespaces, no mock: a user namespace of our own whose
    # user.max_user_namespaces is 0, so nothing inside it can create another.
    script = f"echo 0 > /proc/sys/user/max_user_namespaces && exec {sys.executable} -c '{UNAVAILABLE_HERE}'"
    done = subprocess.run(["unshare", "-Ur", "sh", "-c", script], capture_output=True, text=True, timeout=60)
    if done.returncode and "max_user_namespaces" in done.stderr:
        pytest.skip(f"cannot limit user namespaces here: {done.stderr}")
    why = ("user namespaces are disabled (kernel.unprivileged_userns_clone=0 / user.max_user_namespaces=0) "
           "(unshare: No space left on device)")
    assert done.stdout.splitlines() == [
        f"(None, {{'isolated': False, 'isolation': {why!r}}})",
        f"(False, {why!r})",
        f"required: isolation unavailable: {why}",
    ]
    assert done.stderr == (f"isolation unavailable: {why}; running the agent without it: a client that ignores "
                           "HTTPS_PROXY can reach the network — pass --no-isolate to silence this\n")
