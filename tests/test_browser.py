"""Browser tests: Playwright drives Debian's chromium against the app launched in-process.
Each test records every request and fails if one leaves 127.0.0.1."""

from __future__ import annotations

import shutil
from urllib.parse import urlparse

import pytest

from benchmarks.browser import count_requests  # one home for "server calls during a block"
from tests.conftest import open_app

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
    open_app(pg, app_url, timeout_ms=90_000)
    yield pg
    pg.close()
    assert outside == [], f"requests left the machine: {outside[:5]}"


def open_tab(page, name: str) -> None:
    # the first render of the whole page can take tens of seconds on a busy 2-core machine
    page.get_by_role("tab", name=name, exact=True).first.click(timeout=120_000)




def test_attention_tab_heatmap_and_bertviz(page):
    open_tab(page, "Attention")
    page.get_by_role("button", name="Show attention").click()
    page.locator("#attention-maps [data-frame]:not([hidden]) img").first.wait_for(timeout=120_000)
    page.locator(".chips .tok").first.wait_for(timeout=30_000)
    assert "animal" in page.locator(".chips").inner_text()
    # the token labels are drawn around the map, rows and columns
    labels = page.evaluate("""() => [...document.querySelectorAll(
        '#attention-maps [data-frame]:not([hidden]) .at-rows, #attention-maps [data-frame]:not([hidden]) .at-cols')]
        .map(e => getComputedStyle(e, '::before').content)""")
    assert len(labels) == 2 and all("animal" in t and "tired" in t for t in labels)
    # the bertviz head view is drawn after the run, inside the sandboxed iframe, offline
    open_tab(page, "Interactive (bertviz)")
    frame = page.frame_locator("#bertviz-view iframe.bertviz")
    frame.locator("svg").first.wait_for(timeout=120_000)
    assert frame.locator("svg text").count() > 5  # token labels drawn by d3
    # with its tab open, a new run redraws it for the new sentence (it is not drawn into a hidden tab)
    panel = page.locator("[role=tabpanel]:visible").first
    panel.get_by_label("Text", exact=True).first.fill("The zebra crossed the river.")
    page.get_by_role("button", name="Show attention").click()
    page.frame_locator("#bertviz-view iframe.bertviz").locator("svg text", has_text="zebra").first.wait_for(
        timeout=120_000)


def _server_calls(page) -> list[str]:
    calls: list[str] = []
    page.on("request", lambda r: calls.append(r.url) if "/gradio_api/" in r.url and "heartbeat" not in r.url
            else None)
    return calls


def _shown(page, view: str) -> tuple[str, str]:
    """The key and the first image (or text) of the frame a scrubber shows now."""
    f = page.locator(f"{view} [data-frame]:not([hidden])")
    assert f.count() == 1
    img = f.locator("img")
    return f.get_attribute("data-frame"), (img.first.get_attribute("src") if img.count() else f.inner_text())


def scrub_once(page, view: str, slider_name: str, key: str = "Home") -> tuple[tuple, tuple, list[str]]:
    """Press `key` on the slider of the scrubber `view`: the frame shown before and after, and the
    server calls the page made meanwhile (a scrubber answers in the browser: there should be none)."""
    page.wait_for_timeout(500)
    calls: list[str] = []
    page.on("request", lambda r: calls.append(r.url) if "/gradio_api/" in r.url and "heartbeat" not in r.url else None)
    before = _shown(page, view)
    slider = page.locator(view).get_by_role("slider", name=slider_name, exact=True)
    slider.focus()
    page.keyboard.press(key)
    page.wait_for_timeout(300)
    return before, _shown(page, view), calls


def run_then_scrub(page, app_url: str, tab: str, button: str, view: str, ready: str, slider_name: str):
    """Open `tab`, press `button`, wait for the scrubber `view` to show `ready`, then `scrub_once` it."""
    open_app(page, app_url, timeout_ms=90_000)
    page.get_by_role("tab", name=tab, exact=True).first.click()
    page.get_by_role("button", name=button).click()
    page.locator(f"{view} [data-frame]:not([hidden]) {ready}").first.wait_for(timeout=240_000)
    return scrub_once(page, view, slider_name)


