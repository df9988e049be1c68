"""The dashboard's refund form runs the API's refund: the same rows, events and errors as
`POST /v1/refunds`, a resubmitted form replays instead of refunding twice, bad input is shown."""

from __future__ import annotations

import html
from typing import Any

from tests.services import payments_web_fixtures as fx
from tests.services.payments_web_fixtures import API, DASHBOARD, DOUBLE, field, hidden

dashboard, dash_episode = fx.dashboard, fx.dash_episode
CHARGE = DOUBLE["duplicate_charge"]
PAGE = f"/test/payments/{CHARGE}"


def refund_form(browser, charge: str = CHARGE) -> dict[str, str]:
    page = browser.get(f"/test/payments/{charge}", base_url=DASHBOARD).text
    return {"csrf_token": hidden(page, "csrf_token"), "idempotency_key": hidden(page, "idempotency_key")}


def submit(browser, charge: str = CHARGE, **fields: str):
    data = {**refund_form(browser, charge), **fields}
    return browser.post(f"/test/payments/{charge}/refund", data=data, base_url=DASHBOARD)


def business_changes(dashboard, episode) -> list[tuple[Any, ...]]:
    """The refund's row changes as scoring sees them, plus the events (and webhook payloads) they raised."""
    with dashboard.ledger(episode) as ledger:
        rows = [(c["tbl"], c["row_key"], c["op"], c["before"], c["after"]) for c in ledger.state_changes()]
    bearer = {"Authorization": f"Bearer {episode.api_keys['payments']}"}
    events = dashboard.browser().get("/v1/events", headers=bearer, base_url=API).json["data"]
    return rows + [("event", e["type"], e["data"]["object"]) for e in events]


def test_full_refund_through_the_form_makes_the_rows_the_api_makes(dashboard):
    # The same seed, the same exchange count before the refund (episode clock), two doors.
    by_api, by_form = dashboard.episode(), dashboard.episode()
    api = dashboard.browser()
    bearer = {"Authorization": f"Bearer {by_api.api_keys['payments']}"}
    for _ in range(2):  # as many exchanges as the form's sign-in and page load
        assert api.get(f"/v1/charges/{CHARGE}", headers=bearer, base_url=API).status_code == 200
    made = api.post("/v1/refunds", headers=bearer, base_url=API,
                    data={"charge": CHARGE, "reason": "duplicate", "metadata[order_id]": DOUBLE["order_id"]})
    assert made.status_code == 200

    browser = dashboard.signed_in(by_form)
    answer = submit(browser, reason="duplicate", metadata=f"order_id={DOUBLE['order_id']}")
    assert answer.status_code == 303
    notice = html.unescape(browser.get(answer.headers["Location"], base_url=DASHBOARD).text)
    assert f"Refunded ${DOUBLE['amount'] / 100:,.2f} ({made.json['id']})" in notice and 'id="notice"' in notice

    api_rows, form_rows = business_changes(dashboard, by_api), business_changes(dashboard, by_form)
    assert form_rows == api_rows
    assert {row[:2] for row in api_rows} == {("refunds", made.json["id"]), ("charges", CHARGE),
                                             ("event", "refund.created"), ("event", "charge.refunded")}


def test_partial_refunds_then_the_rest(dashboard, dash_episode):
    browser = dashboard.signed_in(dash_episode)
    assert submit(browser, amount="100.00", reason="requested_by_customer").status_code == 303
    page = browser.get(PAGE, base_url=DASHBOARD).text
    assert field(page, "amount_refunded", "data-value") == "10000"
    assert 'class="badge partially_refunded"' in page
    rest = f"{(DOUBLE['amount'] - 10000) / 100:.2f}"
    assert f'id="refund-amount" value="{rest}"' in page  # the form offers what is left
    too_much = submit(browser, amount=f"{DOUBLE['amount'] / 100:.2f}")
    assert too_much.status_code == 400 and 'id="form-error"' in too_much.text
    assert "greater than unrefunded amount" in too_much.text
    assert f'value="{DOUBLE["amount"] / 100:.2f}"' in too_much.text  # the input is kept
    assert submit(browser).status_code == 303  # no amount: the rest
    page = browser.get(PAGE, base_url=DASHBOARD).text
    assert field(page, "refunded", "data-value") == "true" and 'id="refund-form"' not in page
    assert len(fx.row_ids(page)) == 2


def test_a_resubmitted_form_replays_instead_of_refunding_twice(dashboard, dash_episode):
    browser = dashboard.signed_in(dash_episode)
    form = {**refund_form(browser), "amount": "10.00", "reason": "duplicate"}
    first = browser.post(f"{PAGE}/refund", data=form, base_url=DASHBOARD)
    again = browser.post(f"{PAGE}/refund", data=form, base_url=DASHBOARD)
    assert first.status_code == again.status_code == 303
    assert "already%20submitted" in again.headers["Location"]
    page = browser.get(PAGE, base_url=DASHBOARD).text
    assert field(page, "amount_refunded", "data-value") == "1000" and len(fx.row_ids(page)) == 1


def test_bad_form_input_is_shown_not_applied(dashboard, dash_episode):
    browser = dashboard.signed_in(dash_episode)
    for fields, message in (({"amount": "12.345"}, "at most 2 decimals"), ({"amount": "ten"}, "is not a number"),
                            ({"reason": "bored"}, "is not one of duplicate"),
                            ({"metadata": "no equals sign"}, "is not key=value")):
        answer = submit(browser, **fields)
        assert answer.status_code == 400 and message in html.unescape(answer.text), fields
    # A failed charge offers no form; posting to it anyway gets the API's own error, on the page.
    listing = browser.get("/test/payments?q=failed&per_page=1", base_url=DASHBOARD).text
    failed = fx.row_ids(listing)[0]
    assert 'id="refund-form"' not in browser.get(f"/test/payments/{failed}", base_url=DASHBOARD).text
    answer = browser.post(f"/test/payments/{failed}/refund", base_url=DASHBOARD,
                          data={"csrf_token": refund_form(browser)["csrf_token"]})
    assert answer.status_code == 400 and "cannot be refunded because it failed" in answer.text
    assert 'id="form-error"' in answer.text
    with dashboard.ledger(dash_episode) as ledger:
        assert [c for c in ledger.state_changes() if c["tbl"] == "refunds"] == []
