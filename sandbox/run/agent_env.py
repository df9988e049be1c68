"""What an agent process needs to live inside an episode: proxy, CA, fake API keys. Nothing more:
in particular nothing about the control API, which is the operator's."""

from __future__ import annotations

from typing import Any

from sandbox.episodes.store import Episode
from sandbox.home import Home
from sandbox.world import world
from services import get_service


def proxy_url(episode: Episode, proxy_port: int, host: str = "127.0.0.1") -> str:
    return f"http://{episode.id}:{episode.token}@{host}:{proxy_port}"


def agent_env(home: Home, episode: Episode, ports: dict[str, Any]) -> dict[str, str]:
    """Environment variables that route an agent's HTTP(S) through the episode's proxy.

    SSL_CERT_FILE / REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE / NODE_EXTRA_CA_CERTS cover OpenSSL, httpx,
    requests, curl and Node. The `stripe` SDK ignores them all and pins its own bundle: set
    `stripe.ca_bundle_path = os.environ["SSL_CERT_FILE"]` in such an agent."""
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
        "SSL_CERT_FILE": ca,
        "REQUESTS_CA_BUNDLE": ca,
        "CURL_CA_BUNDLE": ca,
        "NODE_EXTRA_CA_CERTS": ca,
        # Node >= 24 then routes fetch() and https through HTTPS_PROXY (it ignores it otherwise).
        "NODE_USE_ENV_PROXY": "1",
    }
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


def render_env(env: dict[str, str], fmt: str = "shell") -> str:
    import json
    import shlex

    if fmt == "json":
        return json.dumps(env, indent=2, sort_keys=True)
    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())
