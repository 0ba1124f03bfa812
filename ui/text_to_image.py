"""The Text to image tab: a prompt -> minilm tokens -> a latent diffusion transformer that reads them
through cross-attention -> the autoencoder's decoder. One run ships every step's views; the
sliders switch between them in the browser."""

from __future__ import annotations

import gradio as gr

from explainers import text_to_image as t2i
from explainers import text_to_image_sd as t2i_sd
from explainers import text_to_image_views as views
from explainers.catalog import model_choices
from ui import links
from ui.common import MODEL_EVENTS, explain, friendly_errors, scrub_view, step_progress

EXAMPLES = [
    ["a red 7 on a blue background", "", 25, t2i.DEFAULT_GUIDANCE, 0],
    ["the number three in yellow over black, small, at the top", "", 25, t2i.DEFAULT_GUIDANCE, 1],
    ["a white 2 on green", "", 25, t2i.DEFAULT_GUIDANCE, 2],
    ["please paint the numeral 4 orange atop a purple backdrop", "", 25, t2i.DEFAULT_GUIDANCE, 3],
    ["a purple 5 on a white background", "", 25, t2i.DEFAULT_GUIDANCE, 4],
    ["a large 8", "", 25, t2i.DEFAULT_GUIDANCE, 5],
    ["a 6 on a blue background", "red", 25, t2i.DEFAULT_GUIDANCE, 6],
    ["", "", 25, t2i.DEFAULT_GUIDANCE, 7],
]

EXPLANATION = """
This is how **Stable Diffusion, DALL-E and PixArt** turn words into pictures, in miniature, running
live on this computer (a model trained here on coloured digits: it knows digits, eight colours,
sizes and positions).

1. **Text to vectors.** A text transformer (minilm, the same one as on the Attention tab) turns
   the prompt into one vector per token (the chips below). The image model never sees letters,
   only these vectors.
2. **Latent space.** Diffusion does not run on the 32 x 32 x 3 = 3,072 pixel values but on a
   4 x 16 x 16 = 1,024-number *latent* made by an autoencoder: 3 times less to denoise at every
   step (latent diffusion, Rombach et al. 2022; Stable Diffusion's is 48 times smaller than its
   512 x 512 images). The decoder turns latents back into pixels once, at the end.
3. **A transformer denoises.** The denoiser is a *Diffusion Transformer* (DiT): the latent is cut
   into 8 x 8 = 64 patches, which attend to each other (self-attention, as GPT's words do) and, in every
   block, **read the prompt's token vectors through cross-attention**: each patch decides which
   words matter to it. The maps below show which word shaped which pixels.
4. **Guidance.** Each step predicts twice, without and with the prompt; guidance pushes the
   result further in the direction the prompt adds. A *negative prompt* replaces "without" by
   "away from this".

Try: change one word and keep the seed; type a phrasing of your own ("draw me a green eight on
white"); ask for a combination it never saw in training (a purple 5: see the model card).
"""


def _summary(r: t2i.TextToImageResult) -> str:
    what = f"**{r.prompt!r}**" if r.prompt else "**no prompt** (unconditional: the model draws anything it learned)"
    neg = f", negative prompt {r.negative_prompt!r}" if r.negative_prompt else ""
    n = len(r.images)
    return (f"Drew {what}{neg}: {r.steps} steps, guidance {r.guidance:g}, "
            f"{'seed ' + str(r.seed) if n == 1 else f'seeds {r.seed} to {r.seed + n - 1}'}. "
            f"{r.steps} denoiser passes, each on a batch of {2 * n} (with and without the prompt), "
            f"then one decode: {r.seconds:.1f} s.")


@friendly_errors
def run(prompt, negative, steps, guidance, seed, n_images, model, show_special, progress=gr.Progress()):
    if msg := t2i_sd.time_warning(model, steps, n_images):  # a Hub Stable Diffusion model on a CPU
        gr.Warning(msg)
    r = t2i.generate(prompt, steps, guidance, seed, negative, model, n_images,
                     progress=step_progress(progress, "denoising", "steps"))
    skip = not show_special
    return (_summary(r), views.tokens_html(r), views.gallery(r), views.step_view(r, skip), views.words_view(r, skip),
            views.patches_view(r))


@friendly_errors
def swap(prompt, other, steps, guidance, seed, negative, model):
    if not (other or "").strip():
        raise ValueError("Type the second prompt (the first with one word changed), e.g. 'a blue 7 on a red background'.")
    a = t2i.generate(prompt, steps, guidance, seed, negative, model)
    b = t2i.generate(other, steps, guidance, seed, negative, model)
    return views.swap_view(a, b)


@friendly_errors
def interpolate(prompt, kind, other_seed, other_prompt, steps, guidance, seed, model):
    if kind == "two prompts":
        if not (other_prompt or "").strip():
            raise ValueError("Type a second prompt to interpolate towards.")
        it = t2i.interpolate(prompt, seed, other_prompt=other_prompt, steps=steps, guidance=guidance, model=model)
    else:
        it = t2i.interpolate(prompt, seed, other_seed=other_seed, steps=steps, guidance=guidance, model=model)
    return views.interpolation_view(it)


@friendly_errors
def costs(model):
    return views.costs_table(t2i.latent_costs(model))


@friendly_errors
def during_training(prompt, seed, steps, guidance, model):
    seed = int(t2i.check_number(seed, "Seed", 0, t2i.MAX_SEED, integer=True))
    steps = int(t2i.check_number(steps, "Steps", *t2i.STEP_RANGE, integer=True))
    guidance = float(t2i.check_number(guidance, "Guidance", 0, t2i.MAX_GUIDANCE))
    return views.training_view(t2i.during_training(prompt, seed, steps, guidance, model))


