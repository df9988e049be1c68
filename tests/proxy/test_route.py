"""Route: vendor host -> fake, with the binding headers; the fakes' /_sandbox/ routes out of reach."""

from __future__ import annotations

import pytest

from sandbox.errors import ConfigError
from sandbox.home import proxy_secret
from sandbox.proxy.flows import is_internal_path
from sandbox.proxy.route import Routes
from tests.proxy.conftest import agent


@pytest.mark.slow
def test_https_request_reaches_the_fake_with_binding_headers(world, episode):
    response = agent(world.proxy, episode).get("https://api.stripe.com/v1/customers?limit=3&email=a%40b.c", timeout=10)
    assert response.status_code == 200
    seen = world.fake.last()
    assert (seen.method, seen.path) == ("GET", "/v1/customers?limit=3&email=a%40b.c")
    assert seen.header("Host") == "api.stripe.com"  # the agent-visible host, not the fake's address
    assert seen.header("X-Sandbox-Episode") == episode.id
    assert seen.header("X-Sandbox-Proxy-Secret") == proxy_secret(world.home)
    [row] = world.episodes.ledger(episode)
    assert seen.header("X-Sandbox-Exchange") == str(row["id"])
    assert (row["service"], row["outcome"], row["scheme"], row["host"], row["port"]) == (
        "payments",
        "routed",
        "https",
        "api.stripe.com",
        443,
    )


@pytest.mark.slow
def test_plain_http_and_bodies_are_routed_too(world, episode):
    response = agent(world.proxy, episode).post(
        "http://api.stripe.com/v1/refunds", data={"charge": "ch_1", "amount": "500"}, timeout=10
    )
    assert response.status_code == 200
    seen = world.fake.last()
    assert (seen.method, seen.path, seen.body) == ("POST", "/v1/refunds", b"charge=ch_1&amount=500")
    assert seen.header("X-Sandbox-Episode") == episode.id


@pytest.mark.slow
@pytest.mark.parametrize(
    "path", ["/_sandbox/health", "/_sandbox", "/%5Fsandbox/reset", "//_sandbox/reset", "/v1/%2E%2E/_sandbox/x"]
)
def test_internal_routes_are_unreachable(world, episode, path):
    before = len(world.fake.seen)
    response = agent(world.proxy, episode).get(f"https://api.stripe.com{path}", timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "sandbox_internal_route"
    assert len(world.fake.seen) == before
    [row] = world.episodes.ledger(episode)
    assert (row["outcome"], row["status"], row["service"]) == ("refused", 404, "payments")


def test_internal_path_spellings():
    for path in ["/_sandbox/x", "/_sandbox", "/%5fsandbox/x", "///_sandbox/x?a=b", "/a/../_sandbox/x", "/./_sandbox/"]:
        assert is_internal_path(path), path
    for path in ["/v1/customers", "/_sandboxed", "/v1/_sandbox/x", "/v1?next=/_sandbox/x", "/%255Fsandbox/x"]:
        assert not is_internal_path(path), path


def test_routes_are_checked_when_built():
    routes = Routes.build({"payments": 8101, "chat": "10.0.0.5:9000"}, {"API.Stripe.com.": "payments"})
    assert routes.service_for("api.stripe.com") == "payments"
    assert routes.targets == {"payments": ("127.0.0.1", 8101), "chat": ("10.0.0.5", 9000)}
    with pytest.raises(ConfigError, match="no address was given"):
        Routes.build({}, {"api.stripe.com": "payments"})
    with pytest.raises(ConfigError, match="not a port"):
        Routes.build({"payments": "eighty"}, {})
