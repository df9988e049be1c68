"""Every registered fake keeps the same promises, checked through its ServiceSpec hooks alone:

- the same seed builds the same database, and a new episode starts from it exactly;
- the OpenAPI document at /_sandbox/openapi.json and the app's routes agree;
- an unknown route answers in the vendor's own error shape;
- auth is enforced: no key, a wrong key and a finished episode's key are refused, in the vendor's shape.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from flask import Flask

from sandbox.episodes.store import EpisodeStore
from sandbox.episodes.templates import build_service_db
from sandbox.home import Home
from sandbox.world import world
from services import ServiceSpec, get_service, service_ids
from tests.services.conftest import serve_app

SEED = 7
_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Iterator[Home]:
    home = Home.resolve(tmp_path_factory.mktemp("conformance-home"))
    store = EpisodeStore(home)
    store.prepare(SEED)
    store.close()
    yield home


@dataclass
class Fake:
    spec: ServiceSpec
    app: Flask
    url: str


@pytest.fixture(scope="module", params=service_ids())
def fake(request, home) -> Iterator[Fake]:
    spec = get_service(request.param)
    app = spec.create_app({"home": home})
    url, stop = serve_app(app)
    try:
        yield Fake(spec, app, url)
    finally:
        stop()


@pytest.fixture
def store(home) -> Iterator[EpisodeStore]:
    store = EpisodeStore(home)
    yield store
    store.close()


def vendor_shape(spec: ServiceSpec, status: int) -> set[str]:
    """The top-level keys of the vendor's error body for `status`."""
    assert spec.vendor_error is not None, f"{spec.id}: ServiceSpec.vendor_error is missing"
    _, body = spec.vendor_error(status, "conformance")
    return set(json.loads(body))


def in_vendor_shape(body: dict, shape: set[str]) -> bool:
    """Is `body` an error of the vendor's shape? It carries the vendor's main error keys (some, like
    Slack's response_metadata, are optional; some errors add their own, like Slack's req_method)."""
    return isinstance(body, dict) and len(set(body) & shape) >= min(2, len(shape))


def call(spec: ServiceSpec, url: str, path: str, key: str | None) -> requests.Response:
    headers = spec.auth_headers(key, world(SEED)) if key is not None else {}
    return requests.get(url + path, headers=headers, timeout=30, allow_redirects=False)


@pytest.mark.parametrize("service_id", service_ids())
def test_the_same_seed_builds_the_same_database(tmp_path, service_id):
    build_service_db(tmp_path / "a.db", service_id, SEED)
    build_service_db(tmp_path / "b.db", service_id, SEED)
    first, second = dump(tmp_path / "a.db"), dump(tmp_path / "b.db")
    assert first == second
    assert sum(line.startswith("INSERT") for line in first) > 10, "the template holds the world's rows"


@pytest.mark.parametrize("service_id", service_ids())
def test_another_seed_builds_another_world(tmp_path, service_id):
    build_service_db(tmp_path / "a.db", service_id, SEED)
    build_service_db(tmp_path / "b.db", service_id, SEED + 1)
    assert dump(tmp_path / "a.db") != dump(tmp_path / "b.db")


def test_a_new_episode_starts_from_the_template_exactly(home, store):
    episode = store.create(seed=SEED)
    for service_id in service_ids():
        template = home.template_dir(SEED) / f"{service_id}.db"
        assert dump(home.service_db(episode.id, service_id)) == dump(template), service_id


def test_the_openapi_document_and_the_routes_agree(fake):
    document = requests.get(f"{fake.url}/_sandbox/openapi.json", timeout=30).json()
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    assert documented, f"{fake.spec.id}: the OpenAPI document lists no operations"
    served = set()
    for rule in fake.app.url_map.iter_rules():
        path = _PARAM.sub(r"{\1}", rule.rule)
        served |= {(path, method) for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    # The vendor API lives under the document's top-level segments (/v1, /api, /repos...); a web UI
    # or the sandbox's own routes elsewhere are not part of it.
    roots = {path.split("/")[1] for path, _ in documented}
    api_routes = {(p, m) for p, m in served if p.split("/")[1] in roots and not p.startswith("/_sandbox/")}
    assert documented == api_routes, (
        f"{fake.spec.id}: documented but not served: {sorted(documented - api_routes)[:5]};"
        f" served but not documented: {sorted(api_routes - documented)[:5]}"
    )


def test_an_unknown_route_answers_in_the_vendor_error_shape(fake, store):
    spec, url = fake.spec, fake.url
    episode = store.create(seed=SEED)
    root = "/" + spec.probe.lstrip("/").split("/")[0]
    response = call(spec, url, f"{root}/sandbox-conformance-no-such-route", episode.api_keys[spec.id])
    assert 400 <= response.status_code < 500, (spec.id, response.status_code, response.text[:200])
    assert in_vendor_shape(response.json(), vendor_shape(spec, 404)), (spec.id, response.text[:300])


def test_auth_is_enforced(fake, store):
    spec, url = fake.spec, fake.url
    episode = store.create(seed=SEED)
    key = episode.api_keys[spec.id]
    good = call(spec, url, spec.probe, key)
    assert good.status_code == 200, (spec.id, good.text[:300])
    shape = vendor_shape(spec, 401)
    refusals = {
        "no key": call(spec, url, spec.probe, None),
        "a wrong key": call(spec, url, spec.probe, spec.key_prefix + "not-a-real-key-000"),
    }
    store.finish(episode.id)
    refusals["a finished episode's key"] = call(spec, url, spec.probe, key)
    for what, response in refusals.items():
        body = response.json()
        assert in_vendor_shape(body, shape), (spec.id, what, response.status_code, body)
        assert body != good.json(), (spec.id, what)
        refused = response.status_code in (401, 403, 404) or body.get("ok") is False
        assert refused, (spec.id, what, response.status_code, body)
