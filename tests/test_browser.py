"""Browser tests: Playwright drives Debian's chromium against the app launched in-process.
Each test records every request and fails if one leaves 127.0.0.1."""

from __future__ import annotations

import shutil
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    outside: list[str] = []
    pg = browser.new_page(viewport={"width": 1400, "height": 1600})
    pg.on("request", lambda r: outside.append(r.url)
          if urlparse(r.url).hostname not in ("127.0.0.1", "localhost", None)
          and not r.url.startswith(("data:", "blob:", "about:")) else None)
    pg.goto(app_url, wait_until="networkidle", timeout=90_000)
    yield pg
    pg.close()
    assert outside == [], f"requests left the machine: {outside[:5]}"


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).first.click()


def test_attention_tab_heatmap_and_bertviz(page):
    open_tab(page, "Attention")
    page.get_by_role("button", name="Show attention").click()
    page.locator("#attention-heatmap img, #attention-heatmap svg").first.wait_for(timeout=120_000)
    page.locator(".chips .tok").first.wait_for(timeout=30_000)
    assert "bank" in page.locator(".chips").inner_text()
    # the bertviz head view is drawn after the run, inside the sandboxed iframe, offline
    open_tab(page, "Interactive (bertviz)")
    frame = page.frame_locator("#bertviz-view iframe.bertviz")
    frame.locator("svg").first.wait_for(timeout=120_000)
    assert frame.locator("svg text").count() > 5  # token labels drawn by d3


def _images(page) -> int:
    return page.evaluate("document.querySelectorAll('img').length")


@pytest.mark.parametrize("tab,button,expect", [
    ("Next token", "Predict the next token", 1),
    ("Denoising", "Denoise", 2),
    ("Noising", "Add noise", 2),
])
def test_tab_renders_its_figures(page, tab, button, expect):
    open_tab(page, tab)
    before = _images(page)
    page.get_by_role("button", name=button, exact=True).first.click()
    page.wait_for_function(f"document.querySelectorAll('img').length >= {before + expect}", timeout=240_000)
    assert not page.locator(".toast-body.error, .toast-wrap .error").count()


def test_side_by_side_race(page):
    open_tab(page, "Side by side")
    page.get_by_role("button", name="Race: run both, measured").click()
    page.locator("#race-table table").first.wait_for(timeout=300_000)
    assert "Forward passes" in page.locator("#race-table").inner_text()
    page.locator("#race-image img").first.wait_for(timeout=60_000)