def test_attention_layer_and_head_sliders_scrub_in_the_browser(page):
    open_tab(page, "Attention")
    page.get_by_role("button", name="Show attention").click()
    view = "#attention-maps"
    page.locator(f"{view} [data-frame]:not([hidden]) img").first.wait_for(timeout=120_000)
    page.wait_for_timeout(1500)  # let the run's follow-up (bertviz) finish
    calls = _server_calls(page)
    for name in ("Layer", "Head"):
        slider = page.get_by_role("slider", name=name)
        before = _shown(page, view)
        slider.focus()
        page.keyboard.press("ArrowRight")
        after = _shown(page, view)
        assert after[0] != before[0] and after[1] != before[1], name  # another frame, another picture
        assert slider.get_attribute("aria-valuetext") == f"{name} {slider.input_value()}"
    page.get_by_role("slider", name="Head").focus()
    page.keyboard.press("Home")  # head 0: the average, with every head of the layer below
    assert _shown(page, view)[0].endswith("-0")
    assert page.locator(f"{view} [data-frame]:not([hidden]) img").count() == 13
    page.locator(f"{view} [data-frame]:not([hidden])").get_by_role("button", name="head 4: enlarge").click()
    assert _shown(page, view)[0].endswith("-4")
    page.wait_for_timeout(300)
    assert calls == [], calls  # every move was answered in the browser


def test_editing_the_text_marks_the_attention_views_stale_until_the_next_run(page):
    open_tab(page, "Attention")
    page.get_by_role("button", name="Show attention").click()
    page.locator("#attention-maps [data-frame]:not([hidden]) img").first.wait_for(timeout=120_000)
    assert page.locator("#attention-tokens.fv-stale").count() == 0
    page.get_by_role("textbox", name="Text", exact=True).fill("A different sentence now.")
    page.locator("#attention-tokens.fv-stale").wait_for(timeout=10_000)  # in the browser: no server call
    assert page.locator("#attention-maps.fv-stale").count() == 1
    page.get_by_role("button", name="Show attention").click()
    page.wait_for_function("() => !document.querySelector('#attention-tokens.fv-stale')", timeout=120_000)
    assert "different" in page.locator("#attention-tokens").inner_text()


def test_attention_error_keeps_the_last_good_views_and_says_so_once(page):
    open_tab(page, "Attention")
    page.get_by_role("button", name="Show attention").click()
    view = "#attention-maps"
    page.locator(f"{view} [data-frame]:not([hidden]) img").first.wait_for(timeout=120_000)
    shown = _shown(page, view)
    page.get_by_role("textbox", name="Text", exact=True).fill("   ")
    page.get_by_role("button", name="Show attention").click()
    page.locator(".toast-body").first.wait_for(timeout=60_000)
    assert page.locator(".toast-body").count() == 1 and "empty" in page.locator(".toast-body").inner_text()
    assert _shown(page, view) == shown  # the last good maps stay
    assert not page.locator(view).get_by_text("Error", exact=True).is_visible()  # no error badge over them


def test_next_token_bars_and_generation_step_scrub_in_the_browser(page):
    open_tab(page, "Next token")
    page.get_by_role("button", name="Predict the next token", exact=True).click()
    page.locator("#next-token-bars table.nt-bars").wait_for(timeout=120_000)
    assert "one scale for both columns" in page.locator("#next-token-bars").inner_text()
    page.get_by_role("tab", name="One token at a time").click()
    page.get_by_role("button", name="Generate", exact=True).click()
    view = "#generation-steps"
    page.locator(f"{view} [data-frame]:not([hidden]) table").wait_for(timeout=120_000)
    page.wait_for_timeout(500)
    calls = _server_calls(page)
    slider = page.get_by_role("slider", name="Step")
    before = _shown(page, view)
    slider.focus()
    page.keyboard.press("ArrowRight")
    after = _shown(page, view)
    assert (before[0], after[0]) == ("1", "2") and "Step 2 of 30" in after[1] and before[1] != after[1]
    assert slider.get_attribute("aria-valuetext") == "Step 2"
    page.wait_for_timeout(300)
    assert calls == [], calls


