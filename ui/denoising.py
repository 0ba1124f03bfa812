"""The Denoising tab: a prompt picks a digit, the model turns pure noise into it step by step;
a slider scrubs through the steps (x_t, predicted noise, predicted clean image, guidance)."""

from __future__ import annotations

import gradio as gr

from explainers import denoising, denoising_checkpoints, diffusion_views
from explainers.charts import plain
from explainers.text_input import check_number
from store import STORE
from ui import links
from ui.common import MODEL_EVENTS, explain, friendly_errors, model_choices, scrub_view, step_progress

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

**The prompt and guidance.** A prompt that names one digit ("a bold 3") gets it; any other is
matched to the digit whose description a sentence encoder (minilm) finds closest. The network
predicts the noise twice per step, once without the label and once with it. *Guidance* scales
their difference: 0 ignores the label, 1 uses the plain conditional prediction, above 1 pushes
further towards "what makes it a 7" (clearer digits, less variety).
A prompt that matches no digit draws whatever digit the noise leads to.

**Press Denoise, then drag the Step slider** (or use the arrow keys, or Play): every step of the
run is already in the page. *During training* runs the same seed through the model as it was
after 0, 500 and 2,000 training steps and at the end.
"""


def _summary(r: denoising.DenoiseResult, asked_guidance: float) -> str:
    """What was actually drawn and the guidance actually used (which may differ from the slider)."""
    preds = "1 prediction" if not r.guided else "2 predictions"
    how = (f"{r.scheduler.upper()}, {r.steps} steps, guidance used {plain(r.guidance)}, seed {r.seed}, "
           f"{r.batch} image{'s' if r.batch > 1 else ''}: {r.steps} network calls ({preds} each), "
           f"sampling took {r.seconds:.1f} s" + (" in bfloat16" if r.precision == "bfloat16" else "") + (
               f" (in one batch with {r.shared_with} other request{'s' if r.shared_with > 1 else ''} that arrived "
               "at the same moment)." if r.shared_with else "."))
    if not r.conditional:
        return f"**{r.model} is unconditional**: it ignores the prompt and draws from its training distribution. {how}"
    if not r.prompt:
        return f"**No prompt**: the model drew without a label (unconditional), so any digit can appear. {how}"
    reason = denoising.label_reason(r.prompt, r.label, r.similarities)
    if r.label is None:
        unused = f" The guidance slider ({plain(asked_guidance)}) was not used." if asked_guidance else ""
        return (f"**No digit in** {r.prompt!r} ({reason}), so the model drew **without a label**: whatever "
                f"digit the noise led to.{unused} {how}")
    match = f"{r.prompt!r}: {reason}"
    if r.guidance == 0:
        return (f"**Guidance 0: the label is ignored.** {match}, but guidance 0 means the model drew without the "
                f"label, so the picture is whatever digit the noise led to (not necessarily the digit {r.label}). {how}")
    return f"**Drawing {diffusion_views.drawn_phrase(r)}**: {match}. {how}"



@friendly_errors
def check_denoise(prompt: str, steps: int, guidance: float, seed: int, scheduler: str, model: str, batch: int):
    """Refuse bad settings before anything runs: the message shows once, the last views stay."""
    denoising.settings(prompt, steps, guidance, seed, scheduler, model, batch)


def _answer(prompt, steps, guidance, seed, scheduler, model, batch, progress=None) -> tuple:
    """(summary, prompt-to-digit bars, the run's scrubber, None): the GIF slot is cleared (a GIF of an
    earlier run must not stay beside this one) and filled by `make_gif` when asked."""
    r = denoising.denoise(prompt, steps, guidance, seed, scheduler, model, batch, progress=progress)
    return (_summary(r, float(guidance)), diffusion_views.similarity_bars(r.prompt, r.label, r.similarities),
            diffusion_views.denoise_view(r), None)


@friendly_errors
def run_denoise(prompt: str, steps: int, guidance: float, seed: int, scheduler: str, model: str, batch: int,
                progress=gr.Progress()):
    """The whole run: a summary, the prompt-to-digit bars and every step in one scrubber (the fourth
    output, the GIF, is None: `denoise_gif` makes it)."""
    return _answer(prompt, steps, guidance, seed, scheduler, model, batch,
                   progress=step_progress(progress, "denoising", "steps"))


@friendly_errors
def make_gif(prompt: str, steps: int, guidance: float, seed: int, scheduler: str, model: str, batch: int,
             progress=gr.Progress()) -> str:
    """The run of these settings as an animated GIF (x_t | predicted x0, every step), made when asked.
    The run comes from the store when it was made (the model runs only for settings never run, or
    let go). Writing it with every run cost a class of 30 about 0.9 s at p95 (10 students on this tab,
    `python -m benchmarks --only classroom --classroom-client gradio_client`), for a file few download."""
    r = denoising.denoise(prompt, steps, guidance, seed, scheduler, model, batch,
                          progress=step_progress(progress, "denoising", "steps"))
    return diffusion_views.animation_gif(r)


@friendly_errors
def gif_of_shown_run(shown, prompt: str, steps: int, guidance: float, seed: int, scheduler: str, model: str,
                     batch: int, progress=gr.Progress()) -> str:
    """The button: the GIF of the run on screen. `shown` holds that run's settings (copied in the browser
    when its views arrived), so a slider moved since does not make a GIF of another run; with none
    (views opened by a link), the settings on the page are the run's."""
    settings = shown if shown else (prompt, steps, guidance, seed, scheduler, model, batch)
    return make_gif(*settings, progress=progress)


