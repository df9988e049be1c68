"""What the launcher is told about an episode: routed hosts resolve to the relay like vendor hosts."""

from __future__ import annotations

import json
import os

import pytest

from sandbox.episodes.store import EpisodeStore
from sandbox.home import Home
from sandbox.isolation import available
from sandbox.isolation.host import VENDOR_IP, Isolation, isolation_for
from sandbox.isolation.launch import hosts_file
from sandbox.run.agent_env import agent_env
from sandbox.run.runner import run_process
from tests.proxy.model_stand_in import MODEL, ModelStandIn


def test_routed_hosts_go_in_the_namespaces_hosts_file_like_vendor_hosts(tmp_path):
    home = Home.resolve(tmp_path / "home")
    ports = {"proxy": 8080, "services": {"payments": 8101}, "routes": ["api.anthropic.com"]}  # `sandbox up --route`
    isolation = Isolation.for_episode(home, ports, {}, routed=["api.openai.com"])  # the episode's own
    assert {"api.stripe.com", "api.openai.com", "api.anthropic.com"} <= set(isolation.hosts)
    lines = hosts_file(json.loads(isolation.spec())).splitlines()
    assert f"{VENDOR_IP}\tapi.openai.com" in lines and f"{VENDOR_IP}\tapi.anthropic.com" in lines
    assert "api.openai.com" not in Isolation.for_episode(home, {"proxy": 8080}, {}).hosts  # only when routed


@pytest.mark.skipif(not available()[0], reason=f"isolation unavailable here: {available()[1]}")
def test_an_isolated_client_that_ignores_the_proxy_reaches_the_routed_server(running_sandbox, tmp_path):
    """curl --noproxy '*' to https://api.openai.com, in the agent's namespace: /etc/hosts sends it to
    the relay, the relay to the proxy, the proxy to the episode's model server; ledgered as routed."""
    home = running_sandbox.home
    store = EpisodeStore(home)
    try:
        with ModelStandIn() as server:
            episode = store.create(0, routes={"api.openai.com": f"{server.url}/v1"})
            env = {**os.environ, **agent_env(home, episode, running_sandbox.ports)}
            isolation, _ = isolation_for(True, home, running_sandbox.ports, env, [r.host for r in episode.routes])
            log = tmp_path / "agent.log"
            command = ["sh", "-c", "grep -c api.openai.com /etc/hosts; "
                       "curl -sS --noproxy '*' https://api.openai.com/v1/models -H 'Authorization: Bearer sk-x'"]
            code, _, error = run_process(command, env, 30, log, isolation=isolation)
            out = log.read_text(errors="replace")
            assert (code, error) == (0, None), out
            assert out.startswith("1\n") and MODEL in out
            assert [s.path for s in server.seen] == ["/v1/models"]
        with store.ledger(episode.id) as ledger:
            rows = [(e["via"], e["host"], e["path"], e["service"], e["outcome"]) for e in ledger.exchanges()]
        assert rows == [("proxy", "api.openai.com", "/v1/models", "route:api.openai.com", "routed")]
    finally:
        store.close()
