"""payments: a Stripe-shaped fake that the official `stripe` SDKs work against unchanged.

    app = create_app({"home": Home.resolve()})

Served resources: customers, payment methods, products and prices, payment intents, charges,
refunds (and the Search API over customers, charges and intents), events and webhook endpoints.
Every request is bound to an episode by its API key (or by the proxy's headers); the episode's own
SQLite database holds the objects, and every row a request changes reaches the episode ledger before
the response leaves.

On https://dashboard.stripe.com the same app serves the test-mode dashboard's pages for browser agents
(web_auth.py, web_pages.py, web_refund.py): sign in with the episode's key, payments, customers, refunds.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from sandbox.home import proxy_secret
from services import ServiceSpec
from services.common.binding import EpisodeBinding
from services.common.inputs import bound_int_routes
from services.common.sandbox_routes import add_sandbox_routes
from services.payments import (
    charges,
    customers,
    errors,
    events,
    mcp,
    openapi,
    payment_intents,
    payment_methods,
    products,
    refunds,
    web_auth,
    web_pages,
    web_refund,
    webhooks,
)
from services.payments.auth import key_of, on_auth_failure
from services.payments.seed import build_template
from services.payments.wire import add_stripe_headers

# Stripe caps request bodies well below this; anything larger is a client bug or an attack.
MAX_BODY_BYTES = 1024 * 1024


def create_app(config: dict[str, Any]) -> Flask:
    """The payments app for the sandbox home `config["home"]`."""
    app = Flask(__name__)
    bound_int_routes(app)  # before any route: ids past SQLite's 64 bits match no route
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config.update({k: v for k, v in config.items() if k.isupper()})
    errors.init_app(app)
    # The dashboard's pages sign in with the same key, kept in a session cookie (web_auth.py).
    EpisodeBinding(app, "payments", config["home"], web_auth.web_key_of(key_of),
                   web_auth.web_auth_failure(on_auth_failure))
    web_auth.init_app(app, proxy_secret(config["home"]))  # after the binding: its checks need the episode
    # Registered after the binding so it runs before the binding's after_request (Flask runs
    # them in reverse): the ledger then records the response with its final headers.
    app.after_request(add_stripe_headers)

    add_sandbox_routes(app, "payments", openapi.document)
    webhooks.init_app(app, config["home"].ports_file)

    for module in (customers, payment_methods, products, payment_intents, charges, refunds, events, webhooks,
                   web_pages, web_refund):
        app.register_blueprint(module.bp)
    mcp.init_app(app)  # Stripe's MCP server, at https://mcp.stripe.com/
    return app


SERVICE = ServiceSpec(
    id="payments",
    hosts=("api.stripe.com", "mcp.stripe.com", "dashboard.stripe.com"),
    create_app=create_app,
    build_template=build_template,
    key_prefix="sk_test_",
    env_vars=("STRIPE_API_KEY",),
    internal_tables=("_idempotency_keys", "_events", "_webhook_outbox"),
    vendor_error=errors.vendor_error,
    rate_limit_headers=errors.rate_limit_headers,
    auth_headers=lambda key, world: {"Authorization": f"Bearer {key}"},
    probe="/v1/customers?limit=1",
    mcp_url=lambda world: "https://mcp.stripe.com/",
    web_login=lambda world: f"https://{web_auth.DASHBOARD_HOST}{web_auth.LOGIN_PATH}",
)
