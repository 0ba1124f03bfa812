"""Links that open a view: `?tab=denoising&prompt=a%20handwritten%207&seed=3&step=12`.

Opening such a link selects the tab, fills its inputs, runs its main action, and then moves the
sliders of its views (`step`, `layer`, `head` ...) in the browser. The query keys are the tab's
API parameter names (the same names `gradio_client` users pass); a slider of a view is named by
its label in lower case with `_` for spaces (`Forward pass` -> `forward_pass`). Values that do
not fit (out of range, not a choice, not a number, an unknown key) are ignored, and a note at
the top of the page says which and why: a link never breaks the page.

Every linkable tab also gets a "Copy link to this view" button that writes such a link from its
current inputs and slider positions (in the browser, no server call).

Each tab's `build()` calls `register(blocks, TabLink(...))`; `app.py` calls `wire(...)` once.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import gradio as gr

from ui.common import MODEL_EVENTS, static_js

RESERVED = {"view", "ui", "deep_link", "__theme"}  # gradio's own query keys: never ours
PAGE_KEYS = {"tab", "lesson"}


@dataclass
class TabLink:
    tab: str  # the tab's id (?tab=<id>)
    run: Callable  # its main action: the same function its button calls
    inputs: dict[str, gr.components.Component]  # query key (= the run's parameter name) -> component
    outputs: list[gr.components.Component]
    sliders: tuple[str, ...] = ()  # names of its views' sliders that a link may set, e.g. ("step",)
    extra: dict = field(default_factory=dict)  # fixed keyword arguments of run not taken from the link


_registry: dict[int, list[TabLink]] = {}


def register(blocks: gr.Blocks, link: TabLink) -> None:
    missing = [k for k in link.inputs if k not in inspect.signature(link.run).parameters]
    if missing:
        raise ValueError(f"{link.tab}: link keys {missing} are not parameters of {link.run.__name__}")
    _registry.setdefault(id(blocks), []).append(link)


def links_of(blocks: gr.Blocks) -> list[TabLink]:
    return _registry.get(id(blocks), [])


# ---- reading a value from a link ---------------------------------------------------------------

def parse_value(component: gr.components.Component, raw: str) -> tuple[object, str]:
    """(value, "") when `raw` fits the component, else (None, why it was ignored)."""
    raw = str(raw)
    if isinstance(component, (gr.Slider, gr.Number)):
        try:
            v = float(raw)
        except ValueError:
            return None, f"not a number: {raw[:20]!r}"
        if not math.isfinite(v):
            return None, f"not a finite number: {raw[:20]!r}"
        lo, hi = component.minimum, component.maximum
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            return None, f"{raw[:20]} is outside {lo:g} to {hi:g}" if lo is not None and hi is not None \
                else f"{raw[:20]} is out of range"
        whole = (isinstance(component, gr.Number) and component.precision == 0) or (
            isinstance(component, gr.Slider) and float(component.step).is_integer() and float(lo or 0).is_integer())
        if whole:
            if not v.is_integer():
                return None, f"{raw[:20]} is not a whole number"
            return int(v), ""
        return v, ""
    if isinstance(component, gr.Checkbox):
        low = raw.lower()
        if low in ("1", "true", "yes", "on"):
            return True, ""
        if low in ("0", "false", "no", "off"):
            return False, ""
        return None, f"{raw[:20]!r} is not true or false"
    if isinstance(component, (gr.Dropdown, gr.Radio)):
        for label, value in component.choices:
            if raw in (str(value), str(label)):
                return value, ""
        return None, f"{raw[:30]!r} is not one of: {', '.join(str(v) for _, v in component.choices)}"
    if isinstance(component, gr.Textbox):
        limit = component.max_length
        if limit and len(raw) > limit:
            return None, f"longer than {limit} characters"
        return raw, ""
    return None, "cannot be set from a link"


def read_params(params: dict, links: list[TabLink], tab: str | None) -> tuple[dict[str, object], list[str]]:
    """The linked tab's input values from a query, and notes about every key that was ignored."""
    notes: list[str] = []
    link = next((lk for lk in links if lk.tab == tab), None)
    values: dict[str, object] = {}
    for key, raw in params.items():
        if key in RESERVED or key in PAGE_KEYS:
            continue
        if link is None:
            notes.append(f"'{key}' was ignored: add tab=<id> for a tab that can be opened with its inputs "
                         f"({', '.join(lk.tab for lk in links)}).")
            continue
        if key in link.inputs:
            v, why = parse_value(link.inputs[key], raw)
            if why:
                notes.append(f"'{key}' was ignored ({why}).")
            else:
                values[key] = v
        elif key not in link.sliders:
            known = list(link.inputs) + list(link.sliders)
            notes.append(f"'{key}' is not a setting of the {tab} tab; it has: {', '.join(known)}.")
    return values, notes


