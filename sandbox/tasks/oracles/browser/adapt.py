"""What a competent browser agent does about the UI nuisance (sandbox/faults/html*.py), for the
browser oracles' page objects.

The whole API, for a Playwright sync `Page`:

    settle(page) -> bool
        Call after every navigation and every form post. It waits for the page to load, dismisses
        an interstitial and a cookie banner, clicks Confirm in a confirmation dialog (a page object
        only clicks a destructive button it means to press), waits until the page's late scripts
        are done (slow lists, a button that moves after load), and signs in again when the agent
        was sent to a sign-in page with `?next=` (an expired session). It returns True exactly in
        that last case: the form the caller posted was not written, and the caller must fill in
        and post it again (the browser is back on the form's page).

    load(page, url) -> None
        Open `url` and settle. Chromium drops a navigation when the host's network interfaces change
        under it (another process making a network namespace is enough): a page read is asked for
        once more, as a person would. Form posts are never sent again blindly.

    every_page(page, read) -> list
        `read(page)` on this list page and on every page after it, by its `#next-page` link (never
        by computing offsets, so a page size the nuisance changed does not matter).

    sign_in(page) -> None
        Fill in and submit the sign-in form the page shows, with the episode's credentials from
        the environment `sandbox env` / `sandbox run` gives (ZENDESK_EMAIL + ZENDESK_API_TOKEN,
        STRIPE_API_KEY, SLACK_BOT_TOKEN, GITHUB_TOKEN), for the service whose host the page is on
        (ServiceSpec.hosts).

Everything is found by the ids the sandbox's own snippets carry (#sandbox-interstitial,
#sandbox-consent, #sandbox-confirm, window.sandboxPending) and the sign-in form of the web
contract (form#login-form, input#email, input#api-token, button#sign-in), never by coordinates.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

T = TypeVar("T")

# How long a late script may take (slow lists are seconds at most) and how many nuisances one
# settle gets past in a row (a banner, a notice, a confirmation, a sign-in...).
SETTLE_TIMEOUT_MS = 15_000
MAX_ROUNDS = 8
EMAIL_VARS = {"helpdesk": "ZENDESK_EMAIL"}

_PENDING = "() => !window.sandboxPending"
_DISMISS = {"interstitial": "#sandbox-interstitial-button", "consent": "#sandbox-consent-accept"}
_LOOK = """() => {
  const shown = (s) => { const e = document.querySelector(s);
    return !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden"; };
  return {login: !!document.querySelector("form#login-form"), confirm: shown("#sandbox-confirm"),
          interstitial: shown("#sandbox-interstitial"), consent: shown("#sandbox-consent"),
          pending: window.sandboxPending || 0};
}"""


def settle(page) -> bool:
    """See the module docstring. True: the session had expired and the caller must redo its form."""
    resubmit = False
    for _ in range(MAX_ROUNDS):
        page.wait_for_load_state("load")
        seen = page.evaluate(_LOOK)  # one round trip for everything a clean page needs checked
        if seen["login"] and parse_qs(urlsplit(page.url).query).get("next"):
            sign_in(page)  # sent to sign in (it carries ?next=), not gone there on purpose
            resubmit = True
            continue
        if seen["confirm"]:
            with page.expect_navigation(wait_until="load"):
                page.locator("#sandbox-confirm-ok").click()
            continue
        for overlay in ("interstitial", "consent"):
            if seen[overlay]:
                page.locator(_DISMISS[overlay]).click()
        if seen["pending"]:
            page.wait_for_function(_PENDING, timeout=SETTLE_TIMEOUT_MS)
        if not (seen["interstitial"] or seen["consent"]):
            return resubmit
    raise RuntimeError(f"settle: the page {page.url} still shows a nuisance after {MAX_ROUNDS} rounds")


def load(page, url: str) -> None:
    """See the module docstring."""
    try:
        page.goto(url)
    except Exception as error:  # playwright's Error
        if "ERR_NETWORK_CHANGED" not in str(error):
            raise
        page.goto(url)
    settle(page)


def every_page(page, read: Callable[[Any], list[T]]) -> list[T]:
    """See the module docstring."""
    found = read(page)
    while page.locator("#next-page").count():
        page.locator("#next-page").click()
        page.wait_for_load_state()
        settle(page)
        found += read(page)
    return found


def sign_in(page) -> None:
    """Sign in on the sign-in form the page shows, as the episode's agent; waits for the next page."""
    service = service_of(urlsplit(page.url).hostname or "")
    from sandbox.tasks.oracles.mcp_clients import TOKEN_VARS

    token_var = TOKEN_VARS.get(service or "")
    if token_var is None or token_var not in os.environ:
        raise RuntimeError(f"settle: no credentials for {page.url}: set {token_var or 'the vendor key'} "
                           "(run under `sandbox run` or `eval $(sandbox env EPISODE)`)")
    email_var = EMAIL_VARS.get(service or "")
    if email_var and page.locator("#email").count():
        page.fill("#email", os.environ[email_var])
    page.fill("#api-token", os.environ[token_var])
    with page.expect_navigation(wait_until="load"):
        page.click("#sign-in")


def service_of(host: str) -> str | None:
    """The fake that answers for `host` (its ServiceSpec.hosts, globs such as *.zendesk.com)."""
    from services import all_services

    return next((spec.id for spec in all_services() if any(fnmatch.fnmatchcase(host, h) for h in spec.hosts)), None)
