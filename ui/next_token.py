"""The Next token tab: the probabilities a decoder gives the next token, how temperature /
top-k / top-p reshape them, generation one token at a time (with the KV cache counted), the
logit lens per layer, and how the predictions improved during training. Wiring only: the views
come from explainers.next_token_views."""

from __future__ import annotations

import html

import gradio as gr

from explainers import generation, logit_lens, next_token, next_token_views, training_progress
from explainers.generation_gif import generation_gif_of
from store import STORE
from ui import links
from ui.common import MODEL_EVENTS, SCRUB_JS, explain, friendly_errors, model_choices

HUB_PROMPTS = {"gpt2": "The meaning of life is", "distilgpt2": "Once upon a time, there was a"}
EXAMPLES = [["To be, or not to", "tiny-gpt"], ["ROMEO:", "tiny-gpt"], ["The king is", "tiny-gpt"]]
DEFAULT_SAMPLING = (1.0, 0, 1.0)  # the page's temperature, top-k (0 = off) and top-p (1 = off)


def prefill_examples() -> None:
    """The embedded examples' model pass, stored once the models are warm (the bars are drawn per request
    from it, about 5 ms)."""
    for text, model in EXAMPLES:
        next_token.predict(text, model, *DEFAULT_SAMPLING)


def examples() -> list[list[str]]:
    """The embedded examples, plus one per Hub decoder that can be loaded here and now (cached):
    an example that fails offline with jargon is worse than none."""
    hub = [key for _, key in model_choices("decoder") if key != "tiny-gpt"]
    return EXAMPLES + [[HUB_PROMPTS.get(key, "The best thing about"), key] for key in hub]


EXPLANATION = """
**Logits.** At every position a decoder such as GPT outputs one number per token in its
vocabulary (tiny-gpt knows 4,096 tokens, GPT-2 about 50,000). These raw scores are *logits*:
the higher, the more the model expects that token next. Only the last position matters for
what comes next.

**Softmax.** To turn scores into probabilities, each is exponentiated and divided by the total,
so all probabilities are positive and add up to 1. The blue bars are exactly that.

**Temperature, top-k, top-p.** Before a token is drawn, the logits are divided by the
*temperature*: below 1 the favourite gets even more likely (sharper), above 1 the odds even out
(flatter); 0 means *greedy*, always the favourite. *Top-k* keeps only the k likeliest tokens;
*top-p* keeps the smallest set of likeliest tokens whose probabilities add up to at least p.
What is cut is grey; the rest is rescaled to add up to 1 again (the orange bars). Both columns
use one scale, so a flatter distribution shows as shorter bars.

**Sampling vs greedy.** Greedy decoding always takes the top token, so the same prompt always
gives the same text, which often gets stuck in loops. Sampling draws a token at random in
proportion to its probability, so an unlikely word sometimes wins: the text gets more varied,
and a *seed* makes the draw repeatable.

**Autoregressive.** The model writes one token, appends it to its own input, and predicts
again: each new token depends on everything before it, so a text of N tokens needs N forward
passes. The *KV cache* stores what every layer computed for earlier tokens (their keys and
values), so each new pass only has to process the one new token.

**Logit lens.** Reading the hidden state of each layer through the model's final output head
shows what the model "would say" if it stopped at that layer. Layer 0 (the token embedding)
mostly echoes the input token; the answer forms in the layers above.
"""


@friendly_errors
def predict(text: str, model: str, temperature: float, top_k: int, top_p: float):
    r = next_token.predict(text, model, temperature, top_k, top_p)
    return next_token_views.next_token_bars(r), next_token_views.sampling_caption(r)


@friendly_errors
def generate(text: str, model: str, max_new_tokens: int, temperature: float, top_k: int, top_p: float, seed: int):
    """Summary, ONE view holding every step (switched in the browser), and the passes chart."""
    return next_token_views.generation_views(text, model, max_new_tokens, temperature, top_k, top_p, seed)


@friendly_errors
def generation_gif(text: str, model: str, max_new_tokens: int, temperature: float, top_k: int, top_p: float,
                   seed: int) -> str:
    """The same generation (cached: the model does not run again) as an animated GIF file."""
    return generation_gif_of(text, model, max_new_tokens, temperature, top_k, top_p, seed)


@friendly_errors
def show_step(text: str, model: str, max_new_tokens: int, temperature: float, top_k: int, top_p: float, seed: int,
              step: int) -> str:
    """One generation step (1-based) as HTML: a lookup of an earlier 'generate' run, never a model run."""
    return next_token_views.cached_generation_step(text, model, max_new_tokens, temperature, top_k, top_p, seed, step)


@friendly_errors
def compare_cache(text: str, model: str, max_new_tokens: int, temperature: float, top_k: int, top_p: float,
                  seed: int, progress=gr.Progress()):
    args = (text, model, max_new_tokens, temperature, top_k, top_p, seed)
    progress(0.1, desc="With the KV cache...")
    fast = generation.generate(*args, True)
    progress(0.5, desc="Without the KV cache: every pass re-reads the whole context...")
    slow = generation.generate(*args, False)
    return next_token_views.kv_table(fast, slow), next_token_views.passes_chart(fast, slow)


@friendly_errors
def run_lens(text: str, model: str):
    r = logit_lens.lens(text, model)
    return next_token_views.lens_html(r), (f"The model's final answer is `{r.final_token}`. Its probability, layer by "
                                           f"layer (0 = embeddings): " +
                                           ", ".join(f"{p:.0%}" for p in r.final_token_probs) + ".")


