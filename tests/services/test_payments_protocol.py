"""What every payments endpoint shares: auth, Stripe's error shape, form parsing, idempotency,
the SDK's own retries, episode binding and isolation, and deterministic templates."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests
import stripe

from sandbox.episodes.store import EpisodeStore
from sandbox.episodes.templates import ensure_templates
from sandbox.home import Home, proxy_secret
from sandbox.world import world
from services.common.binding import EPISODE_HEADER, EXCHANGE_HEADER, SECRET_HEADER
from tests.services.conftest import SEED, serve_app

W = world(SEED)
DOUBLE = W.facts["double_charge"]
UNRECOGNIZED = "Please see https://stripe.com/docs or we can help at https://support.stripe.com/."

# -- auth -------------------------------------------------------------------------------------


def test_missing_key_is_stripes_401(http):
    response = http("GET", "/v1/customers", auth=False)
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "message": "You did not provide an API key. You need to provide your API key in the Authorization"
            " header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See"
            " https://stripe.com/docs/api#authentication for details, or we can help at"
            " https://support.stripe.com/.",
            "type": "invalid_request_error",
        }
    }
    assert response.headers["Content-Type"] == "application/json"


def test_wrong_key_is_masked_401(served):
    client = stripe.StripeClient("sk_test_thisisnotakey1234abcd", base_addresses={"api": served.url})
    with pytest.raises(stripe.AuthenticationError) as err:
        client.v1.customers.list()
    assert err.value.http_status == 401
    assert err.value.json_body == {
        "error": {"message": "Invalid API Key provided: sk_test_****abcd", "type": "invalid_request_error"}
    }


def test_basic_auth_like_curl_u(served, episode):
    key = episode.api_keys["payments"]
    response = requests.get(f"{served.url}/v1/customers?limit=1", auth=(key, ""), timeout=30)
    assert response.status_code == 200 and len(response.json()["data"]) == 1


def test_another_episodes_key_is_refused_through_the_proxy_headers(served, episode, http):
    other = served.episode()
    headers = {
        EPISODE_HEADER: episode.id,
        SECRET_HEADER: proxy_secret(served.home),
        "Authorization": f"Bearer {other.api_keys['payments']}",
    }
    response = http("GET", "/v1/customers", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("Invalid API Key provided: sk_test_****")


def test_finished_episode_key_is_expired(served):
    episode = served.episode()
    client = served.client(episode)
    assert client.v1.customers.list({"limit": 1}).data
    served.store.finish(episode.id)
    with pytest.raises(stripe.AuthenticationError) as err:
        client.v1.customers.list({"limit": 1})
    assert err.value.json_body["error"]["code"] == "api_key_expired"
    assert f"'{episode.id}', which is finished" in err.value.user_message


def test_health_is_not_bound_to_an_episode(served):
    response = requests.get(f"{served.url}/_sandbox/health", timeout=30)
    assert response.status_code == 200 and response.json() == {"ok": True, "service": "payments"}


# -- errors and parsing -------------------------------------------------------------------------


def test_unknown_route_and_wrong_method_are_stripe_404s(http):
    response = http("GET", "/v1/nope")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": f"Unrecognized request URL (GET: /v1/nope). {UNRECOGNIZED}",
            "type": "invalid_request_error",
        }
    }
    wrong_method = http("PUT", "/v1/customers")
    assert wrong_method.status_code == 404
    assert wrong_method.json()["error"]["message"] == f"Unrecognized request URL (PUT: /v1/customers). {UNRECOGNIZED}"
    slash = http("GET", "/v1/customers/")
    assert "remove the trailing slash" in slash.json()["error"]["message"]
    assert http("GET", "/v1/nope", auth=False).status_code == 401  # auth comes first, as on Stripe


def test_validation_errors_are_stripe_shaped(http):
    cases = [
        ("POST", "/v1/customers", {"foo": "bar"}, 400, "parameter_unknown", "foo"),
        ("GET", "/v1/customers?limit=abc", None, 400, "parameter_invalid_integer", "limit"),
        (
            "POST",
            "/v1/refunds",
            {"charge": DOUBLE["duplicate_charge"], "amount": "ten"},
            400,
            "parameter_invalid_integer",
            "amount",
        ),
        ("POST", "/v1/payment_intents", {"amount": "", "currency": "usd"}, 400, "parameter_invalid_empty", "amount"),
        ("POST", "/v1/payment_intents", {"currency": "usd"}, 400, "parameter_missing", "amount"),
        ("GET", "/v1/charges?expand[]=data.nope", None, 400, None, "expand"),
    ]
    for method, path, data, status, code, param in cases:
        response = http(method, path, data=data)
        error = response.json()["error"]
        assert response.status_code == status, (path, data, error)
        assert (error.get("code"), error.get("param"), error["type"]) == (code, param, "invalid_request_error")
        if code:
            assert error["doc_url"] == f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    assert http("POST", "/v1/payment_intents", data={"currency": "usd"}).json()["error"]["message"] == (
        "Missing required param: amount."
    )


def test_malformed_and_oversized_bodies(http, served, episode):
    as_json = http("POST", "/v1/customers", json={"name": "x"})
    assert as_json.status_code == 400
    assert as_json.json()["error"]["message"].startswith("Invalid request (check that your POST content type")
    clash = http(
        "POST",
        "/v1/customers",
        data="metadata=x&metadata[a]=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert clash.status_code == 400 and clash.json()["error"]["param"] == "metadata"
    bad_utf8 = http(
        "POST", "/v1/customers", data=b"name=%ff%fe", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert bad_utf8.status_code == 400 and bad_utf8.json()["error"]["type"] == "invalid_request_error"
    big = http("POST", "/v1/customers", data={"description": "x" * (2 * 1024 * 1024)})
    assert big.status_code == 413 and big.json()["error"]["type"] == "invalid_request_error"
    with served.ledger(episode) as ledger:  # the refused request is still in the ledger, body left out
        last = ledger.exchanges()[-1]
    assert (last["status"], last["request_body"]) == (413, None)


def test_nested_form_keys_and_query_params(http):
    body = (
        "name=Nested&metadata[order_id]=ORD-1&metadata[blank]=&address[line1]=1+Main+St&address[city]=Springfield"
        "&preferred_locales[]=en&preferred_locales[]=de&shipping[name]=Bob&shipping[address][line1]=2+Elm"
    )
    created = http("POST", "/v1/customers", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert created.status_code == 200, created.text
    customer = created.json()
    assert customer["metadata"] == {"order_id": "ORD-1"}
    assert (customer["address"]["line1"], customer["address"]["city"]) == ("1 Main St", "Springfield")
    assert customer["preferred_locales"] == ["en", "de"]
    assert customer["shipping"]["address"]["line1"] == "2 Elm" and customer["shipping"]["name"] == "Bob"
    page = http("GET", f"/v1/charges?customer={DOUBLE['customer']}&expand[]=data.customer&limit=2").json()
    assert page["data"][0]["customer"]["id"] == DOUBLE["customer"]
    indexed = http("GET", f"/v1/charges?customer={DOUBLE['customer']}&expand[0]=data.payment_intent&limit=1").json()
    assert indexed["data"][0]["payment_intent"]["object"] == "payment_intent"
    assert created.headers["Request-Id"].startswith("req_")
    # JSON is pretty-printed like Stripe's, and ids/objects come first.
    assert created.text.startswith('{\n  "id": "cus_')


# -- idempotency --------------------------------------------------------------------------------


def test_idempotent_replay_is_byte_identical(http, client):
    headers = {"Idempotency-Key": "order-77-refund"}
    data = {"charge": DOUBLE["duplicate_charge"], "amount": "700"}
    first = http("POST", "/v1/refunds", data=data, headers=headers)
    second = http("POST", "/v1/refunds", data=data, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Original-Request"] == first.headers["Request-Id"]
    assert client.v1.charges.retrieve(DOUBLE["duplicate_charge"]).amount_refunded == 700

    changed = http("POST", "/v1/refunds", data={**data, "amount": "800"}, headers=headers)
    assert changed.status_code == 400
    assert changed.json() == {
        "error": {
            "message": "Keys for idempotent requests can only be used with the same parameters they were first"
            " used with. Try using a key other than 'order-77-refund' if you meant to execute a different"
            " request.",
            "type": "idempotency_error",
        }
    }
    elsewhere = http("POST", "/v1/customers", data={"name": "x"}, headers=headers)
    assert elsewhere.status_code == 400
    assert "same endpoint they were first used for ('/v1/customers' vs '/v1/refunds')" in elsewhere.text


def test_idempotency_through_the_sdk(client):
    options = {"idempotency_key": "create-ada"}
    first = client.v1.customers.create({"name": "Ada"}, options)
    again = client.v1.customers.create({"name": "Ada"}, options)
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create({"name": "Grace"}, options)
    assert [c.id for c in client.v1.customers.search({"query": "name:'Ada'"}).data] == [first.id]


def test_failed_validation_is_not_saved_for_replay(http):
    headers = {"Idempotency-Key": "retry-after-fix"}
    bad = http("POST", "/v1/customers", data={"email": "nope"}, headers=headers)
    assert bad.status_code == 400
    # Same key, same (bad) params: validated again, not replayed; then a fixed request may use it.
    assert http("POST", "/v1/customers", data={"email": "nope"}, headers=headers).status_code == 400


class LoseFirstResponse:
    """WSGI middleware: the first POST to `path` is served by the app (its write commits), then the
    client gets a 500 instead of the answer — a response lost on the way back."""

    def __init__(self, app, path: str) -> None:
        self.app, self.path, self.lost = app, path, 0

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == self.path and not self.lost:
            self.lost += 1
            result = self.app(environ, lambda *args, **kwargs: None)
            try:
                b"".join(result)
            finally:
                getattr(result, "close", lambda: None)()
            body = json.dumps({"error": {"type": "api_error", "message": "lost on the way back"}}).encode()
            start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "application/json")])
            return [body]
        return self.app(environ, start_response)


def test_sdk_retry_after_a_lost_response_refunds_once(served, episode):
    from services.payments import create_app

    flaky = LoseFirstResponse(create_app({"home": served.home}), "/v1/refunds")
    url, stop = serve_app(flaky)
    try:
        client = stripe.StripeClient(episode.api_keys["payments"], base_addresses={"api": url}, max_network_retries=2)
        refund = client.v1.refunds.create({"charge": DOUBLE["duplicate_charge"], "reason": "duplicate"})
    finally:
        stop()
    assert flaky.lost == 1
    assert refund.last_response.headers["Idempotent-Replayed"] == "true"
    refunds = served.client(episode).v1.refunds.list({"charge": DOUBLE["duplicate_charge"]}).data
    assert [r.id for r in refunds] == [refund.id]
    with served.ledger(episode) as ledger:
        posts = [x for x in ledger.exchanges() if (x["method"], x["path"]) == ("POST", "/v1/refunds")]
        changes = ledger.state_changes()
    keys = {dict(x["request_headers"])["Idempotency-Key"] for x in posts}
    assert len(posts) == 2 and len(keys) == 1  # the SDK retried with its own key
    assert {c["exchange_id"] for c in changes} == {posts[0]["id"]}  # only the first one wrote


# -- episodes ---------------------------------------------------------------------------------


def test_episodes_of_one_seed_are_isolated_and_deterministic(served):
    one, two = served.episode(), served.episode()
    a, b = served.client(one), served.client(two)
    # The same calls in two episodes of a seed give the same ids and timestamps; keys are per episode.
    made = a.v1.customers.create({"name": "Only in one"}, {"idempotency_key": "same-key"})
    twin = b.v1.customers.create({"name": "Also in two"}, {"idempotency_key": "same-key"})
    assert (twin.id, twin.created, twin.name) == (made.id, made.created, "Also in two")
    # Writes stay in their episode.
    a.v1.customers.update(made.id, {"email": "one@example.com"})
    a.v1.refunds.create({"charge": DOUBLE["duplicate_charge"]})
    assert b.v1.customers.retrieve(made.id).email is None
    assert b.v1.charges.retrieve(DOUBLE["duplicate_charge"]).amount_refunded == 0
    assert a.v1.charges.retrieve(DOUBLE["duplicate_charge"]).amount_refunded == DOUBLE["amount"]
    b.v1.customers.delete(made.id)
    assert a.v1.customers.retrieve(made.id).name == "Only in one"
    assert len(b.v1.customers.list({"limit": 100}).data) == len(W.customers)


def test_proxy_mode_uses_the_proxys_exchange(served, http):
    episode = served.episode()
    with served.ledger(episode) as ledger:
        exchange_id = ledger.begin_exchange(
            via="proxy", method="POST", scheme="https", host="api.stripe.com", port=443, path="/v1/refunds"
        )
        clock = ledger.clock_of(exchange_id)
    headers = {
        EPISODE_HEADER: episode.id,
        EXCHANGE_HEADER: str(exchange_id),
        SECRET_HEADER: proxy_secret(served.home),
        "Authorization": f"Bearer {episode.api_keys['payments']}",
    }
    response = http("POST", "/v1/refunds", data={"charge": DOUBLE["original_charge"]}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == clock
    with served.ledger(episode) as ledger:
        changes = ledger.state_changes()
        exchanges = ledger.exchanges()
    assert {c["exchange_id"] for c in changes} == {exchange_id}
    assert len(exchanges) == 1  # the fake did not write a second, direct exchange


def test_same_seed_builds_byte_identical_templates(tmp_path):
    digests = []
    for name in ("one", "two"):
        home = Home.resolve(tmp_path / name)
        folder = ensure_templates(home, SEED)
        digests.append(hashlib.sha256((folder / "payments.db").read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    other = ensure_templates(Home.resolve(tmp_path / "three"), SEED + 1)
    assert hashlib.sha256((other / "payments.db").read_bytes()).hexdigest() != digests[0]


def test_new_episode_starts_from_the_world(tmp_path):
    home = Home.resolve(tmp_path / "fresh")
    store = EpisodeStore(home)
    try:
        episode = store.create(seed=SEED)
        import sqlite3

        conn = sqlite3.connect(home.service_db(episode.id, "payments"))
        try:
            counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("customers", "charges")}
            pending = conn.execute("SELECT COUNT(*) FROM _sandbox_changes").fetchone()[0]
        finally:
            conn.close()
    finally:
        store.close()
    assert counts == {"customers": len(W.customers), "charges": len(W.charges)}
    assert pending == 0  # the world's own rows are not logged as changes


def test_concurrent_requests_with_one_key_refund_once(served, episode):
    """The key is looked up inside the write transaction, so racing retries queue and replay."""
    from concurrent.futures import ThreadPoolExecutor

    key = episode.api_keys["payments"]

    def post(_: int) -> requests.Response:
        return requests.post(
            f"{served.url}/v1/refunds",
            data={"charge": DOUBLE["original_charge"], "amount": "1000"},
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "racing"},
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(post, range(6)))
    assert [r.status_code for r in responses] == [200] * 6
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 5
    assert served.client(episode).v1.charges.retrieve(DOUBLE["original_charge"]).amount_refunded == 1000


def test_openapi_document_lists_exactly_the_served_routes(served, http):
    document = requests.get(f"{served.url}/_sandbox/openapi.json", timeout=30).json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for required in ("/v1/customers", "/v1/charges", "/v1/payment_intents", "/v1/refunds", "/v1/products"):
        assert required in paths
    for path, operations in paths.items():
        concrete = path.replace("{", "").replace("}", "")
        for method in operations:
            response = http(method.upper(), concrete)
            assert "Unrecognized request URL" not in response.text, (method, path)


def test_a_broken_database_is_a_stripe_shaped_500(served, http, episode):
    import sqlite3

    conn = sqlite3.connect(served.home.service_db(episode.id, "payments"))
    try:
        conn.execute("DROP TABLE products")
    finally:
        conn.close()
    response = http("GET", "/v1/products")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "api_error" and "unknown error" in error["message"]
    assert http("GET", "/v1/customers?limit=1").status_code == 200
