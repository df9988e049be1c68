"""Stripe's MCP server, as `https://mcp.stripe.com` serves it (the host `@stripe/mcp` bridges to,
POSTing to `/`; the bearer is the API key, so the episode is bound exactly as on REST).

Tool names and arguments are those of Stripe's own server (the agent toolkit's `create_customer`,
`list_customers`, `list_payment_intents`, `create_refund`, `list_products`, `list_prices`, and the
hosted server's `search_stripe_resources` / `fetch_stripe_resources`), limited to what this fake
serves. Each tool runs the fake's own REST route (services/common/mcp_rest.py), so a refund made
here writes the rows `POST /v1/refunds` writes. A Stripe error becomes an `isError` result carrying
Stripe's message.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from services.common import mcp_rest
from services.common.mcp import McpServer, Tool, ToolError, add_mcp_endpoint
from services.common.mcp_rest import segment

# `/` is what @stripe/mcp's bridge POSTs to (`new URL("https://mcp.stripe.com")`); `/mcp` for a
# client given SANDBOX_PAYMENTS_URL, where `/` would read as the REST API's root.
RULES = ("/", "/mcp")

_LIMIT = {"type": "integer", "minimum": 1, "maximum": 100,
          "description": "A limit on the number of objects to be returned. Limit can range between 1 and 100."}


def _rest(method: str, path: str, **params: Any) -> Any:
    pairs = _form(params)
    answer = mcp_rest.call(method, path, query=pairs if method == "GET" else None,
                           form=None if method == "GET" else pairs)
    if not answer.ok:
        error = (answer.body or {}).get("error", {}) if isinstance(answer.body, dict) else {}
        raise ToolError(error.get("message") or f"Stripe answered {answer.status}")
    return answer.body


def _form(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding of nested parameters: metadata[order_id]=..."""
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        key = f"{prefix}[{name}]" if prefix else name
        if value is None:
            continue
        if isinstance(value, dict):
            pairs += _form(value, key)
        elif isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        else:
            pairs.append((key, str(value)))
    return pairs


def list_customers(args: dict[str, Any]) -> Any:
    return _rest("GET", "/v1/customers", limit=args.get("limit"), email=args.get("email"))["data"]


def create_customer(args: dict[str, Any]) -> Any:
    customer = _rest("POST", "/v1/customers", name=args["name"], email=args.get("email"))
    return {"id": customer["id"]}


def list_payment_intents(args: dict[str, Any]) -> Any:
    return _rest("GET", "/v1/payment_intents", customer=args.get("customer"), limit=args.get("limit"))["data"]


def create_refund(args: dict[str, Any]) -> Any:
    refund = _rest("POST", "/v1/refunds", payment_intent=args["payment_intent"], amount=args.get("amount"),
                   reason=args.get("reason"))
    return {"id": refund["id"], "status": refund["status"], "amount": refund["amount"]}


def list_products(args: dict[str, Any]) -> Any:
    return _rest("GET", "/v1/products", limit=args.get("limit"))["data"]


def list_prices(args: dict[str, Any]) -> Any:
    return _rest("GET", "/v1/prices", product=args.get("product"), limit=args.get("limit"))["data"]


_SEARCHABLE = {"customers": "/v1/customers/search", "charges": "/v1/charges/search",
               "payment_intents": "/v1/payment_intents/search"}
_QUERY = re.compile(r"^\s*(\w+)\s*:(.+)$", re.S)


def search_stripe_resources(args: dict[str, Any]) -> Any:
    found = _QUERY.match(args["query"])
    if not found or found.group(1) not in _SEARCHABLE:
        raise ToolError(f"Search queries are written `resource:query`, resource one of {', '.join(_SEARCHABLE)};"
                        f" e.g. charges:metadata['order_id']:'ORD-1'. Got {args['query']!r}.")
    return _rest("GET", _SEARCHABLE[found.group(1)], query=found.group(2).strip(), limit=args.get("limit"))["data"]


_FETCHABLE = {"cus": "/v1/customers/", "ch": "/v1/charges/", "pi": "/v1/payment_intents/", "re": "/v1/refunds/",
              "prod": "/v1/products/", "price": "/v1/prices/", "pm": "/v1/payment_methods/"}


def fetch_stripe_resources(args: dict[str, Any]) -> Any:
    prefix = args["id"].partition("_")[0]
    if prefix not in _FETCHABLE:
        raise ToolError(f"Cannot fetch {args['id']!r}: ids start with one of {', '.join(p + '_' for p in _FETCHABLE)}.")
    return _rest("GET", _FETCHABLE[prefix] + segment(args["id"]))


def _schema(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


TOOLS = (
    Tool("list_customers", "This tool will fetch a list of Customers from Stripe.", _schema({
        "limit": _LIMIT,
        "email": {"type": "string", "description": "A case-sensitive filter on the list based on the customer's"
                  " email field. The value must be a string."},
    }), list_customers, read_only=True, title="List Customers"),
    Tool("create_customer", "This tool will create a customer in Stripe.", _schema({
        "name": {"type": "string", "description": "The name of the customer."},
        "email": {"type": "string", "description": "The email of the customer."},
    }, ("name",)), create_customer, title="Create Customer"),
    Tool("list_payment_intents", "This tool will list payment intents in Stripe.", _schema({
        "customer": {"type": "string", "description": "The ID of the customer to list payment intents for."},
        "limit": _LIMIT,
    }), list_payment_intents, read_only=True, title="List Payment Intents"),
    Tool("create_refund", "This tool will refund a payment intent in Stripe.", _schema({
        "payment_intent": {"type": "string", "description": "The ID of the PaymentIntent to refund."},
        "amount": {"type": "integer", "minimum": 1, "description": "The amount to refund in cents."},
        "reason": {"type": "string", "enum": ["duplicate", "fraudulent", "requested_by_customer"],
                   "description": "The reason for the refund."},
    }, ("payment_intent",)), create_refund, title="Create Refund"),
    Tool("list_products", "This tool will fetch a list of Products from Stripe.", _schema({"limit": _LIMIT}),
         list_products, read_only=True, title="List Products"),
    Tool("list_prices", "This tool will fetch a list of Prices from Stripe.", _schema({
        "product": {"type": "string", "description": "The ID of the product to list prices for."},
        "limit": _LIMIT,
    }), list_prices, read_only=True, title="List Prices"),
    Tool("search_stripe_resources", "Search Stripe objects with Stripe's search query language, prefixed with the"
         " resource: customers:email:'a@b.c',"
         " charges:metadata['order_id']:'ORD-1', payment_intents:status:'succeeded'.",
         _schema({"query": {"type": "string", "description": "resource:query"}, "limit": _LIMIT}, ("query",)),
         search_stripe_resources, read_only=True, title="Search Stripe Resources"),
    Tool("fetch_stripe_resources", "Retrieve one Stripe object by its id (cus_, ch_, pi_, re_, prod_, price_, pm_).",
         _schema({"id": {"type": "string", "description": "The object's id."}}, ("id",)),
         fetch_stripe_resources, read_only=True, title="Fetch Stripe Resource"),
)

SERVER = McpServer("stripe", "0.3.3", TOOLS)


def init_app(app: Flask) -> None:
    add_mcp_endpoint(app, RULES, SERVER)
