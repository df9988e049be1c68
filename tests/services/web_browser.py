"""What the web gym's browser tests share: one fake behind the real proxy, Debian's Chromium driven
by Playwright (never a browser download), pages whose traffic goes through an episode's proxy, and
screenshots for the README."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home
from sandbox.run.supervisor import running_service
from tests.proxy.conftest import CHROMIUM, CHROMIUM_ARGS, ProxyProcess, running_proxy

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@contextlib.contextmanager
def fake_behind_proxy(home: Home, service: str, *proxy_args: str) -> Iterator[tuple[ProxyProcess, EpisodeStore]]:
    """`service`'s fake (world 7) alone behind the real proxy; skips when Chromium is not installed.
    SANDBOX_SERVICES names only that fake while this runs (a module-scoped fixture's lifetime)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed: no browser to render the pages with")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SANDBOX_SERVICES", service)
        store = EpisodeStore(home)
        try:
            store.prepare(7)
            with running_service(home, service) as port:
                with running_proxy(home, "--service", f"{service}={port}", *proxy_args) as proxy:
                    yield proxy, store
        finally:
            store.close()


@contextlib.contextmanager
def launched_chromium() -> Iterator[object]:
    """Chromium for one module (Playwright's sync API holds an event loop on this thread until it stops)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def proxied_page(browser, proxy: ProxyProcess, episode: Episode):
    """A page of a fresh browser context whose traffic goes through the episode's proxy."""
    context = browser.new_context(
        proxy={"server": f"http://127.0.0.1:{proxy.port}", "username": episode.id, "password": episode.token},
        ignore_https_errors=True,  # the sandbox CA is not in Chromium's store; what is tested is the page
        viewport={"width": 1200, "height": 800},
    )
    return context.new_page()


def screenshot(page, name: str) -> Path:
    """A full-page PNG in docs/screenshots/, for the README."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
