"""The Side by side tab: both families from one click, measured live; the cost of attention;
diffusion's steps knob; and where the two families converge."""

from __future__ import annotations

import gradio as gr

from explainers import compare, compare_views, step_counts, three_jobs, three_jobs_views
from explainers.frames import rgb_uri
from explainers.text_input import check_number
from ui import links
from ui.common import MODEL_EVENTS, explain, friendly_errors, scrub_view

EXPLANATION = """
**Two ways to produce an output.** The Transformer writes its answer **one token at a time**:
each forward pass reads the text so far and adds a single token on the right, so N tokens cost
N passes. The diffusion model **refines the whole output at once**: each pass looks at every
pixel of a noisy image and makes all of it a little cleaner, so T steps cost T passes, whatever
the image shows. Press *Race*, then drag the Forward pass slider (or use the arrow keys): the text grows left to right while the
digit sharpens everywhere.

**What the numbers say.** A pass of the tiny GPT is cheap (it handles one new token, thanks to the
KV cache that remembers earlier tokens' keys and values); a pass of the UNet is expensive (it
touches all 784 pixels, twice with guidance). FLOPs are counted exactly by PyTorch's
`FlopCounterMode`; times are measured on this machine, right now.
"""

CONVERGE = """
### Where they converge
The line between the families is blurring. **Vision Transformers** (Dosovitskiy et al., 2021) cut
an image into patches and treat each patch as a token, so attention works on pictures.
**Diffusion Transformers** (Peebles & Xie, 2023) keep the denoising loop but replace the U-Net
with Transformer blocks over such patch tokens. **Multimodal models** combine both: one network
reads text and image tokens together. And **latent diffusion** (Rombach et al., 2022) denoises a
compressed version of the image instead of its pixels, which is what makes big image models
affordable.

**One block, three jobs.** The three embedded transformers below are built from the same block
(LayerNorm, attention, add; LayerNorm, feed-forward, add), stacked. **tiny-gpt** writes text: its
tokens are word pieces and its attention is *causal*. **tiny-vit** reads an image: its tokens are
4 x 4-pixel patches plus a CLS token, and attention is *full*. **tiny-t2i's DiT** draws: its tokens
are patches of a noisy latent, with full self-attention and *cross-attention* to the words of the
prompt. Press the button to run one forward pass of each and measure it.
"""


@friendly_errors
def check_race(text_prompt: str, image_prompt: str, new_tokens: int, steps: int, seed: int) -> None:
    """Refuse bad input before anything runs: the message shows once and the last views stay."""
    compare.check_race(text_prompt, image_prompt, new_tokens, steps, seed)


@friendly_errors
def run_race(text_prompt: str, image_prompt: str, new_tokens: int, steps: int, seed: int, progress=gr.Progress()):
    """Both models, every pass timed and FLOP-counted; every pass shipped once as a scrubber."""
    progress(0.1, desc="Running both models (timed), then again under the FLOP counter")
    return compare_views.race_views(text_prompt, image_prompt, int(new_tokens), int(steps), int(seed))


@friendly_errors
def race_step(text_prompt: str, image_prompt: str, new_tokens: int, steps: int, seed: int, i: int) -> dict:
    """One forward pass of a race, for API clients (cached after the first call): the text so
    far, the new token, and the diffusion image and its clean-image prediction as PNG data URIs."""
    r = compare.race(text_prompt, image_prompt, int(new_tokens), int(steps), int(seed))
    n = max(len(r.gpt), len(r.unet))
    i = int(check_number(i, "pass", 1, n, integer=True))
    g, u = r.gpt[min(i, len(r.gpt)) - 1], r.unet[min(i, len(r.unet)) - 1]
    return dict(index=i, text=g.output, image_pass=u.index, x_t=rgb_uri(r.x_t[u.index]), x0_pred=rgb_uri(u.output),
                html=compare_views.pass_frame(r, i))


@friendly_errors
def run_attention_cost(progress=gr.Progress()):
    progress(0.1, desc="Forward passes at 16 ... 1,024 tokens")
    c = compare.attention_cost()
    rows = "\n".join(f"| {n} | {a / 1e6:.1f} | {o / 1e6:.1f} | {sa * 1e3:.1f} | {st * 1e3:.1f} |" for n, a, o, sa, st in
                     zip(c.lengths, c.attention_flops, c.other_flops, c.attention_seconds, c.total_seconds))
    table = ("| tokens | attention MFLOPs | other MFLOPs | attention ms | total ms |\n|---|---|---|---|---|\n" + rows +
             f"\n\nFitted exponent of attention FLOPs vs length: **{c.exponent:.2f}** (time: {c.time_exponent:.2f}). "
             + c.note)
    return compare_views.attention_cost_html(c), table


@friendly_errors
def run_steps(prompt: str, seed: int):
    return compare_views.steps_html(step_counts.steps_tradeoff(prompt, step_counts.STEP_COUNTS, int(seed)))


