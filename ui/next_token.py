"""The Next token tab: the probabilities a decoder gives the next token, how temperature /
top-k / top-p reshape them, generation one token at a time (with the KV cache counted), the
logit lens per layer, and how the predictions improved during training."""

from __future__ import annotations

import html

import gradio as gr

import models
from explainers import generation, logit_lens, next_token, training_progress
from ui.common import explain, friendly_errors, model_choices

HUB_PROMPTS = {"gpt2": "The meaning of life is", "distilgpt2": "Once upon a time, there was a"}
EXAMPLES = [["To be, or not to", "tiny-gpt"], ["ROMEO:", "tiny-gpt"], ["The king is", "tiny-gpt"]] + [
    [HUB_PROMPTS.get(key, "The best thing about"), key]
    for key, s in models.REGISTRY.items() if s.family == "decoder" and key != "tiny-gpt"]

EXPLANATION = """
**Logits.** At every position a decoder such as GPT outputs one number per token in its
vocabulary (tiny-gpt knows 4,096 tokens, GPT-2 about 50,000). These raw scores are *logits*:
the higher, the more the model expects that token next. Only the last position matters for
what comes next.

**Softmax.** To turn scores into probabilities, each is exponentiated and divided by the total,
so all probabilities are positive and add up to 1. The bars on the left are exactly that.

**Temperature, top-k, top-p.** Before a token is drawn, the logits are divided by the
*temperature*: below 1 the favourite gets even more likely (sharper), above 1 the odds even out
(flatter); 0 means *greedy*, always the favourite. *Top-k* keeps only the k likeliest tokens;
*top-p* keeps the smallest set of likeliest tokens whose probabilities add up to at least p.
What is cut is grey; the rest is rescaled to add up to 1 again (the bars on the right).

**Sampling vs greedy.** Greedy decoding always takes the top token, so the same prompt always
gives the same text, which often gets stuck in loops. Sampling draws a token at random in
proportion to its probability, so an unlikely word sometimes wins: the text gets more varied,
and a *seed* makes the draw repeatable.

**Autoregressive.** The model writes one token, appends it to its own input, and predicts
again: each new token depends on everything before it, so a text of N tokens needs N forward
passes. The *KV cache* stores what every layer computed for earlier tokens (their keys and
values), so each new pass only has to process the one new token.

**Logit lens.** Reading the hidden state of each layer through the model's final output head
shows what the model "would say" if it stopped at that layer. The bottom row (the token
embedding) mostly echoes the input token; the answer forms in the layers above.
"""


def sampling_caption(r: next_token.NextTokenResult) -> str:
    kept = r.probs_before[r.probs_after > 0].sum()
    top = r.tokens[0]
    trunc = (f" The text was longer than the model's context, so only its last {len(r.context)} tokens were used."
             if r.truncated else "")
    return (f"After **{len(r.context)}** context tokens, **{r.model}** gives `{top}` the highest probability "
            f"(**{r.before[0]:.1%}**). The sampling controls keep **{r.n_kept:,}** of "
            f"{len(r.probs_before):,} tokens, which held {kept:.1%} of the probability before rescaling. "
            f"`▁` is a space, `⏎` a new line.{trunc}")


@friendly_errors
def predict(text: str, model: str, temperature: float, top_k: int, top_p: float):
    r = next_token.predict(text, model, temperature, top_k, top_p)
    return next_token.next_token_bars(r), sampling_caption(r)


def generation_args(text, model, max_new_tokens, temperature, top_k, top_p, seed, use_cache: bool = True) -> tuple:
    """The exact arguments `generate` is called with, so the step slider finds the cached result.
    Values are passed through unconverted: `generate` validates them (NaN, None, ...) itself."""
    return (text, model, max_new_tokens, temperature, top_k, top_p, seed, use_cache)


def step_html(r: generation.GenerationResult, i: int) -> str:
    s = r.steps[i - 1]
    prompt = html.escape(r.prompt)
    done = html.escape(s.context[len(r.prompt):] if s.context.startswith(r.prompt) else "")
    chosen = html.escape(s.chosen_text)
    how = ("the most likely token" if s.chosen_rank == 1 else
           f"<span class='warn'>not the most likely: rank {s.chosen_rank}</span>, picked by sampling")
    return (f"<div style='white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:14px;"
            f"border:1px solid #ddd;border-radius:6px;padding:8px'>"
            f"<span style='color:#555'>{prompt}</span>{done}"
            f"<mark style='background:#fdd2b3;border:2px solid #d55e00;border-radius:4px;padding:0 2px'>"
            f"{chosen or '&nbsp;'}</mark></div>"
            f"<p class='caption'>Step {i} of {len(r.steps)}: grey = your prompt, then the tokens written so far; "
            f"the outlined token <b>{html.escape(s.chosen_token)}</b> was chosen with probability "
            f"{s.chosen_prob:.1%} ({s.chosen_prob_after:.1%} after the sampling controls): {how}.</p>")