def _images(page) -> int:
    return page.evaluate("document.querySelectorAll('img').length")


@pytest.mark.parametrize("tab,button,expect", [
    ("Denoising", "Denoise", 2),
    ("Noising", "Add noise", 2),
])
def test_tab_renders_its_figures(page, tab, button, expect):
    open_tab(page, tab)
    before = _images(page)
    page.get_by_role("button", name=button, exact=True).first.click()
    page.wait_for_function(f"document.querySelectorAll('img').length >= {before + expect}", timeout=240_000)
    assert not page.locator(".toast-body.error, .toast-wrap .error").count()


def _visible_frame(page, root: str) -> str:
    return page.evaluate(f"[...document.querySelectorAll('{root} [data-frame]')].filter(f => !f.hidden)"
                         ".map(f => f.dataset.frame).join(',')")


def _scrub_with_keys(page, root: str, slider: str, presses: int) -> tuple[str, str, list[str]]:
    """Focus a scrubber's slider, press ArrowLeft `presses` times; (frame before, after, server calls)."""
    before = _visible_frame(page, root)
    calls: list[str] = []
    page.on("request", lambda r: calls.append(r.url) if "/gradio_api/" in r.url else None)
    page.locator(root).get_by_role("slider", name=slider, exact=True).first.focus()
    for _ in range(presses):
        page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(300)
    return before, _visible_frame(page, root), calls


def test_denoise_scrub_makes_no_server_call(page):
    page.set_default_timeout(180_000)  # a 2-core CPU shared with model runs: be patient, not flaky
    open_tab(page, "Denoising")
    page.get_by_role("button", name="Denoise", exact=True).first.click()
    page.locator("#denoise-view [data-frame]").first.wait_for(state="attached", timeout=240_000)
    assert page.locator("#denoise-view [data-frame]").count() == 51  # steps + 1 frames, all in the page
    before, after, calls = _scrub_with_keys(page, "#denoise-view", "Step", 5)
    assert (before, after) == ("50", "45") and calls == []
    shown = page.locator("#denoise-view [data-frame='45'] img").first
    assert shown.is_visible() and "Step 45 of 50" in shown.get_attribute("alt")
    # its pictures came packed in a shared sheet: once shown, each is cut out, whole, as its own image
    page.wait_for_function("[...document.querySelectorAll(\"#denoise-view [data-frame='45'] img\")]"
                           ".every(i => i.complete && i.naturalWidth === 28)")
    pixels = page.evaluate("""() => {
      const img = document.querySelector("#denoise-view [data-frame='45'] img");
      const c = document.createElement('canvas'); c.width = 28; c.height = 28;
      const g = c.getContext('2d'); g.drawImage(img, 0, 0);
      return [...g.getImageData(0, 0, 28, 28).data].filter((v, i) => i % 4 === 0); }""")
    assert len(set(pixels)) > 10  # a picture (the digit emerging), not a blank tile
    assert page.locator("#denoise-view [data-frame='50'] img").first.is_hidden()
    slider = page.locator("#denoise-view").get_by_role("slider", name="Step", exact=True)
    assert slider.get_attribute("aria-valuetext") == "Step 45"
    # the page's CSS (ui/static/page.css, served with css_paths) styles the scrubber: controls in a row
    assert page.locator("#denoise-view .fv-controls").first.evaluate("e => getComputedStyle(e).display") == "flex"
    # the GIF is made when asked, from the stored run: a download link appears
    assert not page.locator("#denoise-gif a[download], #denoise-gif a[href*='.gif']").count()
    page.get_by_role("button", name="Make a GIF of the run").click()
    link = page.locator("#denoise-gif a[href*='.gif']").first
    link.wait_for(state="attached", timeout=60_000)
    first = link.get_attribute("href").rsplit("/", 1)[-1]
    # a slider moved after the run: the GIF is still the run on screen's (its settings kept in the page)
    page.get_by_label("Seed").fill("5")
    page.get_by_role("button", name="Make a GIF of the run").click()
    page.wait_for_timeout(3000)
    assert page.locator("#denoise-gif a[href*='.gif']").first.get_attribute("href").rsplit("/", 1)[-1] == first