def step_images(prompt: str, steps: int, guidance: float, seed: int, negative_prompt: str, model: str,
                step: int) -> dict:
    """One step of a run (computed once, cached) for API users: images as PNG data URIs and the
    per-token cross-attention as nested lists (tokens x 8 x 8)."""
    from explainers import frames

    r = t2i.generate(prompt, steps, guidance, seed, negative_prompt, model)
    s = int(t2i.check_number(step, "Step", 0, r.steps, integer=True))
    k = min(s, r.steps - 1)
    return dict(step=s, steps=r.steps, tokens=r.tokens, decoded=frames.rgb_uri(r.decoded[s]),
                x0=frames.rgb_uri(r.image if s == r.steps else r.x0_decoded[s]),
                cross_attention=r.cross_attention[k].round(4).tolist(), latent=r.latents[s].round(3).tolist())


def build(demo: gr.Blocks) -> None:
    explain(EXPLANATION)
    with gr.Row():
        prompt = gr.Textbox(label="Prompt", value=EXAMPLES[0][0], max_length=t2i.MAX_PROMPT_CHARS, scale=3)
        negative = gr.Textbox(label="Negative prompt (optional)", value="", max_length=t2i.MAX_PROMPT_CHARS, scale=2)
    with gr.Row():
        steps = gr.Slider(*t2i.STEP_RANGE, value=t2i.DEFAULT_STEPS, step=1, label="Steps")
        guidance = gr.Slider(0, t2i.MAX_GUIDANCE, value=t2i.DEFAULT_GUIDANCE, step=0.5, label="Guidance (0 = ignore the prompt)")
        seed = gr.Number(value=0, precision=0, minimum=0, maximum=t2i.MAX_SEED, label="Seed")
        n_images = gr.Slider(1, t2i.MAX_IMAGES, value=4, step=1, label="Images (seeds in a row)")
    with gr.Row():
        model = gr.Dropdown(choices=model_choices("text-to-image"), value=t2i.DEFAULT_MODEL, label="Model", scale=2)
        show_special = gr.Checkbox(value=False, label="Show [CLS]/[SEP] maps", scale=1)
        go = gr.Button("Generate", variant="primary", scale=1)
    gr.Examples(EXAMPLES, inputs=[prompt, negative, steps, guidance, seed], label="Examples (click one, then Generate)")
    link_inputs = {"prompt": prompt, "negative": negative, "steps": steps, "guidance": guidance, "seed": seed,
                   "n_images": n_images, "model": model, "show_special": show_special}
    links.copy_button("text_to_image", link_inputs)
    summary = gr.Markdown()
    tokens = gr.HTML(label="Tokens")
    gallery = gr.HTML(label="Final images")
    gr.Markdown("### Step by step: the latent, the decoded image, the guess, guidance and each word's map")
    steps_view = scrub_view("Steps of the run", elem_id="t2i-steps")
    gr.Markdown("### Which word shaped which pixels, over the whole run (DAAM)\nEach word's cross-attention summed "
                "over all steps, over the final image. Move Layer and Head to see that different heads read "
                "different words.")
    words_view = scrub_view("Words over the whole run", elem_id="t2i-words")
    gr.Markdown("### Self-attention between patches\nPick a patch (slider, or click the map): where does it look?")
    patches_view = scrub_view("Patch self-attention", elem_id="t2i-patches")

    with gr.Accordion("Change one word (same seed)", open=False):
        other = gr.Textbox(label="Second prompt", value="a blue 7 on a red background")
        swap_btn = gr.Button("Compare the two prompts")
        swap_out = gr.HTML()
    with gr.Accordion("Interpolate between two seeds or two prompts", open=False):
        with gr.Row():
            kind = gr.Radio(["two seeds", "two prompts"], value="two seeds", label="Between")
            other_seed = gr.Number(value=1, precision=0, minimum=0, maximum=t2i.MAX_SEED, label="Second seed")
            other_prompt = gr.Textbox(label="Second prompt", value="a yellow 1 on a purple background")
        interp_btn = gr.Button("Interpolate")
        interp_out = gr.HTML()
    with gr.Accordion("During training: the same prompt and seed through saved checkpoints", open=False):
        train_btn = gr.Button("Show the checkpoints")
        train_out = gr.HTML()
    with gr.Accordion("Why latents? Measured on this model", open=False):
        cost_btn = gr.Button("Measure the cost of one step")
        cost_out = gr.HTML()

    ev = dict(MODEL_EVENTS)
    inputs = [prompt, negative, steps, guidance, seed, n_images, model, show_special]
    outputs = [summary, tokens, gallery, steps_view, words_view, patches_view]
    go.click(run, inputs, outputs, api_name="text_to_image", **ev)
    links.register(demo, links.TabLink("text_to_image", run, link_inputs, outputs, ("step", "layer", "head", "patch")))
    prompt.submit(run, inputs, outputs, api_name="text_to_image_submit", **ev)
    swap_btn.click(swap, [prompt, other, steps, guidance, seed, negative, model], swap_out, api_name="t2i_swap", **ev)
    interp_btn.click(interpolate, [prompt, kind, other_seed, other_prompt, steps, guidance, seed, model], interp_out,
                     api_name="t2i_interpolate", **ev)
    cost_btn.click(costs, model, cost_out, api_name="t2i_costs", **ev)
    train_btn.click(during_training, [prompt, seed, steps, guidance, model], train_out, api_name="t2i_training", **ev)
    gr.api(friendly_errors(step_images), api_name="t2i_step")
