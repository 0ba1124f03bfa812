"""The Attention tab: tokens as the model sees them, attention heatmaps per layer and head,
bertviz's interactive views (offline), and one word's meaning shifting with its context."""

from __future__ import annotations

import gradio as gr

from explainers import attention, attention_views
from ui.common import explain, friendly_errors, model_choices

EXAMPLES = [
    ["I sat on the bank of the river.", "minilm"],
    ["I deposited money at the bank.", "minilm"],
    ["The animal didn't cross the street because it was too tired.", "minilm"],
    ["To be, or not to be, that is the question.", "tiny-gpt"],
]

EXPLANATION = """
**Tokens.** A model never sees letters or words, only *tokens*: pieces from a fixed vocabulary,
each with an id. Common words are one token; rare words are split into sub-word pieces
(`##` marks a continuation in BERT's vocabulary, `▁` marks a leading space in GPT's). An encoder
also adds special tokens such as `[CLS]` and `[SEP]`.

**Attention.** In every layer, each head lets every token gather information from other
tokens. Row *i* of a heatmap is token *i* asking "whom should I listen to?": the colours in
the row are the weights it gives to each token, and they add up to 1. Different heads learn
different habits: some look at the previous token, some at the sentence end, some at
related words. An *encoder* (minilm, BERT) looks both ways; a *decoder* (tiny-gpt, GPT-2)
may only look back, so everything above the diagonal is zero: that is the causal mask.

**Why long inputs are expensive.** Each of the T tokens scores all T tokens, in every head of
every layer: T x T numbers. Double the text and the heatmap has four times as many cells.
That quadratic cost is why context windows are limited.
"""


@friendly_errors
def run_attention(text: str, model: str):
    r = attention.attend(text, model)
    layer = r.layers - 1
    return (attention_views.token_chips_html(r),
            attention_views.attention_heatmap(r, layer, None),
            attention_views.all_heads_grid(r, layer),
            gr.update(maximum=r.layers - 1, value=layer),
            gr.update(maximum=r.heads - 1, value=0))


@friendly_errors
def heatmap(text: str, model: str, layer: int, head: int, average: bool):
    r = attention.attend(text, model)  # cached: moving a slider never reruns the model
    return attention_views.attention_heatmap(r, int(layer), None if average else int(head))


@friendly_errors
def heads_grid(text: str, model: str, layer: int):
    return attention_views.all_heads_grid(attention.attend(text, model), int(layer))


@friendly_errors
def bertviz_view(text: str, model: str, view: str):
    return attention_views.bertviz_html(attention.attend(text, model), view)


@friendly_errors
def similarity(sentence_a: str, sentence_b: str, word: str, model: str):
    s = attention.contextual_similarity(sentence_a, sentence_b, word, model)
    summary = (f"'{s.word}' is split into {s.tokens_a} in A and {s.tokens_b} in B. "
               f"Similarity at the embedding layer: {s.similarities[0]:.3f}; "
               f"after the last layer: {s.similarities[-1]:.3f}.")
    return attention_views.similarity_plot(s, sentence_a, sentence_b), summary


def refresh_models():
    choices = model_choices("encoder", "decoder", check_network=True)
    return gr.update(choices=choices), gr.update(choices=choices)


def build(demo: gr.Blocks) -> None:
    explain(EXPLANATION)
    choices = model_choices("encoder", "decoder")
    with gr.Row():
        text = gr.Textbox(label="Text", value=EXAMPLES[0][0], lines=2, max_length=10_000, scale=4)
        model = gr.Dropdown(choices=choices, value="minilm", label="Model", scale=2)
    run = gr.Button("Show attention", variant="primary")
    gr.Examples(EXAMPLES, inputs=[text, model], label="Examples (click one, then 'Show attention')")
    tokens = gr.HTML(label="Tokens")
    with gr.Tabs():
        with gr.Tab("Heatmap"):
            with gr.Row():
                layer = gr.Slider(0, 5, value=5, step=1, label="Layer")
                head = gr.Slider(0, 11, value=0, step=1, label="Head")
                average = gr.Checkbox(value=True, label="Average over heads")
            heat = gr.Plot(label="Attention heatmap", elem_id="attention-heatmap")
        with gr.Tab("All heads of a layer"):
            grid = gr.Plot(label="All heads")
        with gr.Tab("Interactive (bertviz)"):
            view = gr.Radio(["head", "model"], value="head", label="bertviz view")
            show_viz = gr.Button("Draw interactive view")
            viz = gr.HTML(elem_id="bertviz-view")
        with gr.Tab("Same word, different meaning"):
            gr.Markdown("The same word gets one vector at the bottom of the model; each layer mixes in its "
                        "neighbours. Watch the two 'bank' vectors drift apart as context is added.")
            with gr.Row():
                sent_a = gr.Textbox(value="I sat on the bank of the river.", label="Sentence A")
                sent_b = gr.Textbox(value="I deposited money at the bank.", label="Sentence B")
                word = gr.Textbox(value="bank", label="Word (in both)", max_length=50)
            sim_model = gr.Dropdown(choices=choices, value="minilm", label="Model")
            sim_btn = gr.Button("Compare the word across layers")
            sim_plot = gr.Plot(label="Cosine similarity per layer")
            sim_text = gr.Markdown()
            gr.Examples([["I sat on the bank of the river.", "I deposited money at the bank.", "bank"],
                         ["I sat on the bank of the river.", "We walked along the bank of the stream.", "bank"],
                         ["She will book a table.", "She read a good book.", "book"]],
                        inputs=[sent_a, sent_b, word])

    ev = dict(concurrency_id="cpu_model", concurrency_limit=2)  # model runs: at most two at once on a small CPU
    lookup = dict(concurrency_id="lookup", concurrency_limit=4)  # slider moves: cached, never queue behind a model
    outs = [tokens, heat, grid, layer, head]
    run.click(run_attention, [text, model], outs, api_name="attention", **ev).then(
        bertviz_view, [text, model, view], viz, api_name="bertviz_after_attention", **ev)
    text.submit(run_attention, [text, model], outs, api_name="attention_submit", **ev)
    for ctl in (layer, head, average):
        ctl.change(heatmap, [text, model, layer, head, average], heat, api_name="heatmap" if ctl is layer else f"heatmap_{ctl.label.split()[0].lower()}",
                   trigger_mode="always_last", **lookup)
    layer.change(heads_grid, [text, model, layer], grid, api_name="heads_grid", trigger_mode="always_last", **lookup)
    show_viz.click(bertviz_view, [text, model, view], viz, api_name="bertviz", **ev)
    sim_btn.click(similarity, [sent_a, sent_b, word, sim_model], [sim_plot, sim_text], api_name="similarity", **ev)
    demo.load(refresh_models, None, [model, sim_model], api_name="attention_models")
