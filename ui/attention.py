"""The Attention tab: tokens as the model sees them, every layer x head attention map in one
view switched in the browser, bertviz's interactive views (offline), and one word's meaning
shifting with its context. Wiring only: the views come from explainers.attention_views."""

from __future__ import annotations

import json

import gradio as gr

from explainers import attention, attention_views, bertviz_views, positions_views
from explainers.text_input import clean_text
from store import STORE
from ui import links
from ui.common import MODEL_EVENTS, SCRUB_JS, explain, friendly_errors, model_choices, static_js

EXAMPLES = [
    ["The animal didn't cross the street because it was too tired.", "minilm"],
    ["I sat on the bank of the river.", "minilm"],
    ["I deposited money at the bank.", "minilm"],
    ["To be, or not to be, that is the question.", "tiny-gpt"],
]

EXPLANATION = """
**Tokens.** A model never sees letters or words, only *tokens*: pieces from a fixed vocabulary,
each with an id. Common words are one token; rare words are split into sub-word pieces
(`##` marks a continuation in BERT's vocabulary, `▁` marks a leading space in GPT's). An encoder
also adds special tokens such as `[CLS]` and `[SEP]`.

**Attention.** In every layer, each head lets every token gather information from other
tokens. Row *i* of a map is token *i* asking "whom should I listen to?": the colours in
the row are the weights it gives to each token, and they add up to 1. Different heads learn
different habits: some look at the previous word, some at the sentence end, some at
related words. An *encoder* (minilm, BERT) looks both ways; a *decoder* (tiny-gpt, GPT-2)
may only look back, so everything above the diagonal is zero: that is the causal mask.

**Reading the maps.** Layers are numbered 1 to 6 and heads 1 to 12; head 0 is the average of
a layer's heads, shown with all its heads as small maps (press "enlarge" under one). Special
tokens soak up much of the attention, so they are hidden unless you untick the box. Try the
first example: which heads link *it* to *animal*?

**Why long inputs are expensive.** Each of the T tokens scores all T tokens, in every head of
every layer: T x T numbers. Double the text and the map has four times as many cells.
That quadratic cost is why context windows are limited.
"""

STREAM = "We walked along the bank of the stream."


@friendly_errors
def run_attention(text: str, model: str, hide_special: bool = True):
    """Token chips and ONE view holding every layer x head map (switched in the browser)."""
    v = attention_views.attention_views(text, model, bool(hide_special))
    return v.tokens, v.scrubber, [text, model]


def prefill_examples() -> None:
    """Every listed example's first answer (at the page's default: special tokens hidden), computed and
    rendered into the store once the models are warm: a class pressing a listed example gets it stored."""
    for text, model in EXAMPLES:
        attention_views.attention_views(text, model, True)


@friendly_errors
def rerender(last_run, hide_special: bool):
    """The special-tokens box redraws the last run (never the edited, unrun text)."""
    if not last_run:
        return gr.update(), gr.update()
    v = attention_views.attention_views(*last_run, bool(hide_special))
    return v.tokens, v.scrubber


@friendly_errors
def heatmap(text: str, model: str, layer: int, head: int, hide_special: bool = True) -> str:
    """One map: layer 1..L, head 1..H or 0 for the average of the layer's heads (HTML)."""
    r = attention.attend(text, model)  # cached: a view never reruns the model
    return attention_views.heatmap_html(r, int(layer), int(head), bool(hide_special))


@friendly_errors
def heads_grid(text: str, model: str, layer: int, hide_special: bool = True) -> str:
    """All heads of one layer (1..L) as small labelled maps (HTML)."""
    return attention_views.heads_grid_html(attention.attend(text, model), int(layer), bool(hide_special))


@friendly_errors
def bertviz_view(text: str, model: str, view: str = "head") -> str:
    """bertviz's head or model view, offline, as an <iframe srcdoc> (HTML)."""
    return bertviz_views.bertviz_html(attention.attend(text, model), view)


