"""The Denoising tab: a prompt picks a digit, the model turns pure noise into it step by step;
a slider scrubs through the steps (x_t, predicted noise, predicted clean image, guidance)."""

from __future__ import annotations

import gradio as gr

from explainers import denoising, diffusion_views
from explainers.text_input import check_number
from ui.common import explain, friendly_errors, model_choices

EXAMPLES = [
    ["a handwritten 7", 50, 3.0, 0, "ddim"],
    ["the number 3", 50, 3.0, 1, "ddim"],
    ["draw a zero", 50, 1.0, 2, "ddim"],
    ["seven", 50, 0.0, 0, "ddim"],
    ["a photo of a cat", 50, 3.0, 0, "ddim"],
]

EXPLANATION = """
**Start from noise.** The picture at step 0 is pure random noise: every pixel drawn from a bell
curve. Nothing of a digit is in it yet.

**One step.** At every step the network looks at the noisy image *x_t* and the step number *t*
and predicts the noise it contains (middle picture, grey = no noise). Subtracting all of that
noise at once gives its current *guess of the clean image*, x0 (right). Early guesses are blurry
averages of many digits; late ones are sharp.

**Why many small steps?** From pure noise the guess is poor, so the sampler only moves a little
way towards it, adds back a smaller amount of noise, and asks again. Each step removes some noise
and commits to a bit more structure: first the rough blob, then strokes, then edges. DDIM can skip
timesteps (50 steps instead of 1000); DDPM walks all of them and adds fresh randomness each step.

**The prompt and guidance.** The prompt is matched to one of the ten digits with a sentence
encoder (minilm). The network predicts the noise twice per step, once without the label and once
with it. *Guidance* scales their difference: 0 ignores the label, 1 uses the plain conditional
prediction, above 1 pushes further towards "what makes it a 7" (clearer digits, less variety).
A prompt that names no digit draws whatever digit the noise leads to.
"""


def _summary(r: denoising.DenoiseResult) -> str:
    evals = 2 if r.guided else 1
    how = (f"{r.scheduler.upper()}, {r.steps} steps, guidance {r.guidance:g}, seed {r.seed}, batch {r.batch}: "
           f"{r.steps} network calls ({evals} predictions each), sampling took {r.seconds:.1f} s.")
    if not r.conditional:
        return f"**{r.model} is unconditional**: it ignores the prompt and draws from its training distribution. {how}"
    if not r.prompt:
        return f"**No prompt**: the model drew without a label (unconditional). {how}"
    if r.label is None:
        best = int(r.similarities.argmax())
        return (f"**No digit clearly matches** {r.prompt!r} (closest: {best}, similarity "
                f"{r.similarities[best]:.2f}; needs {denoising.THRESHOLD} and a {denoising.MARGIN} lead), so the "
                f"model drew **without a label**: whatever digit the noise led to. {how}")
    return (f"**Drawing a {r.label}**: {r.prompt!r} is closest to '{denoising.DIGIT_WORDS[r.label]}' "
            f"(similarity {r.similarities[r.label]:.2f}). {how}")


def _step_caption(r: denoising.DenoiseResult, step: int) -> str:
    info = denoising.step_info(r, step)
    if info["final"]:
        return f"**Step {step} of {r.steps}: done.** Left: the final image. Middle and right: the last step's predictions."
    ab = info["alpha_bar"]
    return (f"**Step {step} of {r.steps}, t = {info['t']}.** The scheduler treats x_t as {ab ** 0.5:.2f} x image + "
            f"{(1 - ab) ** 0.5:.2f} x noise (signal-to-noise ratio {info['snr']:.2g}). The network predicts the "
            "noise (middle); removing it gives the guess of the clean image (right); the step moves x_t a little "
            "towards that guess.")


@friendly_errors
def run_denoise(prompt: str, steps: int, guidance: float, seed: int, scheduler: str, model: str, batch: int,
                progress=gr.Progress()):
    r = denoising.denoise(prompt, steps, guidance, seed, scheduler, model, batch,
                          progress=lambda i, n: progress((i, n), desc="denoising", unit="steps"))
    return (_summary(r), diffusion_views.similarity_bars(r.prompt, r.label, r.similarities),
            diffusion_views.filmstrip(r), gr.update(maximum=r.steps, value=r.steps),
            gr.update(maximum=max(1, r.batch - 1), value=0, interactive=r.batch > 1),
            diffusion_views.animation_gif(r))


