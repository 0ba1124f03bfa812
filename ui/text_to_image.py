"""The Text to image tab: a prompt -> minilm tokens -> a latent diffusion transformer that reads them
through cross-attention -> the autoencoder's decoder. One run ships every step's views; the
sliders switch between them in the browser."""

from __future__ import annotations

import gradio as gr

from explainers import sd_timing, t2i_comparisons
from explainers import text_to_image as t2i
from explainers import text_to_image_views as views
from explainers.catalog import model_choices
from store import STORE
from ui import links
from ui.common import MODEL_EVENTS, explain, friendly_errors, scrub_view, step_progress

EXAMPLES = [
    ["a red 7 on a blue background", "", 25, t2i.DEFAULT_GUIDANCE, 0],
    ["a tiny white 3 at the bottom on a black background", "", 25, t2i.DEFAULT_GUIDANCE, 1],
    ["a white 2 on green", "", 25, t2i.DEFAULT_GUIDANCE, 2],
    ["please paint the numeral 4 orange atop a purple backdrop", "", 25, t2i.DEFAULT_GUIDANCE, 3],
    ["a purple 5 on a white background", "", 25, t2i.DEFAULT_GUIDANCE, 4],
    ["a large 8", "", 25, t2i.DEFAULT_GUIDANCE, 5],
    ["a 6 on a green background", "green", 25, t2i.DEFAULT_GUIDANCE, 6],  # seeds 6-13: no digit green or lost (2 of 8 without)
    ["", "", 25, t2i.DEFAULT_GUIDANCE, 7],
]

EXPLANATION = """
This is how **Stable Diffusion, DALL-E and PixArt** turn words into pictures, in miniature, running
live on this computer (a model trained here on coloured digits: it knows digits, eight colours,
sizes and positions).

1. **Text to vectors.** A text transformer (minilm, the same one as on the Attention tab) turns
   the prompt into one vector per token (the chips below). The image model never sees letters,
   only these vectors. A size or colour word it never learned ("wee", "jumbo", "crimson", "navy") is
   first looked up in WordNet, a dictionary of word senses, and read as the word it learned for that
   meaning ("small", "large", "red", "blue"; DALL-E 3 rewrites prompts too); the page says when it did.
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
white", "a massive blue 2 in the upper part of a yellow picture"); ask for a combination it never
saw in training (a purple 5: see the model card).
"""


def settings_and_run(prompt, negative, steps, guidance, seed, n_images, model, progress=None):
    """Validated settings and their run (from the store, or computed once)."""
    s = t2i.validate(prompt, steps, guidance, seed, negative, model, n_images)
    return s, t2i.run(s, progress)


def rendered_views(s, r, show_special: bool, names: tuple[str, ...]) -> list[str]:
    skip = not show_special
    renders = {"summary": lambda: views.summary(r), "tokens": lambda: views.tokens_html(r), "gallery": lambda: views.gallery(r),
               "steps": lambda: views.step_view(r, skip), "words": lambda: views.words_view(r, skip),
               "patches": lambda: views.patches_view(r)}
    return [STORE.view("text_to_image", name, (s, skip), renders[name]) for name in names]


FIRST = ("summary", "tokens", "gallery", "steps")  # what the first answer carries; the rest come when opened


def prefill_examples() -> None:
    """Every example at the page's other defaults, run and its first answer rendered into the store once
    the models are warm (about a second each): a class pressing the page's first prompt or a listed
    example gets the stored answer."""
    for prompt, negative, steps, guidance, seed in EXAMPLES:
        s, r = settings_and_run(prompt, negative, steps, guidance, seed, t2i.DEFAULT_IMAGES, t2i.DEFAULT_MODEL)
        rendered_views(s, r, False, FIRST)


@friendly_errors
def run(prompt, negative, steps, guidance, seed, n_images, model, show_special, words_open=False, patches_open=False,
        progress=gr.Progress()):
    """The first answer: summary, tokens, gallery and the step view; the two heavy sub-views only if
    their sections are open (else emptied: they are drawn from the stored run when opened)."""
    if msg := sd_timing.time_warning(model, steps, n_images):  # a Hub Stable Diffusion model on a CPU
        gr.Warning(msg)
    s, r = settings_and_run(prompt, negative, steps, guidance, seed, n_images, model,
                            progress=step_progress(progress, "denoising", "steps"))
    subviews = [rendered_views(s, r, show_special, (name,))[0] if is_open else ""
                for name, is_open in (("words", words_open), ("patches", patches_open))]
    return (*rendered_views(s, r, show_special, FIRST), *subviews)


@friendly_errors
def run_with_subviews(prompt, negative, steps, guidance, seed, n_images, model, show_special,
                      progress=gr.Progress()):
    """A link that sets a sub-view's slider (layer, head, patch) opens with every view drawn."""
    s, r = settings_and_run(prompt, negative, steps, guidance, seed, n_images, model,
                            progress=step_progress(progress, "denoising", "steps"))
    return tuple(rendered_views(s, r, show_special, (*FIRST, "words", "patches")))


@friendly_errors
def words(prompt, negative, steps, guidance, seed, n_images, model, show_special):
    """Each word's map summed over the run, per layer and head (the run from the store)."""
    s, r = settings_and_run(prompt, negative, steps, guidance, seed, n_images, model)
    return rendered_views(s, r, show_special, ("words",))[0]


