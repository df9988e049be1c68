"""Open an HTML file in Debian's headless Chromium (no browser download) and check what is visible."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]


@contextlib.contextmanager
def chromium_page(path: Path, screenshot: Path) -> Iterator[tuple[object, list[str]]]:
    """(page, urls the page requested) with `path` loaded and a full-page screenshot taken;
    skips, saying why, when Chromium is not installed."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed: the report cannot be rendered here")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            page.goto(path.resolve().as_uri())
            page.screenshot(path=str(screenshot), full_page=True)
            yield page, requested
        finally:
            browser.close()