def generation_summary(r: generation.GenerationResult) -> str:
    unlikely = sum(s.chosen_rank > 1 for s in r.steps)
    n = r.forward_passes
    note = f"\n\n<span class='warn'>{html.escape(r.note)}</span>" if r.note else ""
    return (f"**{n} forward passes** for {len(r.steps)} new tokens, {r.seconds:.2f} s in total "
            f"({1000 * r.seconds / n:.1f} ms per pass). With the KV cache the first pass read the "
            f"{r.prompt_tokens} prompt tokens and every later pass read **1** token: "
            f"{sum(r.tokens_per_pass)} tokens in all, instead of "
            f"{sum(r.prompt_tokens + k for k in range(n))} without it. "
            f"{unlikely} of the {len(r.steps)} chosen tokens were not the most likely one (seed {r.seed})."
            f"\n\n<div style='white-space:pre-wrap;border-left:3px solid #0072b2;padding-left:8px'>"
            f"{html.escape(r.text)}</div>{note}")


@friendly_errors
def generate(text: str, model: str, max_new_tokens: int, temperature: float, top_k: int, top_p: float, seed: int,
             progress=gr.Progress()):
    progress(0, desc="Generating one token at a time...")
    r = generation.generate(*generation_args(text, model, max_new_tokens, temperature, top_k, top_p, seed))
    first = r.steps[0]
    return (generation_summary(r), gr.update(minimum=1, maximum=len(r.steps), value=1), step_html(r, 1),
            next_token.next_token_bars(first, highlight=first.chosen_id), generation.passes_plot(r))


@friendly_errors
def show_step(text: str, model: str, max_new_tokens: int, temperature: float, top_k: int, top_p: float, seed: int,
              step: int):
    # A lookup only: the model never runs here (a ValueError if Generate was not pressed).
    r = generation.cached_generation(*generation_args(text, model, max_new_tokens, temperature, top_k, top_p, seed))
    i = max(1, min(int(step), len(r.steps)))
    s = r.steps[i - 1]
    return step_html(r, i), next_token.next_token_bars(s, highlight=s.chosen_id, title=f"Step {i}")


@friendly_errors
def compare_cache(text: str, model: str, max_new_tokens: int, temperature: float, top_k: int, top_p: float,
                  seed: int, progress=gr.Progress()):
    args = (text, model, max_new_tokens, temperature, top_k, top_p, seed)
    progress(0.1, desc="With the KV cache...")
    fast = generation.generate(*generation_args(*args, use_cache=True))
    progress(0.5, desc="Without the KV cache: every pass re-reads the whole context...")
    slow = generation.generate(*generation_args(*args, use_cache=False))
    same = "the same tokens" if [s.chosen_id for s in fast.steps] == [s.chosen_id for s in slow.steps] else \
        "almost the same tokens (tiny rounding differences can change a random draw)"
    md = (f"| | forward passes | tokens read | time |\n|---|---|---|---|\n"
          f"| with KV cache | {fast.forward_passes} | {sum(fast.tokens_per_pass)} | {fast.seconds:.2f} s |\n"
          f"| without | {slow.forward_passes} | {sum(slow.tokens_per_pass)} | {slow.seconds:.2f} s |\n\n"
          f"Both runs wrote {same}. The cache saves re-reading the context, not passes: "
          f"one pass per token either way.")
    return md, generation.passes_plot(fast, slow)


@friendly_errors
def run_lens(text: str, model: str):
    r = logit_lens.lens(text, model)
    return logit_lens.lens_plot(r), (f"The model's final answer is `{r.final_token}`. Its probability, layer by "
                                     f"layer: " + ", ".join(f"{p:.0%}" for p in r.final_token_probs) + ".")


@friendly_errors
def run_progress(text: str, model: str, progress=gr.Progress()):
    if not training_progress.has_checkpoints(model):
        return None, (f"Training checkpoints are unavailable for **{html.escape(model)}**: it was trained elsewhere. "
                      "Pick tiny-gpt, which was trained for this app, to watch it learn.")
    progress(0, desc="Loading the checkpoints...")
    r = training_progress.progress(text, model)
    rows = "\n".join(f"| {label} | {html.escape(sample).replace(chr(10), ' ⏎ ').replace('|', '&#124;')} |"
                     for label, sample in zip(r.labels, r.samples))
    return training_progress.progress_plot(r), (
        "Greedy continuation (20 tokens) from each checkpoint:\n\n| checkpoint | continuation |\n|---|---|\n" + rows)


