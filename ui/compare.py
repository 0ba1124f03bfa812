"""The Side by side tab: both families from one click, measured live; the cost of attention;
diffusion's steps knob; and where the two families converge."""

from __future__ import annotations

import gradio as gr

from explainers import compare, compare_views
from ui.common import explain, friendly_errors

EXPLANATION = """
**Two ways to produce an output.** The Transformer writes its answer **one token at a time**:
each forward pass reads the text so far and adds a single token on the right, so N tokens cost
N passes. The diffusion model **refines the whole output at once**: each pass looks at every
pixel of a noisy image and makes all of it a little cleaner, so T steps cost T passes, whatever
the image shows. Press *Race*, then drag the pass slider: the text grows left to right while the
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
affordable. Below, a digit becomes a sequence: 7 x 7 = 49 patch tokens of 4 x 4 pixels.
"""


@friendly_errors
def run_race(text_prompt: str, image_prompt: str, new_tokens: int, steps: int, seed: int, progress=gr.Progress()):
    progress(0.1, desc="Running both models (timed), then again under the FLOP counter")
    r = compare.race(text_prompt, image_prompt, int(new_tokens), int(steps), int(seed))
    n = max(len(r.gpt), len(r.unet))
    text, x_t, x0 = compare_views.pass_view(r, n)
    return (gr.update(maximum=n, value=n), text, x_t, x0, compare_views.timeline_plot(r), compare_views.filmstrip(r),
            compare_views.summary_html(r))


@friendly_errors
def race_step(text_prompt: str, image_prompt: str, new_tokens: int, steps: int, seed: int, i: int):
    r = compare.race(text_prompt, image_prompt, int(new_tokens), int(steps), int(seed))  # cached: a lookup
    return compare_views.pass_view(r, max(1, int(i)))


@friendly_errors
def run_attention_cost(progress=gr.Progress()):
    progress(0.1, desc="Forward passes at 16 ... 1,024 tokens")
    c = compare.attention_cost()
    rows = "\n".join(f"| {n} | {a / 1e6:.1f} | {o / 1e6:.1f} | {sa * 1e3:.1f} | {st * 1e3:.1f} |" for n, a, o, sa, st in
                     zip(c.lengths, c.attention_flops, c.other_flops, c.attention_seconds, c.total_seconds))
    table = ("| tokens | attention MFLOPs | other MFLOPs | attention ms | total ms |\n|---|---|---|---|---|\n" + rows +
             f"\n\nFitted exponent of attention FLOPs vs length: **{c.exponent:.2f}** (time: {c.time_exponent:.2f}). "
             + c.note)
    return compare_views.attention_cost_plot(c), table


@friendly_errors
def run_steps(prompt: str, seed: int):
    return compare_views.steps_plot(compare.steps_tradeoff(prompt, (5, 10, 25, 50), int(seed)))


@friendly_errors
def run_patches(digit: int):
    return compare_views.patches_plot(compare.example_digit(digit))


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
    gr.Examples([["ROMEO:", "a handwritten 5"], ["To be, or not to", "the number seven"], ["The king is", "draw a zero"]],
                inputs=[text_prompt, image_prompt])
    pass_slider = gr.Slider(1, 20, value=20, step=1, label="Forward pass number (shared by both models)")
    with gr.Row():
        text_view = gr.HTML(elem_id="race-text")
        x_t_view = gr.Image(label="Diffusion: the image x_t after this pass", height=220, elem_id="race-image")
        x0_view = gr.Image(label="Diffusion: predicted clean image at this pass", height=220)
    timeline = gr.Plot(label="Time and FLOPs per pass")
    strip = gr.Plot(label="Filmstrip")
    table = gr.HTML(elem_id="race-table")

    gr.Markdown("### The cost of attention\nEvery token scores every other token, so attention work grows with the "
                "*square* of the length, while the rest of the network grows linearly. The KV cache (above, dashed "
                "line vs solid) avoids recomputing old tokens, but each new token still attends to all of them.")
    cost_btn = gr.Button("Measure attention cost from 16 to 1,024 tokens (about a minute)")
    cost_plot = gr.Plot(label="Attention cost vs sequence length")
    cost_table = gr.Markdown()

    gr.Markdown("### Diffusion's knob: the number of steps\nFewer steps are faster but coarser; time grows linearly "
                "with the steps. Same prompt, same seed, 5 / 10 / 25 / 50 DDIM steps.")
    with gr.Row():
        steps_prompt = gr.Textbox(value="a handwritten 5", label="Prompt", max_length=300)
        steps_seed = gr.Number(value=0, precision=0, label="Seed", minimum=0)
    steps_btn = gr.Button("Compare step counts")
    steps_out = gr.Plot(label="Images and time vs steps")

    gr.Markdown(CONVERGE)
    digit = gr.Slider(0, 9, value=3, step=1, label="Digit to cut into patches")
    patch_out = gr.Plot(label="An image as a sequence of patch tokens")

    ev = dict(concurrency_id="cpu_model", concurrency_limit=2)
    race_in = [text_prompt, image_prompt, new_tokens, steps, seed]
    go.click(run_race, race_in, [pass_slider, text_view, x_t_view, x0_view, timeline, strip, table], api_name="race", **ev)
    pass_slider.change(race_step, race_in + [pass_slider], [text_view, x_t_view, x0_view], api_name="race_step",
                       trigger_mode="always_last", concurrency_id="lookup", concurrency_limit=4)
    cost_btn.click(run_attention_cost, None, [cost_plot, cost_table], api_name="attention_cost", **ev)
    steps_btn.click(run_steps, [steps_prompt, steps_seed], steps_out, api_name="steps_tradeoff", **ev)
    digit.change(run_patches, digit, patch_out, api_name="patches", trigger_mode="always_last")
    demo.load(run_patches, digit, patch_out, api_name=False)
