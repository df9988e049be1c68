"""What the launcher is told about an episode: routed hosts resolve to the relay like vendor hosts."""

from __future__ import annotations

import json

from sandbox.home import Home
from sandbox.isolation.host import VENDOR_IP, Isolation
from sandbox.isolation.launch import hosts_file


def test_routed_hosts_go_in_the_namespaces_hosts_file_like_vendor_hosts(tmp_path):
    home = Home.resolve(tmp_path / "home")
    ports = {"proxy": 8080, "services": {"payments": 8101}, "routes": ["api.anthropic.com"]}  # `sandbox up --route`
    isolation = Isolation.for_episode(home, ports, {}, routed=["api.openai.com"])  # the episode's own
    assert {"api.stripe.com", "api.openai.com", "api.anthropic.com"} <= set(isolation.hosts)
    lines = hosts_file(json.loads(isolation.spec())).splitlines()
    assert f"{VENDOR_IP}\tapi.openai.com" in lines and f"{VENDOR_IP}\tapi.anthropic.com" in lines
    assert "api.openai.com" not in Isolation.for_episode(home, {"proxy": 8080}, {}).hosts  # only when routed
