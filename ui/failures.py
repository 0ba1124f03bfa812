"""The "When it fails" tab: a transformer confident and wrong, measured on the text on screen
(calibration: a reliability diagram and the ECE) and in a continuation (confidence per token, and
which stretches it had seen in training)."""

from __future__ import annotations

import gradio as gr

from explainers import failures, failures_views, t2i_failures, t2i_failures_views
from models.t2i_reader import NAMES
from store import STORE
from ui import links
from ui.common import MODEL_EVENTS, explain, friendly_errors

EXPLANATION = """
**Transformers hallucinate; diffusion models make artifacts.** Both failures come from what the
models are: a language model writes what is *likely* after the text, not what is *true*; nothing in it
checks. This tab measures how that looks in tiny-gpt.

**Confident and wrong (calibration).** At every position of your text the model makes a top-1 guess
of the next token, with a probability. Group the guesses by that probability: if the model is well
calibrated, the guesses it makes 70% sure are right 70% of the time. The bars show how often each
group was right; the dashed diagonal is perfect calibration; orange is the gap. The **expected
calibration error (ECE)** is the average gap, weighted by how many guesses fall in each group.
The default text is the start of *Hamlet*, a play tiny-gpt never saw; paste any text.

**Made up vs remembered.** A continuation, each token shaded by how sure the model was, and
underlined by whether that stretch of the text appears in its training plays or was put together
anew. Asked something it cannot know, it still answers fluently.
"""


DIFFUSION_EXPLANATION = """
**A diffusion model: artifacts and prompt sensitivity.** tiny-t2i has no words of its own: it reads
the prompt through a frozen text encoder, and the same meaning in other words is a different point in
that encoder's space. Say one meaning eight ways and see whether the pictures agree. Then draw many
seeds of one prompt and let two readers score every picture (the ViT's confidence in the digit, the
distance of the colours from the ones asked): the worst pictures are the artifacts, found by
measurement rather than by eye, and the guidance scale moves how many there are.
"""

EXCITE_EXPLANATION = """
**Fixing one failure through cross-attention (Attend-and-Excite, Chefer et al. 2023).** When a
picture leaves out something the prompt asked for, that word's cross-attention map is usually weak:
no patch attends to it much. Attend-and-Excite changes nothing in the model. For the first half of
the steps, before each denoising step it measures the weakest word's peak attention (the largest
value over the patches), and nudges the noisy latent one gradient step in the direction that raises
it; then the step runs as usual. Leave the words empty to excite the *neglected* one: of the digit
and colour words, the one the plain run attends to least.
"""


@friendly_errors
def run_calibration(text: str, bins: int = 10):
    """Reliability diagram (with its table) and the summary, for tiny-gpt on `text`."""
    c = failures.calibration(text, "tiny-gpt", bins)
    return failures_views.calibration_summary(c), failures_views.calibration_view(c)


@friendly_errors
def run_remembered(prompt: str, seed: int = 0):
    """tiny-gpt continues `prompt` (40 tokens, temperature 0.8): confidence per token, seen vs invented."""
    r = failures.remembered(prompt, 40, 0.8, seed)
    return failures_views.remembered_summary(r), failures_views.remembered_view(r)


@friendly_errors
def run_paraphrases(digit: str, colour: str, background: str, t2i_seed: int = 0):
    """One meaning said eight ways from one seed: the pictures, their readings, and how often they agree."""
    p = t2i_failures.paraphrases(digit, colour, background, t2i_seed)
    return STORE.view("failures", "paraphrases", (p.meaning, p.seed), lambda: t2i_failures_views.paraphrase_view(p))


@friendly_errors
def run_artifacts(digit: str, colour: str, background: str, guidance: float = 3.0):
    """Twelve seeds of one prompt at `guidance`: the artifact rate and the four worst pictures with their scores."""
    a = t2i_failures.artifacts(digit, colour, background, guidance, 12)
    return STORE.view("failures", "artifacts", (a.meaning, a.guidance, a.seeds), lambda: t2i_failures_views.artifact_view(a))


@friendly_errors
def run_out_of_world(world_prompt: str, t2i_seed: int = 0):
    """What tiny-t2i draws for a prompt outside its training, four seeds, with the words it never saw."""
    o = t2i_failures.out_of_world(world_prompt, t2i_seed)
    return STORE.view("failures", "out_of_world", (o.prompt, o.seed), lambda: t2i_failures_views.out_of_world_view(o))


@friendly_errors
def run_excite(excite_prompt: str, excite: str = "", excite_seed: int = 0):
    """Attend-and-Excite: summary and the plain vs excited pictures, maps and peak attentions. `excite`:
    comma-separated prompt words (empty: the neglected digit or colour word)."""
    c = t2i_failures.excite_compare(excite_prompt, excite or None, excite_seed)
    key = (c.prompt, c.excited, c.seed)
    return (STORE.view("failures", "excite_summary", key, lambda: t2i_failures_views.excite_summary(c)),
            STORE.view("failures", "excite", key, lambda: t2i_failures_views.excite_view(c)))