@friendly_errors
def run_patches(digit: int) -> str:
    """One digit cut into patch tokens (HTML), for API clients."""
    return compare_views.patches_html(compare.example_digit(digit))


@friendly_errors
def run_three_jobs(text: str, digit_index: int, prompt: str) -> str:
    """One measured forward pass of tiny-gpt, tiny-vit and the tiny-t2i DiT, side by side (HTML)."""
    return three_jobs_views.three_jobs_html(three_jobs.three_jobs(text, digit_index, prompt))


def build(demo: gr.Blocks) -> None:
    explain(EXPLANATION)
    with gr.Row():
        text_prompt = gr.Textbox(value="ROMEO:", label="Transformer prompt (tiny-gpt)", max_length=500)
        image_prompt = gr.Textbox(value="a handwritten 5", label="Diffusion prompt (tiny-ddpm)", max_length=300)
    with gr.Row():
        new_tokens = gr.Slider(5, 60, value=20, step=1, label="New tokens (= transformer passes)")
        steps = gr.Slider(10, 60, value=20, step=1, label="DDIM steps (= diffusion passes)")
        seed = gr.Number(value=0, precision=0, label="Seed", minimum=0)
    go = gr.Button("Race: run both, measured", variant="primary")
    link_inputs = {"text_prompt": text_prompt, "image_prompt": image_prompt, "new_tokens": new_tokens, "steps": steps,
                   "seed": seed}
    links.copy_button("compare", link_inputs)
    gr.Examples([["ROMEO:", "a handwritten 5"], ["To be, or not to", "the number seven"], ["The king is", "draw a zero"]],
                inputs=[text_prompt, image_prompt])
    passes = scrub_view("Both models, pass by pass", elem_id="race-passes")
    timeline = gr.HTML(elem_id="race-timeline")
    strip = gr.HTML(elem_id="race-strip")
    table = gr.HTML(elem_id="race-table")

    gr.Markdown("### The cost of attention\nEvery token scores every other token, so attention work grows with the "
                "*square* of the length, while the rest of the network grows linearly. The KV cache (above, dashed "
                "line vs solid) avoids recomputing old tokens, but each new token still attends to all of them.")
    cost_btn = gr.Button("Measure attention cost from 16 to 1,024 tokens")
    cost_plot = gr.HTML(elem_id="attention-cost")
    cost_table = gr.Markdown()

    gr.Markdown("### Diffusion's knob: the number of steps\nTime grows linearly with the steps; what fewer steps cost "
                "depends on the model and the sampler. Same prompt, same seed, "
                f"{' / '.join(map(str, step_counts.STEP_COUNTS))} DDIM steps; each caption says the timestep the run "
                "starts from and how far the image is from the one with the most steps (mean absolute pixel difference, "
                "0 to 1).")
    with gr.Row():
        steps_prompt = gr.Textbox(value="a handwritten 5", label="Prompt", max_length=300)
        steps_seed = gr.Number(value=0, precision=0, label="Seed", minimum=0)
    steps_btn = gr.Button("Compare step counts")
    steps_out = gr.HTML(elem_id="steps-tradeoff")

    gr.Markdown(CONVERGE)
    with gr.Row():
        jobs_text = gr.Textbox(value=three_jobs.DEFAULT_TEXT, label="Text for the GPT", max_length=500)
        jobs_digit = gr.Slider(0, 999, value=three_jobs.DEFAULT_DIGIT, step=1,
                               label="Digit for the ViT (which of the 1,000 held-out real digits)")
        jobs_prompt = gr.Textbox(value=three_jobs.DEFAULT_PROMPT, label="Prompt for the DiT", max_length=300)
    jobs_btn = gr.Button("Run one pass of each, measured")
    jobs_out = gr.HTML(elem_id="three-jobs")

    ev = dict(MODEL_EVENTS)
    race_in = [text_prompt, image_prompt, new_tokens, steps, seed]
    go.click(check_race, race_in, None, api_name="race_check", show_progress="hidden").success(
        run_race, race_in, [passes, timeline, strip, table], api_name="race", **ev)
    links.register(demo, links.TabLink("compare", run_race, link_inputs, [passes, timeline, strip, table],
                                       ("forward_pass",)))
    gr.api(race_step, api_name="race_step", concurrency_id="lookup", concurrency_limit=4)
    cost_btn.click(run_attention_cost, None, [cost_plot, cost_table], api_name="attention_cost", **ev)
    steps_btn.click(run_steps, [steps_prompt, steps_seed], steps_out, api_name="steps_tradeoff", **ev)
    gr.api(run_patches, api_name="patches")
    jobs_btn.click(run_three_jobs, [jobs_text, jobs_digit, jobs_prompt], jobs_out, api_name="three_jobs", **ev)
