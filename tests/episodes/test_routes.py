"""Routes to a server of the operator's: the forms, the checks and their errors, and how the base
path composes with the agent's path. The proxy side is tests/proxy/test_model_routes.py."""

from __future__ import annotations

import pytest

import services
from sandbox.episodes.routes import ServerRoute, parse_route, parse_routes, routes_to_dict
from sandbox.episodes.store import EpisodeStore
from sandbox.errors import ConfigError, EpisodeError
from sandbox.home import Home


def test_the_string_form():
    route = parse_route("API.OpenAI.com.=http://127.0.0.1:8000/v1/")
    assert route == ServerRoute("api.openai.com", "http", "127.0.0.1", 8000, "/v1", keep_auth=False)
    assert (route.url, route.service) == ("http://127.0.0.1:8000/v1", "route:api.openai.com")
    kept = parse_route("api.openai.com=https://gpu-box.internal/openai#keep-auth")
    assert (kept.scheme, kept.target_host, kept.port, kept.base_path, kept.keep_auth) == (
        "https", "gpu-box.internal", 443, "/openai", True)
    assert parse_route(kept.to_spec()) == kept  # what the supervisor hands the proxy parses back the same


def test_the_mapping_forms_and_the_last_route_of_a_host_wins():
    routes = parse_routes({"api.openai.com": "http://127.0.0.1:8000/v1",
                           "api.anthropic.com": {"url": "http://127.0.0.1:8001", "keep_auth": True}})
    assert routes_to_dict(routes) == {"api.openai.com": {"url": "http://127.0.0.1:8000/v1", "keep_auth": False},
                                      "api.anthropic.com": {"url": "http://127.0.0.1:8001", "keep_auth": True}}
    assert parse_routes(routes_to_dict(routes)) == routes  # as the registry stores them
    [route] = parse_routes(["api.openai.com=http://127.0.0.1:8000/v1", "api.openai.com=http://127.0.0.1:9000"])
    assert route.port == 9000


@pytest.mark.parametrize(("base", "path", "sent"), [
    ("/v1", "/v1/chat/completions", "/v1/chat/completions"),  # the OpenAI base URL's /v1 is the server's /v1
    ("/v1", "/chat/completions?x=1", "/v1/chat/completions?x=1"),
    ("/v1", "/v10/models", "/v1/v10/models"),  # a path segment, not a string prefix
    ("/openai", "/v1/models", "/openai/v1/models"),  # a server that mounts the API under a prefix
    ("", "/v1/models", "/v1/models"),
])
def test_the_base_path_goes_in_front_of_the_agents_path_once(base, path, sent):
    assert ServerRoute("api.openai.com", "http", "127.0.0.1", 8000, base).target_path(path) == sent


@pytest.mark.parametrize(("value", "message"), [
    ("api.openai.com", "cannot parse 'api.openai.com'"),
    ("api.openai.com=", "cannot parse"),
    ("=http://127.0.0.1:8000", "cannot parse"),
    ("api.openai.com=127.0.0.1:8000", "must start with http:// or https://"),
    ("api.openai.com=ftp://127.0.0.1/v1", "must start with http:// or https://"),
    ("api.openai.com=http://127.0.0.1:99999/v1", "port is not a number"),
    ("api.openai.com=http://127.0.0.1:0/v1", "port is not a number"),
    ("api.openai.com=http:///v1", "names no server"),
    ("api.openai.com=http://user:pw@127.0.0.1:8000", "carries credentials"),
    ("api.openai.com=http://127.0.0.1:8000/v1?key=1", "query or fragment"),
    ("api.openai.com=http://127.0.0.1:8000/v1#keep-secret", "unknown option #keep-secret"),
    ("*.openai.com=http://127.0.0.1:8000", "is not a host name"),
    ("https://api.openai.com=http://127.0.0.1:8000", "is not a host name"),
    ("127.0.0.1=http://127.0.0.1:8000", "is not a host name"),
    ("api.stripe.com=http://127.0.0.1:8000", "answered by the payments fake"),
    ("acme.zendesk.com=http://127.0.0.1:8000", "answered by the helpdesk fake"),
])
def test_a_bad_route_says_where_what_and_how_to_write_it(value, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_route(value, "--route")
    assert str(info.value).startswith("--route") and info.value.hint


def test_mapping_errors_name_the_entry():
    with pytest.raises(ConfigError, match=r"routes\.api\.openai\.com: unknown key 'keep_key'"):
        parse_routes({"api.openai.com": {"url": "http://127.0.0.1:8000", "keep_key": True}})
    with pytest.raises(ConfigError, match=r"routes\.api\.openai\.com: keep_auth must be true or false"):
        parse_routes({"api.openai.com": {"url": "http://127.0.0.1:8000", "keep_auth": "yes"}})
    with pytest.raises(ConfigError, match=r"routes\.api\.openai\.com: expected a URL"):
        parse_routes({"api.openai.com": 8000})


def test_an_episode_keeps_its_routes_in_the_registry_and_its_ledger(tmp_path, monkeypatch):
    monkeypatch.setattr(services, "service_ids", list)  # no fake's world needed
    home = Home.resolve(tmp_path / "home")
    store = EpisodeStore(home)
    try:
        created = store.create(7, routes={"api.openai.com": "http://127.0.0.1:8000/v1"})
        assert store.get(created.id).routes == created.routes == (parse_route("api.openai.com=http://127.0.0.1:8000/v1"),)
        with store.ledger(created.id) as ledger:
            meta = ledger.meta()
        assert meta["routes"] == {"api.openai.com": {"url": "http://127.0.0.1:8000/v1", "keep_auth": False}}
        with pytest.raises(EpisodeError, match="must start with http"):
            store.create(7, routes=["api.openai.com=localhost:8000"])
        assert store.create(7).routes == ()
    finally:
        store.close()