@friendly_errors
def run_progress(text: str, model: str, progress=gr.Progress()):
    if not training_progress.has_checkpoints(model):
        return "", (f"Training checkpoints are unavailable for **{html.escape(model)}**: it was trained elsewhere. "
                    "Pick tiny-gpt, which was trained for this app, to watch it learn.")
    progress(0, desc="Loading the checkpoints...")
    r = training_progress.progress(text, model)
    return next_token_views.progress_html(r), next_token_views.checkpoint_table(r)


def refresh_models():
    return gr.update(choices=model_choices("decoder", check_network=True))


def build(demo: gr.Blocks) -> None:
    STORE.after_warm(prefill_examples)
    explain(EXPLANATION)
    css = next_token_views.CSS
    ex = examples()
    with gr.Row():
        text = gr.Textbox(label="Prompt", value=ex[0][0], lines=2, max_length=10_000, scale=4)
        # Custom values pass through so that an API call naming a Hub model offline gets the
        # registry's own message; only registry keys can ever load (models.spec checks).
        model = gr.Dropdown(choices=model_choices("decoder"), value="tiny-gpt", label="Model", scale=2,
                            allow_custom_value=True)
    gr.Examples(ex, inputs=[text, model], example_labels=[f"{t}  ({m})" for t, m in ex],
                label="Examples (models this computer can run now)")
    with gr.Row():
        temperature = gr.Slider(0, 2, value=DEFAULT_SAMPLING[0], step=0.05, label="Temperature (0 = greedy)")
        top_k = gr.Slider(0, 100, value=DEFAULT_SAMPLING[1], step=1, label="Top-k (0 = off)")
        top_p = gr.Slider(0.01, 1, value=DEFAULT_SAMPLING[2], step=0.01, label="Top-p (1 = off)")
    with gr.Tabs():
        with gr.Tab("Next-token probabilities"):
            run = gr.Button("Predict the next token", variant="primary")
            bars = gr.HTML("<p class='caption'>Press 'Predict the next token'.</p>", elem_id="next-token-bars",
                           css_template=css)
            caption = gr.Markdown()
            link_inputs = {"text": text, "model": model, "temperature": temperature, "top_k": top_k, "top_p": top_p}
            links.copy_button("next_token", link_inputs)
        with gr.Tab("One token at a time"):
            with gr.Row():
                max_new = gr.Slider(1, generation.MAX_NEW_TOKENS, value=30, step=1, label="New tokens")
                seed = gr.Number(value=0, precision=0, minimum=0, label="Seed (same seed, same text)")
                gen_btn = gr.Button("Generate", variant="primary")
            summary = gr.Markdown()
            steps = gr.HTML("", elem_id="generation-steps", js_on_load=SCRUB_JS, css_template=css)
            passes = gr.HTML("", elem_id="generation-passes", css_template=css)
            gen_gif = gr.File(label="The generation as an animated GIF (download)", elem_id="generation-gif")
            cmp_btn = gr.Button("Time it with and without the KV cache")
            cmp_md = gr.Markdown()
            cmp_chart = gr.HTML("", css_template=css)
        with gr.Tab("Per-layer predictions (logit lens)"):
            lens_btn = gr.Button("Show what each layer predicts", variant="primary")
            lens_view = gr.HTML("", elem_id="logit-lens", css_template=css)
            lens_md = gr.Markdown()
        with gr.Tab("During training"):
            gr.Markdown("The same prompt through tiny-gpt's saved training checkpoints: random at step 0, "
                        "then common tokens, then words, then something like Shakespeare.")
            prog_btn = gr.Button("Compare the checkpoints", variant="primary")
            prog_view = gr.HTML("", elem_id="training-progress", css_template=css)
            prog_md = gr.Markdown()

    # Model runs: at most two at once on a small CPU. show_progress="hidden": an error shows its
    # message once (a toast) and every view keeps the last good result instead of an error badge.
    ev = dict(**MODEL_EVENTS, show_progress="hidden")
    sampling = [text, model, temperature, top_k, top_p]
    run.click(predict, sampling, [bars, caption], api_name="next_token", **ev)
    text.submit(predict, sampling, [bars, caption], api_name="next_token_submit", **ev)
    for ctl, name in ((temperature, "temperature"), (top_k, "top_k"), (top_p, "top_p")):
        # a new distribution (the controls are inputs of the computation, not views of a result)
        ctl.change(predict, sampling, [bars, caption], api_name=f"next_token_{name}", trigger_mode="always_last", **ev)
    gen_in = sampling[:2] + [max_new] + sampling[2:] + [seed]
    gen_btn.click(generate, gen_in, [summary, steps, passes], api_name="generate", **ev).success(
        generation_gif, gen_in, gen_gif, api_name="generate_gif", **ev)
    slow = dict(ev, show_progress="minimal")
    cmp_btn.click(compare_cache, gen_in, [cmp_md, cmp_chart], api_name="kv_cache_comparison",
                  show_progress_on=[cmp_md], **slow)
    lens_btn.click(run_lens, [text, model], [lens_view, lens_md], api_name="logit_lens", **ev)
    prog_btn.click(run_progress, [text, model], [prog_view, prog_md], api_name="training_progress",
                   show_progress_on=[prog_md], **slow)
    # One endpoint per view for gradio_client users: the page's Step slider never calls it.
    gr.api(show_step, api_name="generation_step", concurrency_id="lookup", concurrency_limit=4)
    demo.load(refresh_models, None, model, api_name="next_token_models")
    links.register(demo, links.TabLink("next_token", predict, link_inputs, [bars, caption]))