def test_noising_scrub_shows_t_not_position(page):
    page.set_default_timeout(180_000)  # a 2-core CPU shared with model runs: be patient, not flaky
    open_tab(page, "Noising")
    page.get_by_role("button", name="Add noise", exact=True).first.click()
    page.locator("#noising-view [data-frame]").first.wait_for(state="attached", timeout=240_000)
    before, after, calls = _scrub_with_keys(page, "#noising-view", "Step t", 2)
    assert calls == [] and before != after
    slider = page.locator("#noising-view").get_by_role("slider", name="Step t", exact=True)
    assert slider.get_attribute("aria-valuetext") == "Step t 80"  # opened on t = 100; two steps of 10 back


def test_side_by_side_race(page):
    page.set_default_timeout(180_000)  # a 2-core CPU shared with model runs: be patient, not flaky
    open_tab(page, "Side by side")
    page.get_by_role("button", name="Race: run both, measured").click()
    page.locator("#race-table table").first.wait_for(timeout=300_000)
    assert "Forward passes" in page.locator("#race-table").inner_text()
    before, after, calls = _scrub_with_keys(page, "#race-passes", "Forward pass", 3)
    assert (before, after) == ("20", "17") and calls == []
    assert page.locator("#race-passes [data-frame='17'] img").first.is_visible()


def test_count_requests_sees_server_calls_and_only_them(page):
    open_tab(page, "Next token")
    for _ in range(60):  # let the page's own load chain finish (links, lesson step: a busy CPU slows it)
        with count_requests(page) as settling:
            page.wait_for_timeout(1000)
        if not settling:
            break
    with count_requests(page) as idle:
        page.wait_for_timeout(500)
    with count_requests(page) as calls, page.expect_response(lambda r: "/gradio_api/" in r.url, timeout=120_000):
        page.get_by_role("button", name="Predict the next token", exact=True).first.click()
    assert idle == []
    assert calls and all("/gradio_api/" in u for u in calls)


# axe-core (bundled in axe-playwright-python, no CDN) on every tab after load. Serious and critical
# violations fail, except the rules below, which fail today in gradio's own markup, not in ours
# (reported to the lead, kept visible here rather than skipped):
#   aria-prohibited-attr: gradio's empty-value placeholder `<div aria-label="Empty value">` (an
#   empty gr.Plot / gr.Image / gr.File) carries an aria-label without a role.
GRADIO_KNOWN = {"aria-prohibited-attr"}


