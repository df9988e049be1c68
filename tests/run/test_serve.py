"""Bind guards: the proxy, the fakes and the control API listen on loopback unless the operator
passes --allow-remote (sandbox/run/bind.py). Refused before anything listens or the home is made."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.errors import ConfigError
from sandbox.run.bind import is_loopback, require_loopback

ROOT = Path(__file__).resolve().parents[2]
REMOTE = ("0.0.0.0", "", "::", "192.168.1.5", "10.0.0.1", "example.org", "127.0.0.1.example.org")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_addresses_are_allowed(host):
    assert is_loopback(host)
    require_loopback(host, False, "the proxy")


@pytest.mark.parametrize("host", REMOTE)
def test_other_addresses_need_allow_remote(host):
    assert not is_loopback(host)
    with pytest.raises(ConfigError, match="the proxy is for this machine only") as refused:
        require_loopback(host, False, "the proxy")
    assert "--allow-remote" in refused.value.hint
    require_loopback(host, True, "the proxy")


@pytest.mark.parametrize("argv", [
    ["serve", "payments", "--host", "0.0.0.0"],
    ["proxy", "--listen-host", "0.0.0.0"],
    ["control", "--host", "0.0.0.0"],
])
def test_every_command_that_listens_refuses_a_remote_address(tmp_path, argv):
    home = tmp_path / "home"
    result = CliRunner().invoke(main, ["--home", str(home), *argv])
    assert result.exit_code == 2, result.output
    output = result.output + (result.stderr if result.stderr_bytes else "")
    assert "refusing to listen on 0.0.0.0" in output and "--allow-remote" in output


def test_python_m_sandbox_serve_refuses_a_remote_address(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.run.serve", "payments", "--home", str(tmp_path / "home"), "--host", "0.0.0.0"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0: the payments fake is for this machine only" in result.stderr
    assert not (tmp_path / "home").exists()  # refused before the home was made


@pytest.mark.parametrize("module", ["sandbox.interfaces.control", "sandbox.proxy"])
def test_python_m_control_and_proxy_refuse_a_remote_address_without_a_traceback(tmp_path, module):
    flag = "--host" if module == "sandbox.interfaces.control" else "--listen-host"
    result = subprocess.run([sys.executable, "-m", module, "--home", str(tmp_path / "home"), flag, "0.0.0.0"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "refusing to listen on 0.0.0.0" in result.stderr and "Traceback" not in result.stderr
