"""The dashboard's lists and detail pages: search, paging, bad parameters, and every field the
tasks' oracles read (amounts, status, refunds, customer email, the order id in metadata)."""

from __future__ import annotations

import html
import re

import pytest

from tests.services import payments_web_fixtures as fx
from tests.services.payments_web_fixtures import DASHBOARD, DOUBLE, field, row_ids

dashboard, dash_episode = fx.dashboard, fx.dash_episode
ORDER_CHARGES = {DOUBLE["original_charge"], DOUBLE["duplicate_charge"]}


@pytest.fixture
def browser(dashboard, dash_episode):
    return dashboard.signed_in(dash_episode)


def get(browser, path: str, status: int = 200) -> str:
    answer = browser.get(path, base_url=DASHBOARD)
    assert answer.status_code == status, answer.text[:300]
    return answer.text


def test_payments_list_pages_through_every_charge_once(browser):
    first = get(browser, "/test/payments?per_page=40")
    total = int(re.search(r"Showing 1–40 of (\d+)", first).group(1))
    assert 'id="payments-table"' in first and "<caption>" in first and 'scope="col"' in first
    assert 'id="prev-page"' not in first
    seen, page, pages = [], first, 0
    while True:
        pages += 1
        seen += row_ids(page)
        link = re.search(r'<a id="next-page" rel="next" href="([^"]+)"', page)
        if not link:
            break
        page = get(browser, html.unescape(link.group(1)))
    assert len(seen) == len(set(seen)) == total and pages == -(-total // 40)
    assert 'id="prev-page" rel="prev" href="/test/payments?page=' in page


@pytest.mark.parametrize("query", [DOUBLE["customer_email"], DOUBLE["order_id"], DOUBLE["order_id"].lower(),
                                   f"{DOUBLE['amount'] / 100:.2f} {DOUBLE['order_id']}"])
def test_search_finds_the_double_charge(browser, query):
    page = get(browser, f"/test/payments?q={query}")
    assert ORDER_CHARGES <= set(row_ids(page))
    if "ORD" in query.upper():
        assert set(row_ids(page)) == ORDER_CHARGES


def test_search_by_id_and_status(browser):
    assert row_ids(get(browser, f"/test/payments?q={DOUBLE['duplicate_charge']}")) == [DOUBLE["duplicate_charge"]]
    failed = get(browser, "/test/payments?q=failed&per_page=100")
    assert row_ids(failed) and set(re.findall(r'data-badge="(\w+)"', failed)) == {"failed"}
    nothing = get(browser, "/test/payments?q=ORD-does-not-exist")
    assert 'id="empty-state"' in nothing and "Showing 0–0 of 0" in nothing


@pytest.mark.parametrize(("query", "name"), [("per_page=0", "per_page"), ("per_page=101", "per_page"),
                                             ("page=0", "page"), ("page=x", "page"), ("q=" + "a" * 201, "q")])
def test_bad_list_parameters_are_a_400_naming_them(browser, query, name):
    page = get(browser, f"/test/customers?{query}", status=400)
    assert f'data-parameter="{name}"' in page and f"{name} " in html.unescape(page)


def test_charge_page_shows_what_the_oracles_read(browser):
    page = get(browser, f"/test/payments/{DOUBLE['duplicate_charge']}")
    assert field(page, "id") == DOUBLE["duplicate_charge"]
    assert field(page, "amount", "data-value") == str(DOUBLE["amount"])
    assert field(page, "amount") == f"${DOUBLE['amount'] / 100:,.2f}"
    assert (field(page, "currency"), field(page, "status")) == ("usd", "succeeded")
    assert (field(page, "refunded", "data-value"), field(page, "amount_refunded", "data-value")) == ("false", "0")
    assert field(page, "customer_email") == DOUBLE["customer_email"]
    assert field(page, "metadata.order_id") == DOUBLE["order_id"]
    assert field(page, "payment_intent").startswith("pi_") and field(page, "created", "data-value").isdigit()
    assert f'href="/test/customers/{DOUBLE["customer"]}"' in page
    assert 'id="refund-form"' in page and 'data-confirm="' in page and 'id="no-refunds"' in page
    assert get(browser, "/test/payments/ch_nope", status=404).count('id="error-message"') == 1


def test_an_already_refunded_charge_lists_its_refund_and_offers_no_form(browser):
    inquiry = fx.FACTS["refund_inquiry"]
    page = get(browser, f"/test/payments/{inquiry['charge']}")
    assert field(page, "refunded", "data-value") == "true"
    assert row_ids(page) == [inquiry["refund"]] and 'id="refunds-table"' in page
    assert 'id="refund-form"' not in page


def test_customers_search_by_email_and_name_and_the_customer_page(browser):
    by_email = get(browser, f"/test/customers?q={DOUBLE['customer_email'].upper()}")
    assert row_ids(by_email) == [DOUBLE["customer"]]
    by_name = get(browser, f"/test/customers?q={DOUBLE['customer_name']}")
    assert DOUBLE["customer"] in row_ids(by_name)
    page = get(browser, f"/test/customers/{DOUBLE['customer']}")
    assert (field(page, "email"), field(page, "name")) == (DOUBLE["customer_email"], DOUBLE["customer_name"])
    assert ORDER_CHARGES <= set(row_ids(page)) and 'id="payments-table"' in page


def test_a_form_too_large_is_a_413_page_not_json(browser):
    answer = browser.post(f"/test/payments/{DOUBLE['duplicate_charge']}/refund", base_url=DASHBOARD,
                          data={"metadata": "x" * (1024 * 1024 + 1)})
    assert answer.status_code == 413 and answer.mimetype == "text/html"
