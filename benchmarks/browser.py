"""Browser timings: Playwright drives Debian's chromium against a running app.

    scrub            press an arrow key on a scrubber slider (`explainers.frames.scrubber`, the
                     `input[data-scrub]` sliders) N times: key press -> new frame on screen, and
                     the number of requests to /gradio_api while scrubbing (the goal is none)
    click_to_result  click a tab's button -> its output drawn (uncached input each time)

Clocks are the page's own (`performance.now()`): a key press starts at the keydown event's
timestamp; the new frame counts as on screen at the first requestAnimationFrame callback after
the DOM change (the frame in which the browser paints it). A click starts at the click event's
timestamp; the result counts as drawn when the output's status tracker is hidden again and its
content has changed, checked on every animation frame (so the figure is exact to ~16 ms).

    python -m benchmarks.browser URL --tab Denoising --button Denoise --presses 30
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics

import numpy as np

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@contextlib.contextmanager
def chromium():
    """A headless chromium (Debian's, never a downloaded build) and a fresh page on it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def count_requests(page, part: str = "/gradio_api/"):
    """Collect the URLs of the requests the page sends to the server during the block (the
    queue's heartbeat, which keeps the event stream alive, left out)."""
    seen: list[str] = []

    def on_request(r):
        if part in r.url and "heartbeat" not in r.url:
            seen.append(r.url)

    page.on("request", on_request)
    try:
        yield seen
    finally:
        page.remove_listener("request", on_request)


def pct(xs, q) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def open_page(browser, url: str, timeout_ms: int = 180_000):
    """A new page on `url`, ready once the app's tabs are drawn (not 'network idle': the queue's
    event stream may keep the network busy)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    page.get_by_role("tab").first.wait_for(timeout=timeout_ms)
    return page


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).first.click()


# Installed once per scrubber: keydown timestamp -> first animation frame after a change of what
# the scrubber shows (anything but its own controls: the slider's aria text and <output> change too).
_SCRUB_PROBE = """(slider) => {
  const box = slider.closest('[data-scrubber]') || slider.parentElement;
  if (box.__probe) return;
  box.__probe = {pending: null, times: []};
  const probe = box.__probe;
  slider.ownerDocument.addEventListener('keydown', (e) => {
    if (e.key.startsWith('Arrow') && box.contains(e.target)) probe.pending = e.timeStamp;
  }, true);
  new MutationObserver((muts) => {
    if (probe.pending === null) return;
    const shown = muts.some((m) => {
      const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      return el && !(el.closest('.fv-controls') || el.matches('input, output'));
    });
    if (!shown) return;
    const t0 = probe.pending;
    probe.pending = null;
    requestAnimationFrame(() => probe.times.push(performance.now() - t0));
  }).observe(box, {subtree: true, attributes: true, childList: true, characterData: true});
}"""


def scrub(page, slider, presses: int = 30, timeout_ms: int = 2000) -> dict:
    """Press ArrowLeft (ArrowRight at the slider's minimum) `presses` times on `slider` (a
    Playwright locator of an `input[data-scrub]`), one press per shown frame."""
    slider.evaluate(_SCRUB_PROBE)
    # sliders of one scrubber share its probe: start each slider's count afresh
    slider.evaluate("(s) => { (s.closest('[data-scrubber]') || s.parentElement).__probe.times = []; }")
    slider.focus()
    times = "(s) => (s.closest('[data-scrubber]') || s.parentElement).__probe.times.length"
    misses = 0
    with count_requests(page) as calls:
        for i in range(presses):
            lo, value = slider.evaluate("(s) => [+s.min, +s.value]")
            page.keyboard.press("ArrowLeft" if value > lo else "ArrowRight")
            try:
                page.wait_for_function(f"(s) => ({times})(s) >= {i + 1 - misses}", arg=slider.element_handle(),
                                       polling="raf", timeout=timeout_ms)
            except Exception:  # noqa: BLE001 - no frame change seen: counted, not fatal
                misses += 1
        page.wait_for_timeout(300)  # a request fired by the last press would show up here
    xs = slider.evaluate("(s) => (s.closest('[data-scrubber]') || s.parentElement).__probe.times")
    return dict(presses=presses, frames_seen=len(xs), p50_ms=pct(xs, 50), p95_ms=pct(xs, 95),
                max_ms=max(xs) if xs else float("nan"), server_requests=len(calls), goal_p95_ms=50)


def scrub_tab(page, tab: str | tuple[str, ...], button: str, presses: int = 30, timeout_ms: int = 300_000) -> dict:
    """Run a tab once (its main button), then scrub every visible scrubber slider on it.
    tab: a tab's name, or the names of nested tabs, outer first."""
    for name in (tab,) if isinstance(tab, str) else tab:
        open_tab(page, name)
    panel = page.locator("[role=tabpanel]:visible").first  # the tab's own panel (several tabs have "Generate")
    panel.get_by_role("button", name=button, exact=True).first.click()
    sliders = panel.locator("[data-scrubber] input[data-scrub]:visible")
    sliders.first.wait_for(timeout=timeout_ms)
    page.wait_for_timeout(500)  # let the run's outputs settle
    out = {}
    for k in range(sliders.count()):
        s = sliders.nth(k)
        name = s.get_attribute("data-label") or s.get_attribute("aria-label") or f"slider {k}"
        out[name if name not in out else f"{name} ({k})"] = scrub(page, s, presses)
    return out


# The output watched: a CSS selector, or (None) the whole top-level tab panel of the button.
_ROOT = """(arg) => {
  if (arg.sel) return document.querySelector(arg.sel);
  let el = [...document.querySelectorAll('button')].find(
    (b) => b.offsetParent !== null && b.textContent.trim() === arg.button);
  let panel = null;
  for (; el; el = el.parentElement) if (el.getAttribute && el.getAttribute('role') === 'tabpanel') panel = el;
  return panel;
}"""

_WATCH = """(arg) => {
  const el = (ROOT)(arg);
  window.__changed = false;
  window.__root = el;
  if (window.__watch) window.__watch.disconnect();
  window.__watch = new MutationObserver((muts) => {
    for (const m of muts) {
      const t = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      if (!t || t === el || t.closest('[data-testid=status-tracker], button, input, textarea, label')) continue;
      window.__changed = true;
    }
  });
  window.__watch.observe(el, {subtree: true, childList: true, characterData: true, attributes: true,
                              attributeFilter: ['src', 'hidden', 'data-frame']});
  document.addEventListener('click', (e) => { window.__clickT = e.timeStamp; }, {capture: true, once: true});
}""".replace("ROOT", _ROOT, 1)

# Drawn: something in the output changed and none of its status trackers is busy any more.
_DRAWN = """() => {
  const busy = [...window.__root.querySelectorAll('[data-testid=status-tracker]')]
    .some((t) => !t.classList.contains('hide') && t.offsetParent !== null);
  if (!window.__changed || busy) return false;
  return performance.now() - window.__clickT;
}"""


def click_to_result(page, tab: str, button: str, output: str | None = None, fill: tuple[str, str] | None = None,
                    timeout_ms: int = 300_000) -> float:
    """Milliseconds from clicking `button` on `tab` to its output drawn anew: `output` (a CSS
    selector), or by default anything on the tab once no status tracker on it is busy.
    fill: (textbox label, text) typed first, so the input is new and nothing is served from a cache."""
    open_tab(page, tab)
    panel = page.locator("[role=tabpanel]:visible").first
    if fill:
        box = panel.get_by_label(fill[0], exact=True).first
        box.fill(fill[1])
        box.blur()  # a number box commits its value on blur
    if output:
        page.locator(output).first.wait_for(state="attached", timeout=30_000)
    page.evaluate(_WATCH, {"sel": output, "button": button})
    panel.get_by_role("button", name=button, exact=True).first.click()
    return float(page.wait_for_function(_DRAWN, polling="raf", timeout=timeout_ms).json_value())


def summarise(ms: list[float]) -> dict:
    return dict(runs=len(ms), p50_ms=statistics.median(ms), p95_ms=pct(ms, 95), all_ms=ms)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url")
    p.add_argument("--tab", default="Denoising")
    p.add_argument("--button", default="Denoise")
    p.add_argument("--presses", type=int, default=30)
    a = p.parse_args(argv)
    with chromium() as b:
        page = open_page(b, a.url)
        print(json.dumps(scrub_tab(page, a.tab, a.button, a.presses), indent=1))


if __name__ == "__main__":
    main()