def refresh_models():
    return gr.update(choices=model_choices("decoder", check_network=True))


def build(demo: gr.Blocks) -> None:
    explain(EXPLANATION)
    with gr.Row():
        text = gr.Textbox(label="Prompt", value=EXAMPLES[0][0], lines=2, max_length=10_000, scale=4)
        # Custom values pass through so that a Hub example offline gets the registry's own message
        # ("not in the local cache..."); only registry keys can ever load (models.spec checks).
        model = gr.Dropdown(choices=model_choices("decoder"), value="tiny-gpt", label="Model", scale=2,
                            allow_custom_value=True)
    gr.Examples(EXAMPLES, inputs=[text, model], example_labels=[f"{t}  ({m})" for t, m in EXAMPLES],
                label="Examples (Hub models such as gpt2 work when they are cached or the Hub is reachable)")
    with gr.Row():
        temperature = gr.Slider(0, 2, value=1.0, step=0.05, label="Temperature (0 = greedy)")
        top_k = gr.Slider(0, 100, value=0, step=1, label="Top-k (0 = off)")
        top_p = gr.Slider(0.01, 1, value=1.0, step=0.01, label="Top-p (1 = off)")
    with gr.Tabs():
        with gr.Tab("Next-token probabilities"):
            run = gr.Button("Predict the next token", variant="primary")
            bars = gr.Plot(label="Next-token probabilities, before and after the sampling controls", show_label=False)
            caption = gr.Markdown()
        with gr.Tab("One token at a time"):
            with gr.Row():
                max_new = gr.Slider(1, generation.MAX_NEW_TOKENS, value=30, step=1, label="New tokens")
                seed = gr.Number(value=0, precision=0, minimum=0, label="Seed (same seed, same text)")
                gen_btn = gr.Button("Generate", variant="primary")
            summary = gr.Markdown()
            step = gr.Slider(1, 30, value=1, step=1, label="Step (a lookup: the model does not run again)")
            context = gr.HTML()
            step_bars = gr.Plot(label="The distribution at this step; the chosen token is highlighted", show_label=False)
            passes = gr.Plot(label="Tokens fed to the model per forward pass", show_label=False)
            cmp_btn = gr.Button("Time it with and without the KV cache")
            cmp_md = gr.Markdown()
            cmp_plot = gr.Plot(label="Measured: tokens fed per pass, with vs without the cache", show_label=False)
        with gr.Tab("Per-layer predictions (logit lens)"):
            lens_btn = gr.Button("Show what each layer predicts", variant="primary")
            lens_plot = gr.Plot(label="Logit lens", show_label=False)
            lens_md = gr.Markdown()
        with gr.Tab("During training"):
            gr.Markdown("The same prompt through tiny-gpt's saved training checkpoints: random at step 0, "
                        "then common tokens, then words, then something like Shakespeare.")
            prog_btn = gr.Button("Compare the checkpoints", variant="primary")
            prog_plot = gr.Plot(label="Top next tokens at each checkpoint", show_label=False)
            prog_md = gr.Markdown()

    ev = dict(concurrency_id="cpu_model", concurrency_limit=2)
    sampling = [text, model, temperature, top_k, top_p]
    run.click(predict, sampling, [bars, caption], api_name="next_token", **ev)
    text.submit(predict, sampling, [bars, caption], api_name="next_token_submit", **ev)
    for ctl, name in ((temperature, "temperature"), (top_k, "top_k"), (top_p, "top_p")):
        ctl.change(predict, sampling, [bars, caption], api_name=f"next_token_{name}", trigger_mode="always_last", **ev)
    gen_in = sampling[:2] + [max_new] + sampling[2:] + [seed]
    gen_btn.click(generate, gen_in, [summary, step, context, step_bars, passes], api_name="generate", **ev)
    step.change(show_step, gen_in + [step], [context, step_bars], api_name="generation_step",
                 trigger_mode="always_last")
    cmp_btn.click(compare_cache, gen_in, [cmp_md, cmp_plot], api_name="kv_cache_comparison", **ev)
    lens_btn.click(run_lens, [text, model], [lens_plot, lens_md], api_name="logit_lens", **ev)
    prog_btn.click(run_progress, [text, model], [prog_plot, prog_md], api_name="training_progress", **ev)
    demo.load(refresh_models, None, model, api_name="next_token_models")
