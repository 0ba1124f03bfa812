"""The "Same job, other family" tab: a transformer paints a digit, the job the article gives to
diffusion. Two ways of generating (one pixel token per pass; many per pass, MaskGIT) beside tiny-ddpm
on the same digit, measured. One run ships every pass; the sliders switch frames in the browser."""

from __future__ import annotations

import gradio as gr

from explainers import image_tokens, image_tokens_views, text_diffusion, text_diffusion_views
from store import STORE
from ui import links
from ui.common import MODEL_EVENTS, explain, friendly_errors, scrub_view, step_progress

EXPLANATION = f"""
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
  the ones it is surest of (few at first, more at the end): {image_tokens.MASKGIT_PASSES} passes for 196 tokens,
  each with classifier-free guidance {image_tokens.MASKGIT_GUIDANCE:g}, as Muse does (the pass also runs with no
  digit asked, and the prediction is pushed away from that answer, as tiny-ddpm's guidance does).
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


TEXT_EXPLANATION = """
**Diffusion writes text.** tiny-diffusion-lm is tiny-gpt's own network (same tokens, same plays) with
the causal mask switched off and one extra token, MASK, trained as a *masked-diffusion* language model
(MDLM, LLaDA): hide a random fraction of the tokens, learn to guess them all at once. To write, it
starts from the prompt and a row of masks; each forward pass guesses every masked token and keeps
a few of its guesses (the rest are masked again), so 64 tokens can take 16 passes instead of 64. As
LLaDA does, it writes in blocks of 16 or more tokens, left to right, unmasking within each block.
Which guesses to keep? Big models keep the ones they are surest of; this small one is surest of line
breaks and names, so it keeps random ones (MDLM's order; LLaDA offers both). tiny-gpt writes the
same length beside it, one token per pass.
"""


def _text_views(prompt, length, steps, seed, progress=None):
    r = text_diffusion.generate(prompt, length, steps, seed, progress=progress)
    g = text_diffusion.autoregressive(prompt, length, seed)
    key = (r.prompt, r.length, r.passes, r.seed)
    renders = {"summary": lambda: text_diffusion_views.summary(r, g),
               "unmask": lambda: text_diffusion_views.unmask_view(r),
               "autoregressive": lambda: text_diffusion_views.autoregressive_view(g)}
    return tuple(STORE.view("other_family_text", name, key, render) for name, render in renders.items())


@friendly_errors
def write(prompt: str, length: int, steps: int, text_seed: int, progress=gr.Progress()):
    """Continue `prompt` with `length` tokens two ways: summary table, the diffusion model's unmasking
    scrubber (`steps` passes) and tiny-gpt's token-by-token scrubber."""
    return _text_views(prompt, length, steps, text_seed, step_progress(progress, "unmasking", "passes"))


@friendly_errors
def open_link(digit: str, seed: int, prompt: str, length: int, steps: int, text_seed: int, progress=gr.Progress()):
    """A link to the tab runs both sections with the link's settings (the others at their defaults)."""
    return (*_views(digit, seed, step_progress(progress, "painting, autoregressive", "passes")),
            *_text_views(prompt, length, steps, text_seed))


def _write_section():
    gr.Markdown("## Diffusion writes text")
    explain(TEXT_EXPLANATION)
    with gr.Row():
        prompt = gr.Textbox(value="ROMEO:\nBut soft, what light", lines=2, max_length=500, label="Prompt",
                            elem_id="write-prompt")
        with gr.Column():
            length = gr.Slider(4, text_diffusion.MAX_LENGTH, value=64, step=1, label="Length (new tokens)")
            steps = gr.Slider(1, text_diffusion.MAX_LENGTH, value=16, step=1,
                              label="Unmasking steps (forward passes; at most the length)")
        with gr.Column():
            text_seed = gr.Number(value=0, precision=0, minimum=0, maximum=text_diffusion.MAX_SEED, label="Seed")
            go = gr.Button("Write it both ways", variant="primary")
    gr.Examples([["ROMEO:\nBut soft, what light", 64, 16, 0], ["KING HENRY:\nOnce more unto the breach", 64, 4, 1],
                 ["First Citizen:\nWe are accounted poor citizens", 32, 32, 2]],
                inputs=[prompt, length, steps, text_seed], label="Examples")
    summary = gr.Markdown(elem_id="write-summary")
    with gr.Row():
        with gr.Column():
            unmask = scrub_view("Diffusion: many tokens per pass", elem_id="write-diffusion")
        with gr.Column():
            ar = scrub_view("tiny-gpt: one token per pass", elem_id="write-autoregressive")
    with gr.Accordion("Quality and speed, measured", open=False):
        gr.Markdown(text_diffusion_views.measured_tables())
    outs = [summary, unmask, ar]
    go.click(write, [prompt, length, steps, text_seed], outs, api_name="write", **MODEL_EVENTS)
    return dict(prompt=prompt, length=length, steps=steps, text_seed=text_seed), outs


def build(demo: gr.Blocks) -> None:
    explain(EXPLANATION)
    gr.Markdown("## A transformer paints")
    with gr.Row():
        digit = gr.Dropdown([str(d) for d in range(10)], value="3", label="Digit to paint")
        seed = gr.Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
        go = gr.Button("Paint it three ways", variant="primary")
    gr.Examples([["3", 0], ["7", 1], ["0", 2], ["8", 3]], inputs=[digit, seed], label="Examples")
    link_inputs = {"digit": digit, "seed": seed}
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
    text_inputs, text_outs = _write_section()
    link_inputs.update(text_inputs)
    links.copy_button("other_family", link_inputs)
    links.register(demo, links.TabLink("other_family", open_link, link_inputs, outs + text_outs,
                                       ("pixel_pass", "unmasking_pass", "step", "unmasking_step", "token_pass")))