def test_no_serious_accessibility_violations(page, app_url):
    """Every tab after load, in the light theme and in the dark one (?__theme=dark)."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    found, known = [], []
    for theme in ("light", "dark"):
        if theme == "dark":
            open_app(page, f"{app_url}?__theme=dark", timeout_ms=90_000)
        page.get_by_role("tab").first.wait_for(timeout=60_000)
        tabs = page.locator("[role=tablist]").first.get_by_role("tab").all_inner_texts()
        assert len(tabs) >= 5, tabs
        for tab in tabs:
            open_tab(page, tab.strip())
            page.wait_for_timeout(300)
            for v in axe.run(page).response["violations"]:
                if v["impact"] in ("serious", "critical"):
                    where = (f"{theme}, {tab.strip()}: {v['id']} ({v['impact']}) x{len(v['nodes'])}: "
                             f"{v['nodes'][0]['html'][:120]}")
                    (known if v["id"] in GRADIO_KNOWN else found).append(where)
    print("known gradio violations:", known)
    assert found == [], "\n".join(found)


# each tab after its main action, opened by a link (ui/links.py): the link runs the tab as its button does
AFTER_ACTION = {
    "attention": "text=The%20bank%20of%20the%20river", "next_token": "text=To%20be", "noising": "t=500",
    "denoising": "steps=20", "text_to_image": "steps=10&n_images=1", "vision": "steps=10",
    "compare": "new_tokens=5&steps=10", "lesson": "lesson=11",
}


def test_no_serious_accessibility_violations_after_each_main_action(browser, app_url):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    found, known = [], []
    pg = browser.new_page(viewport={"width": 1400, "height": 1600})
    try:
        for theme in ("light", "dark"):  # the same runs come from the store the second time
            for tab, query in AFTER_ACTION.items():
                query = f"{query}&__theme=dark" if theme == "dark" else query
                open_app(pg, f"{app_url}?tab={tab}&{query}" if tab != "lesson" else f"{app_url}?{query}",
                         timeout_ms=180_000)
                if tab not in ("next_token", "lesson"):
                    pg.locator("input[data-scrub]:visible").first.wait_for(timeout=180_000)
                if tab == "text_to_image":  # its sub-views too, drawn when opened
                    for name in ("Which word shaped which pixels, over the whole run (DAAM)",
                                 "Self-attention between patches"):
                        pg.get_by_role("button", name=name).click()
                    pg.locator("#t2i-patches input[data-scrub]").first.wait_for(timeout=120_000)
                # every run the link started has finished: no status tracker still shows progress (its
                # overlay dims the page, which axe would read as low contrast)
                pg.wait_for_function("() => !document.querySelector('.progress-text, .eta-bar, .generating')",
                                     timeout=180_000)
                pg.wait_for_timeout(500)
                for v in axe.run(pg).response["violations"]:
                    if v["impact"] in ("serious", "critical"):
                        where = f"{theme}, {tab}: {v['id']} ({v['impact']}) x{len(v['nodes'])}: {v['nodes'][0]['html'][:120]}"
                        (known if v["id"] in GRADIO_KNOWN else found).append(where)
    finally:
        pg.close()
    print("known gradio violations:", known)
    assert found == [], "\n".join(found)


def test_a_pre_checked_run_says_what_is_wrong_in_the_page(page):
    """The race (like Denoising and Noising) checks its settings in a quick event before it runs; that
    event goes through the queue, because Gradio 6.31 shows no message for an error in a queue=False
    event: the button did nothing."""
    open_tab(page, "Side by side")
    page.get_by_role("textbox", name="Diffusion prompt (tiny-ddpm)", exact=True).fill("   ")
    page.get_by_role("button", name="Race: run both, measured").click()
    page.locator(".toast-body").first.wait_for(timeout=60_000)
    assert "image prompt is empty" in page.locator(".toast-body").first.inner_text()
    assert "a handwritten 5" in page.locator(".toast-body").first.inner_text()  # an example of its own kind


def test_a_fake_picture_uploaded_in_the_page_gets_a_sentence(page, tmp_path):
    """The page's load event (links) rebuilds every input's per-session instance in Gradio 6.31, so the
    upload check lives in a gr.Image subclass (ui/uploads.py): the browser, not only the API, gets it."""
    fake = tmp_path / "fake.png"
    fake.write_text("not a picture at all")
    open_tab(page, "Noising")
    page.locator("input[type=file]").first.set_input_files(str(fake))  # the Noising image's (other tabs not drawn yet)
    page.locator(".toast-body").first.wait_for(timeout=60_000)
    text = page.locator(".toast-body").first.inner_text()
    assert "'fake.png' is not an image this app can read" in text, text
    assert "Could not preprocess" not in text and "/tmp" not in text
