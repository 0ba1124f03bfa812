"""The "Same job, other family" tab: a transformer paints a digit, the job the article gives to
diffusion. Two ways of generating (one pixel token per pass; many per pass, MaskGIT) beside tiny-ddpm
on the same digit, measured. One run ships every pass; the sliders switch frames in the browser."""

from __future__ import annotations

import gradio as gr

from explainers import image_tokens, image_tokens_views
from store import STORE
from ui import links
from ui.common import MODEL_EVENTS, explain, friendly_errors, scrub_view, step_progress

EXPLANATION = """
**The article draws its line by job**: Transformers write text one token at a time; diffusion
models paint images by refining noise. Today that line is crossed from both sides: GPT-4o, Parti
and LlamaGen paint images with autoregressive transformers, MaskGIT paints by unmasking image tokens
in parallel, and masked-diffusion language models (LLaDA, Mercury, Gemini Diffusion) write text by
unmasking many tokens per step.

Here two small transformers, trained on this computer on the same handwritten digits as the
diffusion model (tiny-ddpm), paint a digit you pick. A digit is cut into 14 x 14 = 196 *tokens*,
each one of 4 grey levels:

- **Autoregressive**: one token per forward pass, left to right and top to bottom, each drawn from
  the model's distribution given every pixel before it: 196 passes, like a language model writing
  196 words.
- **MaskGIT**: every token starts masked; each pass predicts all of them at once and keeps only
  the ones it is surest of (few at first, more at the end): 12 passes for 196 tokens.
- **Diffusion** (tiny-ddpm, the Denoising tab): every pass refines the whole picture: 50 passes.

So what separates the families in the article's table? The rows about **data** (text vs images)
describe the *job*; the rows about **how the output is produced** (one piece per pass vs the whole
output refined over steps) describe the *mechanism*, and the mechanism is what you see here.
"""


def _views(digit, seed, progress=None):
    ar = image_tokens.generate(digit, "autoregressive", seed, progress=progress)
    mg = image_tokens.generate(digit, "maskgit", seed)
    d = image_tokens.diffusion_reference(digit, seed)
    key = (ar.digit, ar.seed)
    renders = {"summary": lambda: image_tokens_views.summary(ar, mg, d),
               "ar": lambda: image_tokens_views.paint_view(ar), "maskgit": lambda: image_tokens_views.paint_view(mg),
               "order": lambda: image_tokens_views.order_view(mg), "diffusion": lambda: image_tokens_views.diffusion_view(d)}
    return tuple(STORE.view("other_family", name, key, render) for name, render in renders.items())


@friendly_errors
def paint(digit: str, seed: int, progress=gr.Progress()):
    """Paint `digit` three ways: summary table, the autoregressive and MaskGIT scrubbers, MaskGIT's order
    map, tiny-ddpm's steps."""
    return _views(digit, seed, step_progress(progress, "painting, autoregressive", "passes"))


def build(demo: gr.Blocks) -> None:
    explain(EXPLANATION)
    gr.Markdown("## A transformer paints")
    with gr.Row():
        digit = gr.Dropdown([str(d) for d in range(10)], value="3", label="Digit to paint")
        seed = gr.Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
        go = gr.Button("Paint it three ways", variant="primary")
    gr.Examples([["3", 0], ["7", 1], ["0", 2], ["8", 3]], inputs=[digit, seed], label="Examples")
    link_inputs = {"digit": digit, "seed": seed}
    links.copy_button("other_family", link_inputs)
    summary = gr.Markdown(elem_id="paint-summary")
    with gr.Row():
        with gr.Column():
            ar = scrub_view("Autoregressive: one token per pass", elem_id="paint-ar")
        with gr.Column():
            mg = scrub_view("MaskGIT: many tokens per pass", elem_id="paint-maskgit")
            order = gr.HTML(label="MaskGIT: which pass decided each token", elem_id="paint-order")
        with gr.Column():
            diff = scrub_view("Diffusion (tiny-ddpm): the whole digit, refined", elem_id="paint-diffusion")
    with gr.Accordion("How often does each one paint the digit asked? (measured)", open=False):
        gr.Markdown(image_tokens_views.measured_table())
    outs = [summary, ar, mg, order, diff]
    go.click(paint, [digit, seed], outs, api_name="paint", **MODEL_EVENTS)
    links.register(demo, links.TabLink("other_family", paint, link_inputs, outs, ("pixel_pass", "unmasking_pass", "step")))
