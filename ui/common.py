"""What every tab shares: the offline theme, the page's JS and CSS (real files in ui/static/), and
turning bad input into clear messages."""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path

import gradio as gr

from explainers.catalog import is_model_error, libraries_ready, model_choices  # noqa: F401 - model_choices: for the tabs
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

# The page's JS and CSS are real files in ui/static/ (linted in CI by tests/test_static_files.py).
STATIC = Path(__file__).with_name("static")

# The page's own styles, served with launch(css_paths=[CSS_PATH]) (app.launch_kwargs).
CSS_PATH = STATIC / "page.css"


def static_js(name: str) -> str:
    """The text of ui/static/<name>: a component's js_on_load or an event's js, which Gradio takes as
    a string. Read once, at import."""
    return (STATIC / name).read_text(encoding="utf-8")


# Frame switching for explainers.frames.scrubber, in the browser (the js_on_load of a scrubber view).
SCRUB_JS = static_js("scrubber.js")


def scrub_view(label: str, **kw) -> gr.HTML:
    """An HTML output that shows an `explainers.frames.scrubber` block and switches its frames
    in the browser. Its value is plain HTML, so the same string is what the API returns."""
    return gr.HTML(value="", label=label, js_on_load=SCRUB_JS, **kw)


def step_progress(progress, desc: str, unit: str = "steps", every: float = 0.15):
    """A `progress(i, n)` callback for a sampling loop that updates the page's progress bar at
    most every `every` seconds (and at the end): each update re-renders the tab's status trackers
    in every open browser, and 50 of them per run cost the page more than the run itself."""
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
    its traceback and the page says "internal error", never "bad input". A request waits until the
    libraries' classes are imported (models/libraries.py), so it never imports them beside the warm-up."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            libraries_ready()
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