@friendly_errors
def bertviz_last_run(last_run, view: str):
    if not last_run:
        raise gr.Error("Press 'Show attention' first.", print_exception=False)
    return bertviz_view(*last_run, view)


def bertviz_when_opened(last_run, view: str):
    """The bertviz tab was opened: draw the last run (a hint if there is none yet)."""
    if not last_run:
        return "<p class='caption'>Press 'Show attention' first: the interactive view shows that run.</p>"
    return bertviz_last_run(last_run, view)


# After a run: if the bertviz tab is the one on screen, redraw it for the new sentence.
REDRAW_BERTVIZ_IF_OPEN_JS = static_js("bertviz_redraw.js")
STALE_JS = static_js("stale_views.js")
RUN_VIEWS = ("attention-tokens", "attention-maps")  # the views that belong to the last run's text
MARK_STALE_JS = f"() => ({STALE_JS})({json.dumps(RUN_VIEWS)}, true)"
MARK_FRESH_JS = f"() => ({STALE_JS})({json.dumps(RUN_VIEWS)}, false)"


@friendly_errors
def similarity(sentence_a: str, sentence_b: str, word: str, model: str, sentence_c: str = ""):
    s = attention.contextual_similarity(sentence_a, sentence_b, word, model)
    c = attention.contextual_similarity(sentence_a, sentence_c, word, model) if (sentence_c or "").strip() else None
    summary = (f"'{s.word}' is split into {s.tokens_a} in A and {s.tokens_b} in B. "
               f"A vs B: {s.similarities[0]:.3f} at the embeddings, {s.similarities[-1]:.3f} after the last layer.")
    if c is not None:
        closer = "stays closer" if c.similarities[-1] > s.similarities[-1] else "does not stay closer"
        summary += (f" The control A vs C (same meaning): {c.similarities[-1]:.3f} after the last layer, so the "
                    f"same meaning {closer} than the different one.")
    return positions_views.similarity_html(s, c, sentence_a, sentence_b, sentence_c if c is not None else ""), summary


def refresh_models():
    choices = model_choices("encoder", "decoder", check_network=True)
    return gr.update(choices=choices), gr.update(choices=choices)


@friendly_errors
def check_text(text: str) -> None:
    clean_text(text, "text")


