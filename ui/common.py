"""What every tab shares: the offline theme, CSS, and turning bad input into clear messages."""

from __future__ import annotations

import functools
import logging

import gradio as gr

from explainers.catalog import is_model_error, model_choices  # noqa: F401 - model_choices: for the tabs
from models.errors import InputError

log = logging.getLogger("explainer")

# Events that may run a model. Gradio runs up to 16 of them at once; the CPU work inside waits for
# one of explainers.compute.COMPUTE_SLOTS, so a request served from the cache, or waiting for an
# identical run already under way, never queues behind other students' model runs.
MODEL_EVENTS = dict(concurrency_id="cpu_model", concurrency_limit=16)

# System fonts only: gradio's default theme would fetch Google Fonts, and classrooms are offline.
THEME = gr.themes.Soft(
    primary_hue="blue",
    font=["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
).set(
    # WCAG AA contrast (axe-core's color-contrast rule): Soft's blue-500 labels on blue-100, white on
    # blue-500 buttons and grey-400 notes read below 4.5:1; one step darker each passes.
    block_label_text_color="*primary_700",
    block_title_text_color="*primary_700",
    button_primary_background_fill="*primary_700",
    button_primary_background_fill_hover="*primary_600",
    checkbox_label_background_fill_selected="*primary_700",
    color_accent="*primary_700",
    body_text_color_subdued="*neutral_600",
)

CSS = """
.chips {display:flex;flex-wrap:wrap;gap:4px;margin:4px 0}
.tok {padding:2px 6px;border-radius:6px;font-family:ui-monospace,monospace;font-size:14px;color:#111}
.tok sub {color:#555;margin-left:3px;font-size:10px}
.caption {color:var(--body-text-color-subdued);font-size:13px;margin:4px 0}
.warn {color:#b45309;font-weight:600}
.explain {font-size:15px}
table.compare td, table.compare th {padding:4px 8px;border-bottom:1px solid #ddd;vertical-align:top}
.fv-controls {display:flex;flex-wrap:wrap;gap:8px 18px;align-items:center;margin:6px 0}
.fv-ctl {display:flex;flex-wrap:wrap;gap:6px;align-items:center}
.fv-frames {max-width:100%;overflow-x:auto}
.sr-only {position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
.fv-note {overflow-wrap:anywhere}
.fv-ctl label {font-weight:600}
.fv-ctl input[type=range] {width:min(320px,60vw)}
.fv-ctl output {min-width:2.5em;font-variant-numeric:tabular-nums;font-weight:600}
.fv-note {color:var(--body-text-color-subdued);font-size:13px}
.fv-play {padding:2px 10px;border:1px solid var(--border-color-primary);border-radius:6px}
.fv-frames figure.fv-fig {display:inline-block;margin:4px 8px 4px 0;text-align:center;vertical-align:top}
.fv-frames figcaption {font-size:14px}
.fv-row {font-size:14px}
table.fv-bars {border-collapse:collapse;width:100%;max-width:520px}
table.fv-bars th {text-align:right;font-weight:normal;padding:1px 6px;white-space:pre;font-family:ui-monospace,monospace}
table.fv-bars td {padding:1px 4px}
table.fv-bars caption {font-weight:600;text-align:left}
.fv-bar {display:inline-block;height:14px;background:#0072b2;border-radius:2px;vertical-align:middle}
.fv-hi .fv-bar {background:#d55e00}
.fv-mute .fv-bar {background:#bbbbbb}
.fv-mute th, .fv-mute .fv-num {color:#595959}
.t2i-row {display:flex;flex-wrap:wrap;gap:6px;align-items:flex-start}
.t2i-words {display:flex;flex-wrap:wrap;gap:4px}
.t2i-ov {position:relative;display:inline-block;line-height:0}
.t2i-ov img.t2i-heat {position:absolute;left:0;top:0;opacity:0.65}
.t2i-block {max-width:300px}
.t2i-pick {position:relative;display:inline-block;line-height:0;cursor:crosshair}
.t2i-box {position:absolute;outline:3px solid #fff;box-shadow:0 0 0 5px #d55e00;pointer-events:none}
.fv-num {font-variant-numeric:tabular-nums;width:4.5em}
img.fv-px {image-rendering:pixelated;height:auto}
#noising-input img {min-width:min(224px,100%);min-height:224px;object-fit:contain;image-rendering:pixelated}
"""

# Frame switching for explainers.frames.scrubber: runs in the browser, no server call.
# One delegated listener on the component's root survives every re-render of its HTML.
SCRUB_JS = """
const show = (box) => {
  const ranges = [...box.querySelectorAll('input[data-scrub]')];
  const key = ranges.map(r => r.value).join('-');
  ranges.forEach(r => {
    const shown = r.dataset.values ? r.dataset.values.split(',')[r.value - r.min] : r.value;
    r.setAttribute('aria-valuetext', r.dataset.label + ' ' + shown);
    const out = r.parentElement.querySelector('output');
    if (out) out.textContent = shown;
  });
  box.querySelectorAll('[data-frame]').forEach(f => {
    f.hidden = f.dataset.frame !== key;
    if (!f.hidden) f.querySelectorAll('img[data-sheet-ref]').forEach(img => cut(box, img));
  });
};
// A hidden frame's pictures travel packed in shared sheets (explainers.frames.sprite_sheets):
// the first time a frame is shown, each of its pictures is cut out of its sheet with a canvas.
const cut = (box, img) => {
  const sheet = box.querySelector('img[data-sheet="' + img.dataset.sheetRef + '"]');
  if (!sheet) return;
  if (!sheet.complete || !sheet.naturalWidth) {
    sheet.addEventListener('load', () => cut(box, img), {once: true});
    return;
  }
  const w = +sheet.dataset.tw, h = +sheet.dataset.th, cols = +sheet.dataset.cols, k = +img.dataset.tile;
  const c = document.createElement('canvas');
  c.width = w; c.height = h;
  c.getContext('2d').drawImage(sheet, (k % cols) * w, Math.floor(k / cols) * h, w, h, 0, 0, w, h);
  img.src = c.toDataURL('image/png');
  img.removeAttribute('data-sheet-ref');
};
// "Save PNG": the frame on screen (its pictures at their shown size, crisp pixels, captions below,
// the slider positions on top) drawn on a canvas and downloaded. Everything is already in the page.
const savePng = (box) => {
  const frame = box.querySelector('[data-frame]:not([hidden])');
  const imgs = frame ? [...frame.querySelectorAll('img')].filter(i => i.offsetParent !== null && i.naturalWidth) : [];
  if (!imgs.length) return;
  const title = [...box.querySelectorAll('input[data-scrub]')].map(r => r.getAttribute('aria-valuetext')).join(', ');
  const pad = 8, capH = 16, maxW = 1600;
  let x = pad, y = pad + 20, rowH = 0, width = 0;
  const spots = imgs.map(img => {
    const w = Math.round(img.getBoundingClientRect().width), h = Math.round(img.getBoundingClientRect().height);
    if (x + w > maxW && x > pad) { x = pad; y += rowH + capH + pad; rowH = 0; }
    const fig = img.closest('figure'), cap = fig ? (fig.querySelector('figcaption') || {}).textContent || '' : '';
    const spot = {img, x, y, w, h, cap: cap.trim()};
    x += w + pad; rowH = Math.max(rowH, h); width = Math.max(width, x);
    return spot;
  });
  const c = document.createElement('canvas');
  c.width = width; c.height = y + rowH + capH + pad;
  const g = c.getContext('2d');
  g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height);
  g.imageSmoothingEnabled = false;
  g.fillStyle = '#111'; g.font = '14px sans-serif'; g.fillText(title, pad, pad + 12);
  g.font = '11px sans-serif';
  spots.forEach(s => { g.drawImage(s.img, s.x, s.y, s.w, s.h); g.fillText(s.cap.slice(0, 60), s.x, s.y + s.h + 12, s.w + pad); });
  const name = (title || 'view').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') + '.png';
  c.toBlob(blob => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob); a.download = name; document.body.appendChild(a); a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }, 'image/png');
};
element.addEventListener('input', (e) => {
  const r = e.target.closest ? e.target.closest('input[data-scrub]') : null;
  if (r) show(r.closest('[data-scrubber]'));
});
element.addEventListener('click', (e) => {
  const pick = e.target.closest ? e.target.closest('img[data-pick]') : null;
  if (pick) {  // click a grid image to choose a cell: sets slider number data-pick to row * grid + col
    const box = pick.closest('[data-scrubber]'), g = +pick.dataset.grid, rect = pick.getBoundingClientRect();
    const col = Math.min(g - 1, Math.floor((e.clientX - rect.left) / rect.width * g));
    const row = Math.min(g - 1, Math.floor((e.clientY - rect.top) / rect.height * g));
    const r = box.querySelectorAll('input[data-scrub]')[+pick.dataset.pick];
    if (r) { r.value = row * g + col; show(box); }
    return;
  }
  const save = e.target.closest ? e.target.closest('[data-save]') : null;
  if (save) { savePng(save.closest('[data-scrubber]')); return; }
  const b = e.target.closest ? e.target.closest('[data-play]') : null;
  if (!b) return;
  const box = b.closest('[data-scrubber]');
  const r = box.querySelector('input[data-scrub]');
  if (box._timer) { clearInterval(box._timer); box._timer = null; b.textContent = '\u25B6 Play'; return; }
  if (+r.value >= +r.max) r.value = r.min;
  b.textContent = '\u23F8 Pause';
  box._timer = setInterval(() => {
    if (!box.isConnected || +r.value >= +r.max) { clearInterval(box._timer); box._timer = null; b.textContent = '\u25B6 Play'; return; }
    r.value = +r.value + 1; show(box);
  }, 120);
});
"""


def scrub_view(label: str, **kw) -> gr.HTML:
    """An HTML output that shows an `explainers.frames.scrubber` block and switches its frames
    in the browser. Its value is plain HTML, so the same string is what the API returns."""
    return gr.HTML(value="", label=label, js_on_load=SCRUB_JS, **kw)


def step_progress(progress, desc: str, unit: str = "steps", every: float = 0.15):
    """A `progress(i, n)` callback for a sampling loop that updates the page's progress bar at
    most every `every` seconds (and at the end): each update re-renders the tab's status trackers
    in every open browser, and 50 of them per run cost the page more than the run itself."""
    import time

    last = [0.0]

    def report(i: int, n: int) -> None:
        now = time.perf_counter()
        if i >= n or now - last[0] >= every:
            last[0] = now
            progress((i, n), desc=desc, unit=unit)

    return report


INTERNAL_ERROR = "An internal error stopped this request ({}); it has been logged. The app is still running."


def friendly_errors(fn):
    """Input errors (`models.errors.InputError`, and a Hub model that cannot be reached) become a
    gr.Error with their sentence; the server stays up. Any other exception is a bug: it is logged with
    its traceback and the page says "internal error", never "bad input"."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except InputError as e:
            raise gr.Error(str(e), print_exception=False) from None
        except MemoryError:
            log.exception("out of memory in %s", fn.__name__)
            raise gr.Error("That request needs more memory than this server has; try a smaller input.",
                           print_exception=False) from None
        except Exception as e:  # noqa: BLE001
            if is_model_error(e):  # a Hub model offline: its message is written for the learner
                raise gr.Error(str(e), print_exception=False) from None
            log.exception("internal error in %s", fn.__name__)
            raise gr.Error(INTERNAL_ERROR.format(type(e).__name__), print_exception=False) from None

    return wrapped


def explain(md: str, open_: bool = True) -> None:
    with gr.Accordion("What am I looking at?", open=open_):
        gr.Markdown(md, elem_classes="explain")
