"""Page objects for Stripe's test-mode dashboard (https://dashboard.stripe.com), for browser oracles.

Plain functions over a Playwright sync `Page`, named after what the REST oracles do with the SDK:

    sign_in(page, key)                                 the episode's STRIPE_API_KEY
    search_customers(page, "ada@example.com")          -> [{"id", "name", "email", "created"}, ...]
    customer(page, "cus_...")                          -> {"id", "email", ..., "payments": [...]}
    search_charges(page, "ORD-0710080")                -> [{"id", "amount", "status", "order_id", ...}, ...]
    charge(page, "ch_...")                             -> {"id", "amount", "refunded", "metadata", "refunds"}
    refund(page, "ch_...", reason="duplicate")         -> the new refund {"id", "amount", "reason", ...}
    find_duplicate(page, email, order_id)              -> the later of two equal charges of one order

Lists are read by following `#next-page` until it is gone (never by computing offsets), so a page
size the nuisance changed does not matter. Elements are found by id or `data-field`, which the
nuisance does not rename; after every navigation and form post `adapt.settle(page)` clears what the
nuisance put in the way (banners, interstitials, an expired session).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sandbox.tasks.oracles.browser.adapt import every_page, load, settle

DASHBOARD = "https://dashboard.stripe.com"
# Cells whose data-value is a number (cents, unix seconds) or a boolean.
NUMBERS = frozenset({"amount", "amount_refunded", "created"})
BOOLEANS = frozenset({"refunded"})

# Every [data-field] under `root` -> {name: data-value if present, else the text}.
_FIELDS_JS = """root => Object.fromEntries([...root.querySelectorAll('[data-field]')].map(
    cell => [cell.dataset.field, cell.dataset.value ?? cell.textContent.trim()]))"""
# A table row: its data-* attributes (id, badge, refunded) and its cells' fields.
_ROWS_JS = f"rows => rows.map(row => ({{...row.dataset, ...({_FIELDS_JS})(row)}}))"


def _typed(fields: dict[str, str]) -> dict[str, Any]:
    typed: dict[str, Any] = {}
    for name, value in fields.items():
        if name in NUMBERS and value.lstrip("-").isdigit():
            typed[name] = int(value)
        elif name in BOOLEANS:
            typed[name] = value == "true"
        else:
            typed[name] = value
    return typed


def _open(page, path: str) -> None:
    load(page, DASHBOARD + path)


def _rows(page, table: str) -> list[dict[str, Any]]:
    if page.locator(f"#{table}").count() == 0:
        return []
    return [_typed(row) for row in page.eval_on_selector_all(f"#{table} tbody tr[data-id]", _ROWS_JS)]


def _all_pages(page, table: str) -> list[dict[str, Any]]:
    """The rows of this list page and every page after it."""
    return every_page(page, lambda p: _rows(p, table))


def _search(page, path: str, query: str, table: str) -> list[dict[str, Any]]:
    _open(page, path)
    page.fill("#search", query)
    page.locator("#search-submit").click()
    page.wait_for_load_state()
    settle(page)
    return _all_pages(page, table)


def sign_in(page, key: str, next_path: str = "") -> None:
    """Sign in with the episode's secret key (optionally going on to `next_path`)."""
    _open(page, "/login" + (f"?next={quote(next_path, safe='')}" if next_path else ""))
    page.fill("#api-token", key)
    page.locator("#sign-in").click()
    page.wait_for_load_state()
    if page.locator("#login-error").count():
        raise RuntimeError(f"dashboard sign-in refused: {page.locator('#login-error').inner_text()}")
    settle(page)


def search_customers(page, query: str) -> list[dict[str, Any]]:
    """Customers whose email, name or id matches `query` (every word of it)."""
    return _search(page, "/test/customers", query, "customers-table")


def customer(page, customer_id: str) -> dict[str, Any]:
    """A customer's details, and their payments (newest first) under "payments"."""
    _open(page, f"/test/customers/{quote(customer_id)}")
    details = _typed(page.eval_on_selector("#customer-details", _FIELDS_JS))
    return {**details, "payments": _rows(page, "payments-table")}


def search_charges(page, query: str) -> list[dict[str, Any]]:
    """Payments matching `query`: an id, a customer email, an amount ("297.00"), an order id, a status."""
    return _search(page, "/test/payments", query, "payments-table")


def charge(page, charge_id: str) -> dict[str, Any]:
    """A charge as its page shows it: the `charge-details` fields, `metadata` (order_id...) and its
    refunds (newest first)."""
    _open(page, f"/test/payments/{quote(charge_id)}")
    fields = _typed(page.eval_on_selector("#charge-details", _FIELDS_JS))
    details = {k: v for k, v in fields.items() if not k.startswith("metadata.")}
    details["metadata"] = {k.removeprefix("metadata."): v for k, v in fields.items() if k.startswith("metadata.")}
    details["refunds"] = _rows(page, "refunds-table")
    return details


def refund(page, charge_id: str, reason: str = "", amount: str = "",
           metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """Refund `charge_id` through its refund form (all that is left unless `amount`, in major units
    such as "12.50"), and return the refund it made, read from the charge page the form returns to
    (where `#notice` says what happened). Accepts the confirmation dialog if one asks."""
    for _ in range(2):  # posted again once if the session had expired (settle says so: nothing was written)
        _open(page, f"/test/payments/{quote(charge_id)}")
        before = {r["id"] for r in _rows(page, "refunds-table")}
        if amount:
            page.fill("#refund-amount", amount)
        if reason:
            page.select_option("#refund-reason", reason)
        if metadata:
            page.fill("#refund-metadata", "\n".join(f"{k}={v}" for k, v in metadata.items()))
        accept = lambda dialog: dialog.accept()  # noqa: E731 - the nuisance's "Are you sure?" on the button
        page.on("dialog", accept)
        try:
            page.locator("#refund-submit").click()
            page.wait_for_load_state()
        finally:
            page.remove_listener("dialog", accept)
        if not settle(page):
            break
    if page.locator("#form-error").count():
        raise RuntimeError(f"refund of {charge_id} refused: {page.locator('#form-error').inner_text()}")
    if page.url.partition("?")[0] != f"{DASHBOARD}/test/payments/{quote(charge_id)}":
        _open(page, f"/test/payments/{quote(charge_id)}")  # settle signed in again and landed elsewhere
    made = [r for r in _rows(page, "refunds-table") if r["id"] not in before]
    if len(made) != 1:
        raise RuntimeError(f"refund of {charge_id}: expected one new refund on its page, found {len(made)}")
    return made[0]


def find_duplicate(page, email: str, order_id: str) -> dict[str, Any]:
    """The later of the two equal, unrefunded, succeeded charges of `order_id` by the customer with
    `email`: what the REST oracles find with Customer.list(email=...) and Charge.list(customer=...)."""
    customers = [c for c in search_customers(page, email) if c["email"].lower() == email.lower()]
    if len(customers) != 1:
        raise LookupError(f"{len(customers)} customers have the email {email}")
    charges = [c for c in customer(page, customers[0]["id"])["payments"]
               if c["order_id"] == order_id and c["status"] == "succeeded" and not c["refunded"]]
    if len(charges) != 2 or charges[0]["amount"] != charges[1]["amount"]:
        raise LookupError(f"expected two equal charges for {order_id}, found {len(charges)}")
    return max(charges, key=lambda c: (c["created"], c["id"]))