def prefill_examples() -> None:
    """Every listed example at the page's other defaults (tiny-ddpm, 1 image), run and rendered into the
    store once the models are warm (about 0.6 s each): a class pressing a listed example gets the stored
    answer instead of waiting for a run."""
    for prompt, steps, guidance, seed, scheduler in EXAMPLES:
        _answer(prompt, steps, guidance, seed, scheduler, denoising.DEFAULT_MODEL, 1)


@friendly_errors
def show_step(prompt: str, steps: int, guidance: float, seed: int, scheduler: str, model: str, batch: int,
              step: int, sample: int) -> dict:
    """One step of a run already made, for API clients (a lookup: never calls the model).
    Returns the caption, t, alpha-bar and x_t / predicted noise / predicted x0 as PNG data URIs."""
    r = denoising.lookup(prompt, steps, guidance, seed, scheduler, model, batch)
    step = check_number(step, "step", 0, r.steps, integer=True)
    sample = check_number(sample, "sample", 0, r.batch - 1, integer=True)
    return diffusion_views.step_data(r, step, sample)


@friendly_errors
def run_training(prompt: str, steps: int, guidance: float, seed: int, scheduler: str, model: str,
                 progress=gr.Progress()):
    """The same seed through tiny-ddpm's training checkpoints."""
    progress(0.1, desc="one run per checkpoint")
    return diffusion_views.training_view(denoising_checkpoints.through_training(prompt, steps, guidance, seed, scheduler, model))


def step_limits(scheduler: str):
    lo, hi = denoising.STEP_LIMITS.get(scheduler, denoising.STEP_LIMITS["ddim"])
    return gr.update(minimum=lo, maximum=hi, value=50 if scheduler == "ddim" else hi)


def refresh_models():
    return gr.update(choices=model_choices("diffusion", check_network=True))


def build(demo: gr.Blocks) -> None:
    STORE.after_warm(prefill_examples)
    explain(EXPLANATION)
    with gr.Row():
        prompt = gr.Textbox(label="Prompt (a digit, in words or figures)", value=EXAMPLES[0][0],
                            max_length=denoising.MAX_PROMPT_CHARS, scale=3)
        model = gr.Dropdown(choices=model_choices("diffusion"), value=denoising.DEFAULT_MODEL, label="Model", scale=2)
    with gr.Row():
        steps = gr.Slider(10, 250, value=50, step=1, label="Steps")
        guidance = gr.Slider(0, denoising.MAX_GUIDANCE, value=3.0, step=0.5, label="Guidance (0 = ignore the label)")
        scheduler = gr.Radio(list(denoising.SCHEDULERS), value="ddim", label="Sampler")
        seed = gr.Number(value=0, precision=0, minimum=0, maximum=denoising.MAX_SEED, label="Seed")
        batch = gr.Slider(1, denoising.MAX_BATCH, value=1, step=1, label="Images")
    run = gr.Button("Denoise", variant="primary")
    link_inputs = {"prompt": prompt, "steps": steps, "guidance": guidance, "seed": seed, "scheduler": scheduler,
                   "model": model, "batch": batch}
    links.copy_button("denoising", link_inputs)
    gr.Examples(EXAMPLES, inputs=[prompt, steps, guidance, seed, scheduler],
                label="Examples (click one, then 'Denoise')")
    summary = gr.Markdown()
    view = scrub_view("The run, step by step", elem_id="denoise-view")
    with gr.Row():
        sims = gr.HTML(label="Prompt -> digit", elem_id="denoise-sims")
        with gr.Column():
            gif_btn = gr.Button("Make a GIF of the run", size="sm")
            gif = gr.File(label="Animation of the whole run (GIF)", elem_id="denoise-gif")
            gif_api = gr.Button(visible=False)  # the `denoise_gif` endpoint: a GIF of any settings
    # The settings of the run pressed (asked) and of the run on screen (shown), copied in the browser.
    # Hidden components, not gr.State: a State keeps a heartbeat connection open for the page's life.
    asked, shown = gr.JSON(value=None, visible=False), gr.JSON(value=None, visible=False)
    gr.Markdown("### During training\nThe same seed and settings through the model as it was while it learned: "
                "random weights draw noise, a few hundred steps draw blobs, later ones draw digits.")
    train_btn = gr.Button("Show the same seed during training (4 runs)")
    train_view = gr.HTML(elem_id="denoise-training")

    ev = dict(MODEL_EVENTS)
    settings = [prompt, steps, guidance, seed, scheduler, model, batch]
    outs = [summary, sims, view, gif]
    # A quick check first: bad settings show their message once and the last good views stay. Through the
    # queue: Gradio 6.31 shows no message for an error in a queue=False event (the page got a bare 500).
    remember = dict(js="(...settings) => [settings]", api_name=False, queue=False)  # in the browser only
    for trigger, name in ((run.click, "denoise"), (prompt.submit, "denoise_submit")):
        trigger(None, settings, asked, **remember)
        trigger(check_denoise, settings, None, api_name=f"{name}_check", show_progress="hidden").success(
            run_denoise, settings, outs, api_name=name, **ev).success(None, asked, shown, **dict(remember, js="(a) => [a]"))
    gif_btn.click(gif_of_shown_run, [shown, *settings], gif, api_name=False, **ev)
    gif_api.click(check_denoise, settings, None, api_name="denoise_gif_check", show_progress="hidden").success(
        make_gif, settings, gif, api_name="denoise_gif", **ev)
    train_btn.click(run_training, settings[:-1], train_view, api_name="denoise_training", **ev)
    gr.api(show_step, api_name="denoise_step", concurrency_id="lookup", concurrency_limit=4)
    scheduler.change(step_limits, scheduler, steps, api_name="denoise_step_limits")
    demo.load(refresh_models, None, model, api_name="denoise_models")
    links.register(demo, links.TabLink("denoising", run_denoise, link_inputs, outs, ("step", "image")))