@friendly_errors
def open_link(prompt: str, seed: int, digit: str, colour: str, background: str, t2i_seed: int, guidance: float,
              world_prompt: str, excite_prompt: str, excite: str = "", excite_seed: int = 0):
    """A link to the tab runs every section with the link's settings (the others at their defaults)."""
    return (*run_remembered(prompt, seed), run_paraphrases(digit, colour, background, t2i_seed),
            run_artifacts(digit, colour, background, guidance), run_out_of_world(world_prompt, t2i_seed),
            *run_excite(excite_prompt, excite, excite_seed))


def _diffusion_section():
    gr.Markdown("## A diffusion model: artifacts and prompt sensitivity")
    explain(DIFFUSION_EXPLANATION)
    with gr.Row():
        digit = gr.Dropdown([str(d) for d in range(10)], value="4", label="Digit")
        colour = gr.Dropdown(NAMES, value="green", label="Digit colour")
        background = gr.Dropdown(NAMES, value="black", label="Background")
        t2i_seed = gr.Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
    with gr.Row():
        say = gr.Button("Say it eight ways", variant="primary")
        guidance = gr.Slider(0, 12, value=3, step=0.5, label="Guidance scale (for the seeds)")
        draw = gr.Button("Draw twelve seeds and score them")
    para = gr.HTML(elem_id="paraphrase-view")
    arts = gr.HTML(elem_id="artifact-view")
    with gr.Accordion("Artifacts against guidance, measured", open=False):
        gr.HTML(t2i_failures_views.guidance_curve())
    gr.Markdown("### Out of its world")
    with gr.Row():
        world = gr.Textbox(value=t2i_failures.OUT_OF_WORLD[1], label="A prompt it was never trained for", scale=4)
        world_go = gr.Button("Draw it")
    gr.Examples([[p] for p in t2i_failures.OUT_OF_WORLD], inputs=world, label="Prompts from outside its world")
    world_view = gr.HTML(elem_id="out-of-world-view")
    say.click(run_paraphrases, [digit, colour, background, t2i_seed], para, api_name="paraphrases", **MODEL_EVENTS)
    draw.click(run_artifacts, [digit, colour, background, guidance], arts, api_name="artifacts", **MODEL_EVENTS)
    world_go.click(run_out_of_world, [world, t2i_seed], world_view, api_name="out_of_world", **MODEL_EVENTS)
    return (dict(digit=digit, colour=colour, background=background, t2i_seed=t2i_seed, guidance=guidance,
                 world_prompt=world), [para, arts, world_view])


def _excite_section():
    gr.Markdown("## Fixing one failure through cross-attention")
    explain(EXCITE_EXPLANATION)
    with gr.Row():
        prompt = gr.Textbox(value=t2i_failures.LESSON_PROMPT, label="Prompt", scale=4, max_length=500)
        words = gr.Textbox(value="", label="Words to excite (comma-separated; empty: the neglected one)", scale=2)
        seed = gr.Number(value=t2i_failures.LESSON_SEED, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
        go = gr.Button("Excite", variant="primary")
    summary = gr.Markdown(elem_id="excite-summary")
    view = gr.HTML(elem_id="excite-view")
    with gr.Accordion("Does it help here? (measured)", open=False):
        gr.Markdown(t2i_failures_views.excite_table())
    go.click(run_excite, [prompt, words, seed], [summary, view], api_name="excite", **MODEL_EVENTS)
    return dict(excite_prompt=prompt, excite=words, excite_seed=seed), [summary, view]


def build(demo: gr.Blocks) -> None:
    explain(EXPLANATION)
    gr.Markdown("## A transformer: confident and wrong")
    with gr.Row():
        text = gr.Textbox(label="Text to measure on (any text)", value=failures.sample_text(), lines=6, scale=4,
                          max_length=10_000)
        with gr.Column(scale=1):
            bins = gr.Slider(5, 20, value=10, step=1, label="Confidence bins")
            go = gr.Button("Measure calibration", variant="primary")
    cal_summary = gr.Markdown(elem_id="calibration-summary")
    cal_view = gr.HTML(elem_id="calibration-view")
    with gr.Row():
        prompt = gr.Textbox(label="Prompt for tiny-gpt", value=failures.PROMPTS[0], scale=4)
        seed = gr.Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
        write = gr.Button("Continue it")
    gr.Examples([[p] for p in failures.PROMPTS], inputs=prompt, label="Prompts")
    rem_summary = gr.Markdown(elem_id="remembered-summary")
    rem_view = gr.HTML(elem_id="remembered-view", css_template=failures_views.CSS)
    go.click(run_calibration, [text, bins], [cal_summary, cal_view], api_name="calibration", **MODEL_EVENTS)
    write.click(run_remembered, [prompt, seed], [rem_summary, rem_view], api_name="remembered", **MODEL_EVENTS)
    diffusion_inputs, diffusion_outs = _diffusion_section()
    excite_inputs, excite_outs = _excite_section()
    link_inputs = {"prompt": prompt, "seed": seed, **diffusion_inputs, **excite_inputs}
    links.copy_button("failures", link_inputs)
    links.register(demo, links.TabLink("failures", open_link, link_inputs,
                                       [rem_summary, rem_view, *diffusion_outs, *excite_outs]))