def build(demo: gr.Blocks) -> None:
    STORE.after_warm(prefill_examples)
    explain(EXPLANATION)
    choices = model_choices("encoder", "decoder")
    with gr.Row():
        text = gr.Textbox(label="Text", value=EXAMPLES[0][0], lines=2, max_length=10_000, scale=4)
        model = gr.Dropdown(choices=choices, value="minilm", label="Model", scale=2)
    with gr.Row():
        run = gr.Button("Show attention", variant="primary", scale=3)
        hide = gr.Checkbox(value=True, label="Hide special tokens ([CLS], [SEP], ...) in the maps", scale=2)
    gr.Examples(EXAMPLES, inputs=[text, model], label="Examples (click one, then 'Show attention')")
    link_inputs = {"text": text, "model": model, "hide_special": hide}
    links.copy_button("attention", link_inputs)
    # (text, model) of the last run: every view below follows it. A hidden component, not gr.State:
    # a State makes the page hold a heartbeat connection open for its whole life.
    last_run = gr.JSON(value=None, visible=False)
    tokens = gr.HTML(label="Tokens", elem_id="attention-tokens")
    with gr.Tabs():
        with gr.Tab("Maps: every layer and head"):
            maps = gr.HTML(value="<p class='caption'>Press 'Show attention'.</p>", label="Attention maps",
                           elem_id="attention-maps", js_on_load=SCRUB_JS + attention_views.GOTO_JS,
                           css_template=attention_views.CSS)
        with gr.Tab("Interactive (bertviz)") as viz_tab:
            view = gr.Radio(["head", "model"], value="head", label="bertviz view")
            show_viz = gr.Button("Draw interactive view", elem_id="bertviz-draw")
            viz = gr.HTML(elem_id="bertviz-view")
        with gr.Tab("Same word, different meaning"):
            gr.Markdown("The same word gets one vector at the bottom of the model; each layer mixes in its "
                        "neighbours. Compare 'bank' by a river with 'bank' for money (A vs B), and with 'bank' "
                        "by a stream (A vs C, the same meaning: a control).")
            with gr.Row():
                sent_a = gr.Textbox(value="I sat on the bank of the river.", label="Sentence A")
                sent_b = gr.Textbox(value="I deposited money at the bank.", label="Sentence B (other meaning)")
                sent_c = gr.Textbox(value=STREAM, label="Sentence C (same meaning as A: control, may be empty)")
                word = gr.Textbox(value="bank", label="Word (in every sentence)", max_length=50)
            sim_model = gr.Dropdown(choices=choices, value="minilm", label="Model")
            sim_btn = gr.Button("Compare the word across layers")
            sim_view = gr.HTML(label="Cosine similarity per layer", css_template=attention_views.CSS)
            sim_text = gr.Markdown()
            gr.Examples([["I sat on the bank of the river.", "I deposited money at the bank.", STREAM, "bank"],
                         ["She will book a table.", "She read a good book.", "Please book a room.", "book"]],
                        inputs=[sent_a, sent_b, sent_c, word])

    # Model runs (MODEL_EVENTS: their CPU work takes a compute slot). show_progress="hidden": an error shows its
    # message once (a toast) and every view keeps the last good result instead of an error badge.
    ev = dict(**MODEL_EVENTS, show_progress="hidden")
    outs = [tokens, maps, last_run]
    # A quick check first (no outputs): bad text shows its message once and the last good views stay
    # (an error raised by the run itself would put an error badge over every output).
    # bertviz (a ~300 KB iframe of d3 + jQuery) is drawn only where it is seen: when its tab opens,
    # or right after a run if that tab is open. Drawn after every run into a hidden tab, each new
    # iframe made the next click slower (0.26 s, then 0.45, 0.70, 0.93, 1.26 s in Chromium).
    run.click(check_text, text, None, api_name="attention_check", show_progress="hidden").success(
        run_attention, [text, model, hide], outs, api_name="attention", **ev).success(
        None, None, None, js=REDRAW_BERTVIZ_IF_OPEN_JS).success(None, None, None, js=MARK_FRESH_JS)
    text.submit(check_text, text, None, api_name="attention_submit_check", show_progress="hidden").success(
        run_attention, [text, model, hide], outs, api_name="attention_submit", **ev).success(
        None, None, None, js=REDRAW_BERTVIZ_IF_OPEN_JS).success(None, None, None, js=MARK_FRESH_JS)
    text.change(None, None, None, js=MARK_STALE_JS)  # edited (typed, an example, a link): the views show an older text
    tokens.change(None, None, None, js=MARK_FRESH_JS)  # a run drew new views (a button, Enter, or a link's own run)
    viz_tab.select(bertviz_when_opened, [last_run, view], viz, api_name="bertviz_on_open", **ev)
    hide.change(rerender, [last_run, hide], [tokens, maps], api_name="attention_hide_special", **ev)
    show_viz.click(bertviz_last_run, [last_run, view], viz, api_name="bertviz_last_run", **ev)
    sim_btn.click(similarity, [sent_a, sent_b, word, sim_model, sent_c], [sim_view, sim_text], api_name="similarity",
                  **ev)
    # One endpoint per view for gradio_client users: the page itself never calls them.
    lookup = dict(concurrency_id="lookup", concurrency_limit=4)
    gr.api(heatmap, api_name="heatmap", **lookup)
    gr.api(heads_grid, api_name="heads_grid", **lookup)
    gr.api(bertviz_view, api_name="bertviz", **lookup)
    demo.load(refresh_models, None, [model, sim_model], api_name="attention_models")
    links.register(demo, links.TabLink("attention", run_attention, link_inputs, outs, ("layer", "head")))
