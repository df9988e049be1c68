"""What an agent process needs to live inside an episode: proxy, CA, fake API keys. Nothing more:
in particular nothing about the control API, which is the operator's."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sandbox.episodes.store import Episode
from sandbox.errors import SandboxError
from sandbox.home import Home
from sandbox.world import world
from services import get_service

AGENT_PYTHON = Path(__file__).with_name("agent_python")  # sitecustomize.py: the stripe SDK trusts the sandbox CA
# Where OpenSSL, httpx, requests, curl and Node look for the CA to trust.
CA_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")


def proxy_url(episode: Episode, proxy_port: int, host: str = "127.0.0.1") -> str:
    return f"http://{episode.id}:{episode.token}@{host}:{proxy_port}"


def agent_env(home: Home, episode: Episode, ports: dict[str, Any]) -> dict[str, str]:
    """Environment variables that route an agent's HTTP(S) through the episode's proxy.

    SSL_CERT_FILE / REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE / NODE_EXTRA_CA_CERTS cover OpenSSL, httpx,
    requests, curl and Node. The `stripe` SDK ignores them all and pins its own bundle: PYTHONPATH
    starts with a folder whose `sitecustomize` points it at SSL_CERT_FILE in any Python the agent
    runs (sandbox/run/agent_python/sitecustomize.py).

    With a task attached to the episode: SANDBOX_TASK_ID and SANDBOX_TASK_INSTRUCTION too."""
    url = proxy_url(episode, int(ports["proxy"]))
    ca = str(home.ca_cert)
    env = {
        "SANDBOX_EPISODE": episode.id,
        "SANDBOX_PROXY_URL": url,
        "HTTPS_PROXY": url,
        "HTTP_PROXY": url,
        "https_proxy": url,
        "http_proxy": url,
        # Nothing bypasses the proxy: a parent's NO_PROXY would silently let traffic around it.
        "NO_PROXY": "",
        "no_proxy": "",
        **dict.fromkeys(CA_VARS, ca),
        # Node >= 24 then routes fetch() and https through HTTPS_PROXY (it ignores it otherwise).
        "NODE_USE_ENV_PROXY": "1",
        # Before the caller's own: the stripe SDK's CA (see above); the folder holds nothing else.
        "PYTHONPATH": os.pathsep.join(p for p in (str(AGENT_PYTHON), os.environ.get("PYTHONPATH", "")) if p),
    }
    task = task_of(home, episode)
    if task is not None:  # the task as attached to the episode: the instruction an agent is given
        env["SANDBOX_TASK_ID"] = task.get("id") or episode.task or ""
        env["SANDBOX_TASK_INSTRUCTION"] = task.get("instruction") or ""
    # Nothing that drives the control API (its URL, its token): the agent under test is assumed
    # hostile, and the control API could widen its egress or read other episodes' credentials.
    for service, key in sorted(episode.api_keys.items()):
        spec = get_service(service)
        for name in spec.env_vars:
            env[name] = key
        if spec.agent_env is not None:
            env.update(spec.agent_env(world(episode.seed)))
        if spec.mcp_url is not None:  # the vendor's MCP server, through the proxy; the key names the episode
            env[f"SANDBOX_MCP_{service.upper()}_URL"] = spec.mcp_url(world(episode.seed))
        port = ports.get("services", {}).get(service)
        if port:
            # Base-URL override, for clients that talk to the fake directly instead of via the proxy.
            env[f"SANDBOX_{service.upper()}_URL"] = f"http://127.0.0.1:{port}"
    return env


def task_of(home: Home, episode: Episode) -> dict[str, Any] | None:
    """The episode's task as attached to its ledger (resolved for its seed: a file's task too), else
    as the library has it for the seed; None for an episode without a task."""
    if not episode.task:
        return None
    from sandbox.episodes.ledger import Ledger

    path = home.ledger_path(episode.id)
    if path.is_file():
        with Ledger(path) as ledger:
            spec = ledger.meta().get("task_spec")
        if spec:
            return json.loads(spec) if isinstance(spec, str) else spec
    from sandbox.tasks import load_task

    try:
        return load_task(episode.task, seed=episode.seed).to_spec()
    except SandboxError:  # not in the library (a task file not attached yet): nothing to tell the agent
        return None


def render_env(env: dict[str, str], fmt: str = "shell") -> str:
    import shlex

    if fmt == "json":
        return json.dumps(env, indent=2, sort_keys=True)
    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())
