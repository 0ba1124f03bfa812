"""The Vision tab: draw a digit, a Vision Transformer reads it (patch tokens, CLS attention per
layer and head, rollout); the ViT watches tiny-ddpm decide a digit step by step; and the
diffusion model turns your sketch into a clean digit (SDEdit)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from explainers import editing, editing_views, vision, vision_views
from ui import links
from ui.common import (
    MODEL_EVENTS,
    explain,
    friendly_errors,
    scrub_view,
    static_js,
    step_progress,
)
from ui.uploads import ReadableImage

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"  # vision/: python -m training.write_vision_examples
EXAMPLE_FILES = ["vision/heldout-2.png", "vision/heldout-5.png", "vision/heldout-8.png", "vision/sketch-4.png",
                 "sklearn-flower.jpg"]
DECIDED_EXAMPLES = [["a handwritten 7", 50, 3.0, 0, "tiny-ddpm"], ["the number 3", 50, 3.0, 1, "tiny-ddpm"],
                    ["draw a zero", 50, 1.0, 2, "tiny-ddpm"], ["", 50, 0.0, 3, "tiny-ddpm"],
                    ["a red 7 on a blue background", 25, 3.0, 0, "tiny-t2i"],
                    ["the digit four in yellow on black", 25, 3.0, 1, "tiny-t2i"]]
DECIDED_MODELS = [("tiny-ddpm: pixels, a digit label", "tiny-ddpm"), ("tiny-t2i: latents, the whole prompt", "tiny-t2i")]
DIGIT_CHOICES = [("no label (unconditional)", "")] + [(str(d), str(d)) for d in range(10)]

EXPLANATION = """
**A transformer that reads pictures.** A Vision Transformer (ViT) does not see pixels one by one:
it cuts the 28 x 28 image into a grid of small squares (*patches*, here 4 x 4 pixels, 49 of them),
turns each patch into a vector, and reads them as a sequence of 49 tokens, exactly as a language
model reads words. One extra token, **CLS**, carries no picture: after four layers of attention
its vector is what the model classifies.

**Attention over patches.** Each layer lets every token look at every other token (full
attention, not causal: a picture has no "before"). The CLS token's attention, drawn on the digit,
shows which patches it gathers from, per layer and head. *Rollout* multiplies the layers'
attention (plus the residual path) to estimate how much each patch flows into CLS overall.