@friendly_errors
def patches(prompt, negative, steps, guidance, seed, n_images, model, show_special):
    """Where each latent patch looks at each step (the run from the store)."""
    s, r = settings_and_run(prompt, negative, steps, guidance, seed, n_images, model)
    return rendered_views(s, r, show_special, ("patches",))[0]


@friendly_errors
def swap(prompt, other, steps, guidance, seed, negative, model):
    other = t2i.check_second_prompt(other, "a blue 7 on a red background")
    a = t2i.generate(prompt, steps, guidance, seed, negative, model)
    b = t2i.generate(other, steps, guidance, seed, negative, model)
    return views.swap_view(a, b)


@friendly_errors
def interpolate(prompt, kind, other_seed, other_prompt, steps, guidance, seed, model):
    if kind == "two prompts":
        other_prompt = t2i.check_second_prompt(other_prompt, "a yellow 1 on a purple background")
        it = t2i_comparisons.interpolate(prompt, seed, other_prompt=other_prompt, steps=steps, guidance=guidance, model=model)
    else:
        it = t2i_comparisons.interpolate(prompt, seed, other_seed=other_seed, steps=steps, guidance=guidance, model=model)
    return views.interpolation_view(it)


@friendly_errors
def costs(model):
    return views.costs_table(t2i_comparisons.latent_costs(model))


@friendly_errors
def during_training(prompt, seed, steps, guidance, model):
    s = t2i.validate(prompt, steps, guidance, seed, "", model)
    return views.training_view(t2i_comparisons.during_training(s.prompt, s.seed, s.steps, s.guidance, s.model))


def step_images(prompt: str, steps: int, guidance: float, seed: int, negative_prompt: str, model: str,
                step: int) -> dict:
    """One step of a run (computed once, stored) for API users: images as PNG data URIs and the
    per-token cross-attention as nested lists (tokens x 8 x 8)."""
    return views.step_data(t2i.generate(prompt, steps, guidance, seed, negative_prompt, model), step)


def build(demo: gr.Blocks) -> None:
    STORE.after_warm(prefill_examples)
    explain(EXPLANATION)
    with gr.Row():
        prompt = gr.Textbox(label="Prompt", value=EXAMPLES[0][0], max_length=t2i.MAX_PROMPT_CHARS, scale=3)
        negative = gr.Textbox(label="Negative prompt (optional)", value="", max_length=t2i.MAX_PROMPT_CHARS, scale=2)
    with gr.Row():
        steps = gr.Slider(*t2i.STEP_RANGE, value=t2i.DEFAULT_STEPS, step=1, label="Steps")
        guidance = gr.Slider(0, t2i.MAX_GUIDANCE, value=t2i.DEFAULT_GUIDANCE, step=0.5, label="Guidance (0 = ignore the prompt)")
        seed = gr.Number(value=0, precision=0, minimum=0, maximum=t2i.MAX_SEED, label="Seed")
        n_images = gr.Slider(1, t2i.MAX_IMAGES, value=t2i.DEFAULT_IMAGES, step=1, label="Images (seeds in a row)")
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
    with gr.Accordion("Which word shaped which pixels, over the whole run (DAAM)", open=False) as words_section:
        gr.Markdown("Each word's cross-attention summed over all steps, over the final image. Move Layer and Head "
                    "to see that different heads read different words.")
        words_view = scrub_view("Words over the whole run", elem_id="t2i-words")
    with gr.Accordion("Self-attention between patches", open=False) as patches_section:
        gr.Markdown("Pick a patch (slider, or click the map): where does it look?")
        patches_view = scrub_view("Patch self-attention", elem_id="t2i-patches")
    # whether each section is open (a run refreshes only open ones). Hidden components, not gr.State:
    # a State keeps a heartbeat connection open for the page's whole life (never network-idle).
    words_open, patches_open = gr.Checkbox(False, visible=False), gr.Checkbox(False, visible=False)

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
    for trigger, name in ((go.click, "text_to_image"), (prompt.submit, "text_to_image_submit")):
        trigger(run, [*inputs, words_open, patches_open], outputs, api_name=name, **ev)
    for section, flag, fn, view, name in ((words_section, words_open, words, words_view, "t2i_words"),
                                          (patches_section, patches_open, patches, patches_view, "t2i_patches")):
        section.expand(None, None, flag, js="() => true", api_name=False)  # in the browser: no server call
        section.collapse(None, None, flag, js="() => false", api_name=False)
        section.expand(fn, inputs, view, api_name=name, **ev)
    links.register(demo, links.TabLink("text_to_image", run_with_subviews, link_inputs, outputs,
                                       ("step", "layer", "head", "patch")))
    swap_btn.click(swap, [prompt, other, steps, guidance, seed, negative, model], swap_out, api_name="t2i_swap", **ev)
    interp_btn.click(interpolate, [prompt, kind, other_seed, other_prompt, steps, guidance, seed, model], interp_out,
                     api_name="t2i_interpolate", **ev)
    cost_btn.click(costs, model, cost_out, api_name="t2i_costs", **ev)
    train_btn.click(during_training, [prompt, seed, steps, guidance, model], train_out, api_name="t2i_training", **ev)
    gr.api(friendly_errors(step_images), api_name="t2i_step")
