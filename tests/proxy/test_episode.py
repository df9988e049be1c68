"""Identity from proxy credentials: who may call, and the 407s that say why not."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.proxy.conftest import agent, raw_connect

pytestmark = pytest.mark.slow


def _plain(world, proxy_url: str | None) -> requests.Response:
    """A plain-HTTP proxy request for a routed host (credentials travel on each request)."""
    session = requests.Session()
    session.trust_env = False
    session.proxies = {"http": proxy_url or world.proxy.url}
    return session.get("http://api.stripe.com/v1/customers", timeout=10)


def _lower(headers) -> dict:
    return {k.lower(): v for k, v in headers.items()}


def _assert_407(status: int, headers: dict, body: bytes, code: str) -> dict:
    assert status == 407
    assert headers["proxy-authenticate"] == 'Basic realm="agent-sandbox"'
    error = json.loads(body)["error"]
    assert error["type"] == "sandbox_proxy_auth" and error["code"] == code
    assert "sandbox env EPISODE" in error["hint"]
    return error


def test_episode_credentials_let_a_request_through(world, episode):
    response = agent(world.proxy, episode).get("https://api.stripe.com/v1/customers", timeout=10)
    assert response.status_code == 200 and response.headers["X-Stand-In"] == "yes"


def test_no_credentials(world, episode):
    response = _plain(world, None)
    _assert_407(response.status_code, _lower(response.headers), response.content, "missing_credentials")
    status, headers, body = raw_connect(world.proxy, "api.stripe.com:443")
    error = _assert_407(status, headers, body, "missing_credentials")
    assert "Proxy-Authorization" in error["message"]


def test_https_client_without_credentials_cannot_tunnel(world):
    session = requests.Session()
    session.trust_env = False
    session.proxies = {"https": world.proxy.url}
    with pytest.raises(requests.exceptions.ProxyError, match="407"):
        session.get("https://api.stripe.com/v1/customers", verify=str(world.home.ca_cert), timeout=10)


def test_wrong_token(world, episode):
    status, headers, body = raw_connect(world.proxy, "api.stripe.com:443", f"{episode.id}:not-the-token")
    error = _assert_407(status, headers, body, "wrong_token")
    assert episode.id in error["message"] and episode.token not in body.decode()
    response = _plain(world, f"http://{episode.id}:nope@127.0.0.1:{world.proxy.port}")
    _assert_407(response.status_code, _lower(response.headers), response.content, "wrong_token")


def test_unknown_episode(world):
    status, headers, body = raw_connect(world.proxy, "api.stripe.com:443", "ep-nobody:whatever")
    error = _assert_407(status, headers, body, "unknown_episode")
    assert "ep-nobody" in error["message"]


def test_finished_episode_is_refused_soon_even_in_an_open_tunnel(world):
    episode = world.episodes.create()
    session = agent(world.proxy, episode)
    assert session.get("https://api.stripe.com/v1/ping", timeout=10).status_code == 200  # tunnel now open
    world.episodes.finish(episode)
    deadline = time.monotonic() + 10  # the proxy caches lookups for 0.5 s; this only bounds a hang
    while True:
        response = session.get("https://api.stripe.com/v1/ping", timeout=10)
        if response.status_code != 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert response.status_code == 407
    assert response.json()["error"]["code"] == "episode_finished"
    status, headers, body = raw_connect(world.proxy, "api.stripe.com:443", f"{episode.id}:{episode.token}")
    _assert_407(status, headers, body, "episode_finished")


def test_agent_supplied_sandbox_headers_are_stripped(world, episode):
    other = world.episodes.create()
    forged = {
        "X-Sandbox-Episode": other.id,
        "X-Sandbox-Exchange": "1",
        "X-Sandbox-Proxy-Secret": "guess",
        "x-sandbox-anything": "1",
    }
    agent(world.proxy, episode).get("https://api.stripe.com/v1/customers", headers=forged, timeout=10)
    seen = world.fake.last()
    assert seen.header("X-Sandbox-Episode") == episode.id
    assert seen.header("X-Sandbox-Proxy-Secret") != "guess"
    assert seen.header("x-sandbox-anything") is None
    assert sum(1 for k, _ in seen.headers if k.lower() == "x-sandbox-episode") == 1

    # Forwarded to a real host: no X-Sandbox-* at all, and the proxy credentials stay with the proxy.
    agent(world.proxy, episode).get(f"http://127.0.0.1:{world.internet.port}/x", headers=forged, timeout=10)
    seen = world.internet.last()
    assert not [k for k, _ in seen.headers if k.lower().startswith(("x-sandbox-", "proxy-"))]
