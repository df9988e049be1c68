"""The proxy process: CA in the home, health check, clean stop, loud failures."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import requests

from sandbox.home import Home
from tests.proxy.conftest import REPO, running_proxy

pytestmark = pytest.mark.slow


def test_ca_is_in_the_home_once_listening(world):
    assert world.home.ca_cert.exists()
    assert world.home.ca_cert.read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_health_check_needs_no_credentials(world):
    session = requests.Session()
    session.trust_env = False
    response = session.get(f"{world.proxy.url}/_sandbox/health", timeout=5)
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_sigterm_stops_cleanly(tmp_path):
    home = Home.resolve(tmp_path)
    with running_proxy(home, "--service", "payments=9", "--route", "api.stripe.com=payments") as proxy:
        proxy.proc.send_signal(signal.SIGTERM)
        assert proxy.proc.wait(timeout=10) == 0


def _run(home: Home, *args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "sandbox.proxy", "--home", str(home.root), "--route", "api.stripe.com=payments"]
    return subprocess.run([*argv, *args], cwd=REPO, capture_output=True, text=True, timeout=30)


def test_port_in_use_fails_loudly(world, tmp_path):
    result = _run(Home.resolve(tmp_path), "--port", str(world.proxy.port), "--service", "payments=9")
    assert result.returncode == 2
    assert f"could not listen on 127.0.0.1:{world.proxy.port}" in result.stderr


def test_bad_options_name_themselves(tmp_path):
    home = Home.resolve(tmp_path)
    result = _run(home, "--port", "0", "--service", "payments=9", "--allow-host", "https://example.org/")
    assert result.returncode == 2 and "egress_allow_hosts" in result.stderr
    result = _run(home, "--port", "0")
    assert result.returncode == 2 and "--service payments=PORT" in result.stderr
