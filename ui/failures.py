"""The "When it fails" tab: a transformer confident and wrong, measured on the text on screen
(calibration: a reliability diagram and the ECE) and in a continuation (confidence per token, and
which stretches it had seen in training)."""

from __future__ import annotations

import gradio as gr

from explainers import failures, failures_views
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
    links.copy_button("failures", {"prompt": prompt, "seed": seed})
    go.click(run_calibration, [text, bins], [cal_summary, cal_view], api_name="calibration", **MODEL_EVENTS)
    write.click(run_remembered, [prompt, seed], [rem_summary, rem_view], api_name="remembered", **MODEL_EVENTS)
    links.register(demo, links.TabLink("failures", run_remembered, {"prompt": prompt, "seed": seed},
                                       [rem_summary, rem_view]))
