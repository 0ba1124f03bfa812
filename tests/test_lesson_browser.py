"""Browser: a lesson link opens the Lesson tab at its step; Next moves on; a bad link is a note."""

from __future__ import annotations

import pytest

from tests.conftest import open_app
from tests.test_browser import browser, page  # noqa: F401 - shared fixtures (offline check included)

pytestmark = pytest.mark.browser


def _header(page) -> str:  # noqa: F811
    return page.locator("#lesson-header").inner_text(timeout=120_000)


def test_lesson_link_opens_step_3_and_next_moves_to_4(page, app_url):  # noqa: F811
    open_app(page, app_url + "?lesson=3", timeout_ms=120_000)
    page.wait_for_function("() => (document.querySelector('#lesson-header')||{}).innerText?.includes('Step 3 of')",
                           timeout=240_000)
    tab = page.get_by_role("tab", name="Lesson", exact=True).first
    assert tab.get_attribute("aria-selected") == "true"
    assert "Step 3 of" in _header(page)
    page.get_by_role("button", name="Next ▶").click()
    page.wait_for_function("() => document.querySelector('#lesson-header').innerText.includes('Step 4 of')",
                           timeout=240_000)
    # the address bar follows the step (written in the browser, no server call)
    page.wait_for_function("() => location.search.includes('lesson=4')", timeout=30_000)
    # predict, then reveal: the view appears only after the reveal
    assert not page.locator("#lesson-view").is_visible()
    page.locator("#lesson-answer").get_by_role("radio").nth(1).check()
    page.get_by_role("button", name="Reveal", exact=True).click()
    page.wait_for_function("() => document.querySelector('#lesson-reveal-text')?.innerText.includes('Right')",
                           timeout=240_000)
    assert page.locator("#lesson-view svg").count() >= 1


def test_bad_link_values_are_ignored_with_a_note(page, app_url):  # noqa: F811
    open_app(page, app_url + "?tab=nowhere&lesson=99", timeout_ms=120_000)
    page.wait_for_function("() => (document.querySelector('#link-note')||{}).innerText?.includes('ignored')",
                           timeout=240_000)
    note = page.locator("#link-note").inner_text()
    assert "nowhere" in note and "99" in note
    page.get_by_role("tab", name="Attention", exact=True).first.wait_for(timeout=60_000)


def test_walk_the_whole_lesson(page, app_url):  # noqa: F811
    """Every step: predict (the first choice), reveal (the explanation and a live view appear), Next."""
    from explainers.lesson import STEPS

    open_app(page, app_url + "?lesson=1", timeout_ms=120_000)
    for n in range(1, len(STEPS) + 1):
        page.wait_for_function(f"() => (document.querySelector('#lesson-header')||{{}}).innerText?.includes("
                               f"'Step {n} of {len(STEPS)}')", timeout=240_000)
        assert not page.locator("#lesson-view").is_visible()  # nothing is shown before the prediction
        page.locator("#lesson-answer").get_by_role("radio").first.check()
        page.get_by_role("button", name="Reveal", exact=True).click()
        page.locator("#lesson-reveal-text").filter(has_text="Right").or_(
            page.locator("#lesson-reveal-text").filter(has_text="Not")).first.wait_for(timeout=240_000)
        view = page.locator("#lesson-view")
        view.wait_for(state="visible", timeout=60_000)
        shown = view.locator("img, svg, table, .tok, .chips").count()
        assert shown >= 1 and len(view.inner_text()) > 20, f"step {n} shows no view"
        if n < len(STEPS):
            page.get_by_role("button", name="Next ▶").click()
    assert not page.get_by_role("button", name="Next ▶").is_enabled()  # the last step
