"""Links that open a view (ui/links.py): values are checked against the components they fill,
bad ones become a note, and in Chromium a link selects the tab, fills it, runs it and moves
its sliders; the copy button writes a link that restores the same view."""

from __future__ import annotations

import gradio as gr
import pytest

from tests.conftest import open_app
from tests.test_browser import browser, page  # noqa: F401 - shared fixtures (offline check included)
from ui import links


@pytest.mark.parametrize("component, raw, value, why", [
    (gr.Slider(10, 250, step=1), "30", 30, ""),
    (gr.Slider(10, 250, step=1), "7", None, "outside 10 to 250"),
    (gr.Slider(10, 250, step=1), "12.5", None, "not a whole number"),
    (gr.Slider(0, 10, step=0.5), "2.5", 2.5, ""),
    (gr.Slider(0, 10, step=0.5), "nan", None, "finite"),
    (gr.Number(precision=0, minimum=0), "abc", None, "not a number"),
    (gr.Number(precision=0, minimum=0), "-3", None, "out of range"),
    (gr.Checkbox(), "false", False, ""),
    (gr.Checkbox(), "maybe", None, "true or false"),
    (gr.Radio(["ddim", "ddpm"]), "ddpm", "ddpm", ""),
    (gr.Dropdown(choices=[("tiny-gpt (embedded)", "tiny-gpt")]), "gpt2", None, "not one of"),
    (gr.Textbox(max_length=5), "hello", "hello", ""),
    (gr.Textbox(max_length=5), "hello!", None, "longer than 5"),
    (gr.Image(), "x.png", None, "cannot be set from a link"),
])
def test_parse_value(component, raw, value, why):
    v, note = links.parse_value(component, raw)
    assert v == value and (why in note if why else note == "")


def test_read_params_names_every_ignored_key():
    def run(prompt, steps):
        return prompt, steps

    link = links.TabLink("denoising", run, {"prompt": gr.Textbox(), "steps": gr.Slider(10, 250, step=1)}, [],
                         ("step",))
    values, notes = links.read_params({"tab": "denoising", "prompt": "a 7", "steps": "999", "step": "3", "colour": "red",
                                       "__theme": "dark"}, [link], "denoising")
    assert values == {"prompt": "a 7"}
    assert len(notes) == 2 and "steps" in notes[0] and "outside" in notes[0] and "colour" in notes[1]
    values, notes = links.read_params({"prompt": "a 7"}, [link], None)  # no tab: nothing is filled
    assert values == {} and "tab=" in notes[0]


def test_register_refuses_keys_the_run_does_not_take():
    with gr.Blocks() as blocks:
        box = gr.Textbox()
    with pytest.raises(ValueError, match="not parameters"):
        links.register(blocks, links.TabLink("x", lambda text: text, {"prompt": box}, []))


def _slider(pg, view: str, name: str):
    return pg.locator(view).get_by_role("slider", name=name, exact=True).first


@pytest.mark.browser
def test_three_deep_links_restore_their_views(page, app_url):  # noqa: F811
    # 1. denoising: inputs filled, run, and the Step slider of the finished run moved in the browser
    open_app(page, app_url + "?tab=denoising&prompt=a%20handwritten%207&seed=3&steps=30&step=12", timeout_ms=120_000)
    page.get_by_role("tab", name="Denoising", selected=True).wait_for(timeout=60_000)
    step = _slider(page, "#denoise-view", "Step")
    step.wait_for(timeout=120_000)
    assert page.get_by_label("Prompt (a digit, in words or figures)").input_value() == "a handwritten 7"
    page.wait_for_function("() => document.querySelector('#denoise-view input[data-scrub]')?.value === '12'",
                           timeout=30_000)
    assert step.get_attribute("max") == "30" and step.get_attribute("aria-valuetext") == "Step 12"
    # 2. attention: layer and head of the maps; a bad model and an unknown key are a note, not a crash
    open_app(page, app_url + "?tab=attention&text=The%20bank%20of%20the%20river&layer=3&head=5&model=nope&colour=red", timeout_ms=120_000)
    layer = _slider(page, "[data-scrubber]", "Layer")
    layer.wait_for(timeout=120_000)
    page.wait_for_function("() => [...document.querySelectorAll('input[data-scrub]')].some("
                           "r => r.dataset.label === 'Head' && r.value === '5')", timeout=30_000)
    assert layer.get_attribute("aria-valuetext") == "Layer 3"
    note = page.locator("#link-note").inner_text()
    assert "'model' was ignored" in note and "'colour' is not a setting" in note
    assert page.get_by_label("Text", exact=True).input_value() == "The bank of the river"
    # the copy button writes the link of what is on screen now
    page.get_by_role("button", name="Copy link to this view").first.click()
    copied = page.locator("#copy-link-attention-status").inner_text(timeout=10_000)
    assert "tab=attention" in copied and "layer=3" in copied and "head=5" in copied and "model=minilm" in copied
    # 3. side by side: the race, opened at forward pass 4
    open_app(page, app_url + "?tab=compare&text_prompt=ROMEO:&image_prompt=a%20handwritten%203&new_tokens=8&steps=10"
              "&forward_pass=4", timeout_ms=120_000)
    fp = _slider(page, "#race-passes", "Forward pass")
    fp.wait_for(timeout=120_000)
    page.wait_for_function("() => document.querySelector('#race-passes input[data-scrub]')?.value === '4'",
                           timeout=30_000)
    assert fp.get_attribute("aria-valuetext") == "Forward pass 4"


def test_every_link_in_the_readme_is_understood():
    """The README's teaching links name real tabs, keys and values: opening them leaves no note."""
    import re
    from pathlib import Path
    from urllib.parse import parse_qsl

    import app
    from ui.lesson import read_link

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    queries = {q for q in re.findall(r"`\?((?:tab|lesson)=[^`\s]+)`", readme) if "<" not in q and "=N" not in q}
    assert len(queries) >= 20
    for q in queries:
        params = dict(parse_qsl(q))
        tab, _, why = read_link(params)
        values, notes = links.read_params(params, links.links_of(app.demo), tab)
        assert not why and not notes, (q, why, notes)