@friendly_errors
def show_step(prompt: str, steps: int, guidance: float, seed: int, scheduler: str, model: str, batch: int,
              step: int, sample: int):
    """A lookup in the cached run: never calls the model."""
    r = denoising.lookup(prompt, steps, guidance, seed, scheduler, model, batch)
    step = check_number(step, "step", 0, r.steps, integer=True)
    sample = min(check_number(sample, "sample", 0, denoising.MAX_BATCH - 1, integer=True), r.batch - 1)
    info = denoising.step_info(r, step)
    return (_step_caption(r, step), diffusion_views.step_view(r, step, sample),
            diffusion_views.schedule_plot(r.alphas_cumprod, info["t"]),
            diffusion_views.guidance_panel(r, step, sample))


def step_limits(scheduler: str):
    lo, hi = denoising.STEP_LIMITS.get(scheduler, denoising.STEP_LIMITS["ddim"])
    return gr.update(minimum=lo, maximum=hi, value=50 if scheduler == "ddim" else hi)


def refresh_models():
    return gr.update(choices=model_choices("diffusion", check_network=True))


def build(demo: gr.Blocks) -> None:
    explain(EXPLANATION)
    with gr.Row():
        prompt = gr.Textbox(label="Prompt (a digit, in words or figures)", value=EXAMPLES[0][0],
                            max_length=denoising.MAX_PROMPT_CHARS, scale=3)
        model = gr.Dropdown(choices=model_choices("diffusion"), value="tiny-ddpm", label="Model", scale=2)
    with gr.Row():
        steps = gr.Slider(10, 250, value=50, step=1, label="Steps")
        guidance = gr.Slider(0, denoising.MAX_GUIDANCE, value=3.0, step=0.5, label="Guidance (0 = ignore the label)")
        scheduler = gr.Radio(list(denoising.SCHEDULERS), value="ddim", label="Sampler")
        seed = gr.Number(value=0, precision=0, minimum=0, maximum=denoising.MAX_SEED, label="Seed")
        batch = gr.Slider(1, denoising.MAX_BATCH, value=1, step=1, label="Images")
    run = gr.Button("Denoise", variant="primary")
    gr.Examples(EXAMPLES, inputs=[prompt, steps, guidance, seed, scheduler],
                label="Examples (click one, then 'Denoise')")
    summary = gr.Markdown()
    film = gr.Plot(label="The run at a glance", show_label=False)
    with gr.Row():
        step = gr.Slider(0, 50, value=50, step=1, label="Step (0 = pure noise)", scale=4)
        sample = gr.Slider(0, 1, value=0, step=1, label="Image of the batch", interactive=False, scale=1)
    caption = gr.Markdown()
    view = gr.Plot(label="x_t, predicted noise, predicted clean image", show_label=False)
    with gr.Row():
        schedule = gr.Plot(label="Noise schedule", show_label=False)
        guide = gr.Plot(label="Guidance at this step", show_label=False)
    with gr.Row():
        sims = gr.Plot(label="Prompt -> digit", show_label=False)
        gif = gr.File(label="Animation of the whole run (GIF)")

    ev = dict(concurrency_id="cpu_model", concurrency_limit=2)  # model runs: at most two at once on a small CPU
    lookup = dict(concurrency_id="lookup", concurrency_limit=4)  # slider moves: cached, never queue behind a model
    settings = [prompt, steps, guidance, seed, scheduler, model, batch]
    step_outs = [caption, view, schedule, guide]
    run.click(run_denoise, settings, [summary, sims, film, step, sample, gif], api_name="denoise", **ev).then(
        show_step, settings + [step, sample], step_outs, api_name="denoise_step_after_run", **lookup)
    prompt.submit(run_denoise, settings, [summary, sims, film, step, sample, gif], api_name="denoise_submit",
                  **ev).then(show_step, settings + [step, sample], step_outs, api_name="denoise_step_after_submit", **lookup)
    step.change(show_step, settings + [step, sample], step_outs, api_name="denoise_step", trigger_mode="always_last",
                **lookup)
    sample.change(show_step, settings + [step, sample], step_outs, api_name="denoise_sample",
                  trigger_mode="always_last", **lookup)
    scheduler.change(step_limits, scheduler, steps, api_name="denoise_step_limits")
    demo.load(refresh_models, None, model, api_name="denoise_models")
