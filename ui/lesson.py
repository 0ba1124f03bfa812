"""The Lesson tab: the article's ideas in order, each with a live view and a predict-then-reveal
question; plus the page's links (`?lesson=N`, `?tab=<id>`). Wiring only: the steps are data in
explainers/lesson.py, their views are rendered (once per step) in explainers/lesson_views.py."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from explainers.lesson import STEPS, parse_step, step
from explainers.lesson_handout import handout_file
from explainers.lesson_views import render, reveal_text
from ui.common import SCRUB_JS, friendly_errors, static_js

TAB_IDS = ("attention", "next_token", "translate", "noising", "denoising", "text_to_image", "vision", "compare", "other_family", "failures", "lesson")
CHOICES = [(f"{i}. {s.title}", i) for i, s in enumerate(STEPS, start=1)]

EXPLAIN = f"""
A guided walk through the article's ideas in {len(STEPS)} steps, from tokens to the ways each family fails.
Each step says what to look at, asks you to **predict** what the model will show, and only then reveals the
live view and explains why. Teachers: every step has its own link (`?lesson=4`) and a printable handout.
"""

# Writes ?lesson=N into the address bar (no server call) so the page can be shared or reloaded.
URL_JS = static_js("lesson_link.js")
COPY_JS = static_js("lesson_copy_link.js")  # the same, then copies the link


@dataclass
class LessonUI:
    picker: gr.Dropdown
    outputs: list


def _header(n: int) -> str:
    s = step(n)
    return (f"### Step {n} of {len(STEPS)}: {s.title}\n\n{s.text}\n\n**Predict first:** {s.question}\n\n"
            f"<span class='caption'>Keep exploring in the tab: [`?tab={s.tab}`](?tab={s.tab})</span>")


@friendly_errors
def show_step(n):
    """Open step n: its text and question; the view is rendered (cached) but stays hidden until the reveal."""
    s = step(n)
    n = int(n)
    v = render(n)
    return (_header(n), gr.Radio(choices=list(s.choices), value=None, label="Your prediction"),
            v.html, gr.Column(visible=False), "", handout_file(n), n,
            gr.Button(interactive=n > 1), gr.Button(interactive=n < len(STEPS)))


@friendly_errors
def lesson_step(step_number: int) -> tuple[str, list[str], str]:
    """API: step n's text (markdown), its answer choices and its live view (HTML)."""
    s = step(step_number)
    return _header(int(step_number)), list(s.choices), render(int(step_number)).html


@friendly_errors
def lesson_reveal(step_number: int, answer: str | None) -> str:
    """API: whether `answer` is right, the right answer, why, and what the view measured (markdown)."""
    return reveal_text(step_number, answer)


@friendly_errors
def lesson_handout(step_number: int) -> str:
    """API: step n as a printable one-page HTML handout (a file)."""
    step(step_number)
    return handout_file(int(step_number))


def _reveal(n, answer):
    return reveal_text(n, answer), gr.Column(visible=True)


def build(blocks: gr.Blocks) -> LessonUI:
    gr.Markdown(EXPLAIN, elem_classes="explain")
    with gr.Row():
        prev_btn = gr.Button("◀ Previous", interactive=False, scale=0, min_width=120)
        picker = gr.Dropdown(CHOICES, value=1, label="Step", scale=3, elem_id="lesson-picker")
        next_btn = gr.Button("Next ▶", variant="primary", scale=0, min_width=120)
    header = gr.Markdown(_header(1), elem_id="lesson-header")
    answer = gr.Radio(choices=list(STEPS[0].choices), value=None, label="Your prediction", elem_id="lesson-answer")
    reveal_btn = gr.Button("Reveal", variant="primary", elem_id="lesson-reveal")
    with gr.Column(visible=False) as revealed:
        reveal_md = gr.Markdown(elem_id="lesson-reveal-text")
        view = gr.HTML(value="", label="Live view", js_on_load=SCRUB_JS, elem_id="lesson-view")
    with gr.Row():
        copy_btn = gr.Button("Copy link to this step", scale=0, min_width=200, elem_id="lesson-copy")
        handout = gr.DownloadButton("Download a printable handout (HTML)", value=None, scale=0, min_width=260)
    gr.Markdown("", elem_id="lesson-copied")
    current = gr.Number(value=1, visible=False, precision=0)
    outputs = [header, answer, view, revealed, reveal_md, handout, current, prev_btn, next_btn]

    def go(n):
        return (n,) + show_step(n)

    picker.input(show_step, picker, outputs, api_name="lesson_open").then(None, picker, None, js=URL_JS)
    next_btn.click(lambda n: go(min(int(n) + 1, len(STEPS))), current, [picker] + outputs,
                   api_name="lesson_next").then(None, current, None, js=URL_JS)
    prev_btn.click(lambda n: go(max(int(n) - 1, 1)), current, [picker] + outputs,
                   api_name="lesson_prev").then(None, current, None, js=URL_JS)
    reveal_btn.click(friendly_errors(_reveal), [current, answer], [reveal_md, revealed], api_name="lesson_reveal_view")
    copy_btn.click(None, current, None, js=COPY_JS)
    gr.api(lesson_step, api_name="lesson_step")
    gr.api(lesson_reveal, api_name="lesson_reveal")
    gr.api(lesson_handout, api_name="lesson_handout")
    return LessonUI(picker, [picker] + outputs)


def read_link(params: dict) -> tuple[str | None, int | None, str]:
    """(tab id to select or None, lesson step or None, note about ignored values) from a page's query."""
    notes, tab, n = [], None, None
    raw_tab = params.get("tab")
    if raw_tab is not None:
        if raw_tab in TAB_IDS:
            tab = raw_tab
        else:
            notes.append(f"'tab={str(raw_tab)[:30]}' is not a tab; the tabs are: {', '.join(TAB_IDS)}.")
    if params.get("lesson") is not None:
        n, why = parse_step(params["lesson"])
        if why:
            notes.append(why)
        elif tab is None:
            tab = "lesson"
    return tab, n, " ".join(notes)


def wire_links(blocks: gr.Blocks, tabs: gr.Tabs, lesson_ui: LessonUI, note: gr.Markdown) -> None:
    """On page load: `?tab=<id>` selects a tab, `?lesson=N` opens the lesson at step N, and a tab's
    own keys (`ui.links`) fill its inputs, run it and move its sliders. Bad values are ignored
    with a note at the top of the page."""
    from ui import links

    def page(params: dict):
        tab, n, why = read_link(params)
        updates = (gr.Tabs(selected=tab) if tab else gr.Tabs(), n or 1)
        return updates, tab, [why] if why else []

    # the tab is selected at once; the lesson step (a model run the first time) follows
    dep = links.wire(blocks, page, [tabs, lesson_ui.picker], note)
    dep.then(show_step, lesson_ui.picker, lesson_ui.outputs[1:], api_name="lesson_link_step")