**Draw**, or pick an example below, and press **Read it**. Then move the sliders: everything they
show is already in the page (no waiting).
"""

DECIDED_EXPLANATION = """
**When is the picture decided?** A diffusion model draws a digit in many small steps: tiny-ddpm in
pixels, or tiny-t2i in latent space from a whole sentence (its colour x0 is cut to the stroke first).
At every step its current guess of the finished picture, *x0*, is shown to the ViT. The curve
shows the ViT's probability for each digit across the steps; the sentence under it says, for this
run, at which step the ViT's reading stopped changing and what it read before.
"""

SDEDIT_EXPLANATION = """
**Sketch to digit (SDEdit).** Your drawing is pushed *forward* to step t (noise added, as in the
Noising tab), then the diffusion model runs the *reverse* process from there, steered to the digit
you choose. Small t: little noise, the result keeps your strokes. Large t: the drawing drowns in
noise and only the chosen digit survives. The slider compares nine values of t; the ViT reads
each result.
"""


def _example(name: str) -> str:
    return str(EXAMPLES_DIR / name)


def _read(image):
    r = vision.classify(image)
    return (vision_views.verdict(r.probs), vision_views.prediction_bars(r.probs), vision_views.tokens_html(r),
            vision_views.attention_scrubber(r), vision_views.patch_scrubber(r))


def _blank_or_read(sketch, on_blank):
    try:
        return (*_read(sketch), "sketch")
    except ValueError as e:  # a blank canvas: say so in the verdict, no error badges
        return str(e), *on_blank, "sketch"


@friendly_errors
def read_sketch(sketch):
    """Classify a Sketchpad drawing (its flattened composite). A blank drawing leaves the views as
    they are: the click can race the canvas's own upload of the stroke just drawn, and the change
    event that follows it brings the drawing."""
    return _blank_or_read(sketch, [gr.skip()] * 4)


@friendly_errors
def read_upload(image):
    """Classify an uploaded picture or an example (a cleared picture clears the views)."""
    if image is None:
        return "Draw a digit, or pick an example.", "", "", "", "", "sketch"
    return (*_read(image), "upload")


@friendly_errors
def read_live(sketch):
    """Every finished stroke: all the views follow the drawing (one 60 ms pass), so the tokens,
    attention and patch views never show an older picture than the verdict. A cleared canvas
    clears them."""
    return _blank_or_read(sketch, [""] * 4)


@friendly_errors
def run_decided(prompt: str, steps: int, guidance: float, seed: int, model: str = "tiny-ddpm", progress=gr.Progress()):
    d = vision.decided(prompt, steps, guidance, seed, model=model,
                       progress=step_progress(progress, "denoising", "steps"))
    return vision_views.decided_summary(d), vision_views.decided_view(d)


@friendly_errors
def run_sketch_to_digit(sketch, upload, source: str, digit: str, guidance: float, seed: int,
                        progress=gr.Progress()):
    """SDEdit the picture read last: the drawing, or the uploaded / example picture."""
    image = upload if source == "upload" and upload is not None else sketch
    runs = editing.sketch_sweep(image, digit, 50, guidance, seed,
                                progress=step_progress(progress, "one run per t", "runs"))
    return editing_views.sweep_summary(runs), editing_views.sweep_view(runs)


INPAINT_EXPLANATION = """
**Inpainting.** Part of the digit (orange) is replaced by pure noise; the reverse process fills it
in while the rest is put back at every step, noised to that step's level, so the new strokes join
the kept ones (the RePaint recipe). Choose which part to erase and what digit to steer toward.
"""


@friendly_errors
def run_inpaint(sketch, upload, source: str, region: str, digit: str, guidance: float, seed: int):
    """Inpaint the picture read last (the drawing, or the uploaded / example picture)."""
    image = upload if source == "upload" and upload is not None else sketch
    r = editing.inpaint(image, region, digit, 50, guidance, seed)
    return editing_views.inpaint_summary(r, region), editing_views.inpaint_view(r)


def build(demo: gr.Blocks) -> None:
    explain(EXPLANATION)
    with gr.Row():
        with gr.Column(scale=1):
            sketch = gr.Sketchpad(label="Draw a digit (mouse or finger)", type="numpy", image_mode="RGBA",
                                  canvas_size=(280, 280), format="png",
                                  brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                                  elem_id="vision-sketch")
            read = gr.Button("Read it", variant="primary")
        with gr.Column(scale=1):
            upload = ReadableImage(label="...or upload / pick a picture", type="numpy", sources=["upload", "clipboard"],
                                   image_mode="RGBA", height=280)  # a fake picture gets a sentence
            gr.Examples([[_example(f)] for f in EXAMPLE_FILES], inputs=upload,
                        example_labels=[f.split("/")[-1].rsplit(".", 1)[0].replace("-", " ") for f in EXAMPLE_FILES],
                        label="Examples: held-out digits (never trained on), a sketch, a photo (not a digit)")
        with gr.Column(scale=1):
            verdict = gr.Markdown("Draw a digit, or pick an example.", elem_id="vision-verdict")
            bars = gr.HTML(label="Prediction", elem_id="vision-bars")
    tokens = gr.HTML(label="Patch tokens", elem_id="vision-tokens")
    att = scrub_view("CLS attention per layer and head", elem_id="vision-attention")
    patch = scrub_view("Where one patch looks", elem_id="vision-patch")

    with gr.Accordion("When is the picture decided? (a diffusion model + the ViT)", open=True):
        gr.Markdown(DECIDED_EXPLANATION, elem_classes="explain")
        with gr.Row():
            prompt = gr.Textbox(label="Prompt for the diffusion model", value=DECIDED_EXAMPLES[0][0], scale=3, max_length=300)
            steps = gr.Slider(10, 100, value=50, step=1, label="Steps (DDIM)")
            guidance = gr.Slider(0, 10, value=3.0, step=0.5, label="Guidance")
            seed = gr.Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
            dmodel = gr.Radio(DECIDED_MODELS, value="tiny-ddpm", label="Diffusion model")
        run = gr.Button("Denoise and read every step")
        gr.Examples(DECIDED_EXAMPLES, inputs=[prompt, steps, guidance, seed, dmodel], label="Examples")
        link_inputs = {"prompt": prompt, "steps": steps, "guidance": guidance, "seed": seed, "model": dmodel}
        links.copy_button("vision", link_inputs)
        dsummary = gr.Markdown()
        dview = scrub_view("The ViT's reading of x0 at each step", elem_id="vision-decided")

    with gr.Accordion("Sketch to digit: diffusion edits your drawing (SDEdit)", open=True):
        gr.Markdown(SDEDIT_EXPLANATION, elem_classes="explain")
        with gr.Row():
            digit = gr.Dropdown(DIGIT_CHOICES, value="8", label="Turn it into")
            sguidance = gr.Slider(0, 10, value=3.0, step=0.5, label="Guidance")
            sseed = gr.Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
        go = gr.Button("Turn my drawing into a digit")
        gr.Examples([[_example("vision/sketch-4.png"), "9", 3.0, 0], [_example("vision/heldout-2.png"), "7", 3.0, 0]],
                    inputs=[upload, digit, sguidance, sseed], label="Examples (fill the picture above)",
                    example_labels=["a sketched 4, towards 9", "a held-out 2, towards 7"])
        ssummary = gr.Markdown()
        sview = scrub_view("The drawing, noised to t and denoised", elem_id="vision-sdedit")

    with gr.Accordion("Inpainting: erase part of the digit, diffusion fills it in", open=False):
        gr.Markdown(INPAINT_EXPLANATION, elem_classes="explain")
        with gr.Row():
            region = gr.Dropdown(list(editing.REGIONS), value="top half", label="Erase")
            idigit = gr.Dropdown(DIGIT_CHOICES, value="", label="Steer toward")
            iseed = gr.Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
        fill = gr.Button("Erase and fill in")
        gr.Examples([[_example("vision/heldout-8.png"), "top half", "", 0],
                     [_example("vision/heldout-5.png"), "bottom half", "3", 0]],
                    inputs=[upload, region, idigit, iseed], label="Examples (fill the picture above)",
                    example_labels=["an 8: repaint the top half", "a 5: repaint the bottom half as a 3"])
        isummary = gr.Markdown()
        iview = scrub_view("Inpainting, step by step", elem_id="vision-inpaint")

    # which picture SDEdit uses: the one read last. A hidden component, not gr.State: a State keeps a
    # heartbeat connection open for the page's whole life (the page never goes network-idle).
    source = gr.Textbox(value="sketch", visible=False)
    ev = dict(MODEL_EVENTS)
    outs = [verdict, bars, tokens, att, patch, source]
    demo.load(None, None, None, js=f"() => ({static_js('sketch_brush.js')})('vision-sketch')")
    read.click(read_sketch, sketch, outs, api_name="classify", **ev)
    upload.change(read_upload, upload, outs, api_name="classify_upload", **ev)
    sketch.change(read_live, sketch, outs, api_name="classify_live", trigger_mode="always_last",
                  concurrency_id="lookup", concurrency_limit=4, show_progress="hidden")
    run.click(run_decided, [prompt, steps, guidance, seed, dmodel], [dsummary, dview], api_name="decided", **ev)
    links.register(demo, links.TabLink("vision", run_decided, link_inputs, [dsummary, dview], ("step",)))
    go.click(run_sketch_to_digit, [sketch, upload, source, digit, sguidance, sseed], [ssummary, sview],
             api_name="sketch_to_image", **ev)
    fill.click(run_inpaint, [sketch, upload, source, region, idigit, sguidance, iseed], [isummary, iview],
               api_name="inpaint", **ev)