# ---- wiring --------------------------------------------------------------------------------------

# After the linked run: move every visible slider named in the URL (value clamped to its range;
# for a slider over listed values such as t = 0, 10, ..., the nearest one).
SLIDERS_FROM_URL_JS = static_js("sliders_from_url.js")
COPY_LINK_JS = static_js("copy_link.js")  # 'Copy link to this view' (copy_button)


def wire(blocks: gr.Blocks, on_load_page: Callable, page_outputs: list, note: gr.Markdown) -> gr.events.Dependency:
    """One load event: the page part (tab, lesson step: `on_load_page(params) -> (updates, notes)`),
    the linked tab's inputs, then its run, then its sliders (in the browser)."""
    links = links_of(blocks)
    linked = gr.Textbox(visible=False, elem_id="linked-tab")  # the tab whose run the link asked for
    all_inputs = [c for lk in links for c in lk.inputs.values()]
    all_outputs = [c for lk in links for c in lk.outputs]

    def on_load(request: gr.Request):
        try:
            params = dict(request.query_params) if request is not None else {}
        except Exception:  # noqa: BLE001 - a link must never break the page
            params = {}
        page_updates, tab, notes = on_load_page(params)
        values, more = read_params(params, links, tab)
        notes = notes + more
        msg = ("Part of this link was ignored: " + " ".join(notes)) if notes else ""
        fills = [values.get(k, gr.skip()) if lk.tab == tab and values else gr.skip()
                 for lk in links for k in lk.inputs]
        run_tab = tab if any(lk.tab == tab for lk in links) and (values or _asks_for_sliders(params, links, tab)) else ""
        return (*page_updates, gr.Markdown(msg, visible=bool(msg)), run_tab, *fills)

    def run_linked(tab: str, *values, progress=gr.Progress()):
        out: list = []
        for lk in links:
            n_in = len(lk.inputs)
            mine, values = values[:n_in], values[n_in:]
            if lk.tab != tab:
                out += [gr.skip()] * len(lk.outputs)
                continue
            kwargs = dict(zip(lk.inputs, mine), **lk.extra)
            if "progress" in inspect.signature(lk.run).parameters:
                kwargs["progress"] = progress
            result = lk.run(**kwargs)
            if inspect.isgenerator(result):
                *_, result = result  # the last thing it yields is the finished view
            out += list(result) if isinstance(result, (tuple, list)) else [result]
        return tuple(out) if out else None

    dep = blocks.load(on_load, None, [*page_outputs, note, linked, *all_inputs], api_name="open_link")
    dep.then(run_linked, [linked, *all_inputs], all_outputs, api_name="open_link_run",
             **MODEL_EVENTS, show_progress="minimal").then(
        None, None, None, js=SLIDERS_FROM_URL_JS)
    return dep


def _asks_for_sliders(params: dict, links: list[TabLink], tab: str | None) -> bool:
    link = next((lk for lk in links if lk.tab == tab), None)
    return link is not None and any(k in link.sliders for k in params)


def copy_button(tab: str, inputs: dict[str, gr.components.Component]) -> gr.Button:
    """'Copy link to this view': the tab's current inputs and the positions of its visible sliders,
    written as a link (in the browser; shown in full where the clipboard is not allowed)."""
    btn = gr.Button("Copy link to this view", size="sm", elem_id=f"copy-link-{tab}", elem_classes="copy-link")
    gr.HTML(f"<span id='copy-link-{tab}-status' class='caption' aria-live='polite'></span>")
    # ui/static/copy_link.js is a function of (keys, tab, vals); this button calls it with its own.
    js = f"(...vals) => ({COPY_LINK_JS})({json.dumps(list(inputs))}, {json.dumps(tab)}, vals)"
    btn.click(None, list(inputs.values()), None, js=js)
    return btn
