"""The Translate tab: the original Transformer's encoder-decoder, translating dates written by people
into ISO 8601. One run ships every decoding step x layer x head of all three kinds of attention;
the sliders switch between them in the browser. Below: how good it is (measured), what goes wrong,
and cross-attention two ways (beside the Text to image model's word maps)."""

from __future__ import annotations

import gradio as gr

from explainers import text_to_image as t2i
from explainers import translation, translation_views
from store import STORE
from ui import links
from ui.common import MODEL_EVENTS, explain, friendly_errors, scrub_view

EXPLANATION = """
**The shape of the original Transformer** ("Attention Is All You Need", 2017) was built for
translation: an **encoder** reads the whole source at once, a **decoder** writes the output one
token at a time, and **cross-attention** joins them.

Here a small one (trained on this computer in minutes: 2 encoder and 2 decoder layers, 4 heads)
translates dates as people write them into the ISO form `YYYY-MM-DD`. Its tokens are single
characters, so you can read its attention letter by letter: to write the month digits it has to
find the month (a name, or the right pair of digits), and it must skip the weekday.

The three kinds of attention of the original design are all on screen:
1. **Encoder self-attention**: every source character looks at every other one (no mask).
2. **Decoder self-attention**: each output position looks only at what is already written (causal).
3. **Cross-attention**: each output position looks at the encoded source; its row is the
   *alignment* of that output character with the input.

Type a date, press **Translate**, then move the **Step** slider: the alignment matrix fills in row
by row as the characters are written. Everything the sliders show is already in the page.
"""

TWO_WAYS = """
**The same operation, two jobs.** Cross-attention is how one sequence reads another. In the
translator, the decoder's output tokens query the encoder's source tokens. In the Text to image
model (its own tab), the denoiser's image patches query the prompt's word vectors. Same formula,
softmax(Q K^T / sqrt(d)) V, with the queries from one side and the keys and values from the other.
"""

FAILURE_INTRO = """
**What goes wrong.** A translator trained on eight formats knows nothing else and has no calendar:
try the examples below. It still answers every time; the summary says how sure it was.
"""


def rendered(text: str, names: tuple[str, ...]) -> list[str]:
    r = translation.translate(text)
    renders = {"summary": lambda: translation_views.summary(r), "steps": lambda: translation_views.steps_view(r)}
    return [STORE.view("translate", name, r.text, renders[name]) for name in names]


@friendly_errors
def run(text: str):
    """Translate a date; the summary (output, real date or not, confidence) and the step view."""
    return tuple(rendered(text, ("summary", "steps")))


@friendly_errors
def run_data(text: str) -> dict:
    """The translation as data: output, tokens, spans, confidence and every attention (lists)."""
    return translation.translate(text).as_dict()


@friendly_errors
def two_ways(text: str, prompt: str, seed: int = 0):
    """The translator's alignment for `text` beside tiny-t2i's word maps for `prompt`."""
    r = translation.translate(text)
    im = t2i.generate(prompt, t2i.DEFAULT_STEPS, t2i.DEFAULT_GUIDANCE, int(seed or 0))
    return STORE.view("translate", "two_ways", (r.text, prompt, seed), lambda: translation_views.two_ways(r, im))


def build(demo: gr.Blocks) -> None:
    explain(EXPLANATION)
    css = translation_views.CSS
    with gr.Row():
        text = gr.Textbox(label="A date, as people write it", value=translation.EXAMPLES[3], scale=3,
                          max_length=translation.MAX_SOURCE_CHARS * 2, elem_id="translate-text")
        go = gr.Button("Translate", variant="primary", scale=1)
    gr.Examples([[e] for e in translation.EXAMPLES], inputs=text, label="Examples (years ending in 7 were never "
                "trained on)")
    link_inputs = {"text": text}
    links.copy_button("translate", link_inputs)
    summary = gr.Markdown(elem_id="translate-summary")
    steps = scrub_view("Decoding, step by step: all three kinds of attention", elem_id="translate-steps",
                       css_template=css)
    with gr.Accordion("What goes wrong (and how good it is, measured)", open=False):
        gr.Markdown(FAILURE_INTRO, elem_classes="explain")
        gr.Examples([[v] for v in translation.FAILURES.values()], inputs=text,
                    example_labels=list(translation.FAILURES), label="Outside what it learned")
        gr.Markdown(translation_views.failure_table())
        gr.Markdown(translation_views.card_table())
    with gr.Accordion("Cross-attention two ways: a translator and a text-to-image model", open=False):
        gr.Markdown(TWO_WAYS, elem_classes="explain")
        with gr.Row():
            prompt = gr.Textbox(label="Prompt for the Text to image model", value="a red 7 on a blue background",
                                scale=3, max_length=300)
            seed = gr.Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
            compare = gr.Button("Show both")
        both = gr.HTML(elem_id="translate-two-ways", css_template=css)
    ev = dict(MODEL_EVENTS)
    outs = [summary, steps]
    go.click(run, text, outs, api_name="translate", **ev)
    text.submit(run, text, outs, api_name=False, **ev)
    compare.click(two_ways, [text, prompt, seed], both, api_name="translate_two_ways", **ev)
    gr.api(run_data, api_name="translate_data")
    links.register(demo, links.TabLink("translate", run, link_inputs, outs, ("step", "layer", "head")))
