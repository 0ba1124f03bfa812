"""The Noising tab: the forward process that training uses, on any image: x_t at any step
under the linear and the cosine schedule, and what the network is trained to predict."""

from __future__ import annotations

import gradio as gr
from PIL import Image, UnidentifiedImageError

from explainers import diffusion_views, noising
from explainers.text_input import check_number
from ui.common import explain, friendly_errors

EXAMPLE_FILES = ["mnist-digit-3.png", "mnist-digit-7.png", "sklearn-china.jpg", "sklearn-flower.jpg"]
EXAMPLES = [[str(noising.EXAMPLES_DIR / name), t] for name, t in zip(EXAMPLE_FILES, (100, 400, 250, 600))]

EXPLANATION = """
**The forward process.** Training a diffusion model starts by *destroying* images. Take a clean
image x_0 and mix it with random noise: at step t the result is
x_t = sqrt(alpha-bar_t) x image + sqrt(1 - alpha-bar_t) x noise. At t = 0 it is the image; by
t = 999 it is indistinguishable from pure noise. No network is involved: it is one formula, so any
step can be reached in one jump.

**alpha-bar_t** is the share of the image that survives to step t. A *schedule* says how fast it
falls. The *linear* schedule (the original DDPM, and our tiny model) wipes most of the image out in
the first few hundred steps; the *cosine* schedule removes it more evenly, so fewer steps are
spent on pure noise.

**What training does.** Pick an image, a random step t and random noise; build x_t; ask the
network "which noise was added?" and nudge its weights by how wrong it was. That is all. A network
that can find the noise at every t can also run the process backwards: that is the Denoising tab.
"""


def clear_upload_errors(preprocess):
    """Wrap an image component's preprocess so an upload it cannot open (a text file, a
    decompression bomb) gets a clear message; plain gr.Image reports a long "could not
    preprocess" error. (An instance wrapper, not a gr.Image subclass: gradio writes a .pyi file
    beside every module that subclasses a component.)"""

    def wrapped(payload):
        name = getattr(payload, "orig_name", None) or "The upload"
        try:
            return preprocess(payload)
        except Image.DecompressionBombError:
            raise gr.Error(f"{name!r} is far larger than the limit of {noising.MAX_PIXELS / 1e6:.0f} megapixels; "
                           "please upload a smaller image.", print_exception=False) from None
        except (UnidentifiedImageError, OSError, ValueError):
            raise gr.Error(f"{name!r} is not an image this app can read: upload a PNG, JPEG, GIF, BMP or WebP "
                           "picture.", print_exception=False) from None

    return wrapped


def _step_outputs(image, t: int):
    t = check_number(t, "t", 0, noising.T - 1, integer=True)
    _, ab = noising.noise_image(image, t, "linear")
    _, ab_cos = noising.noise_image(image, t, "cosine")
    caption = noising.training_target(t, ab) + f" (With the cosine schedule alpha-bar is {ab_cos:.2g} at this t.)"
    return diffusion_views.noising_side_by_side(image, t), diffusion_views.schedule_comparison(t), caption


@friendly_errors
def run_noising(image, t: int):
    outputs = _step_outputs(image, t)  # validates the image before the grid is drawn
    return (*outputs, diffusion_views.noise_grid(image))


@friendly_errors
def noising_step(image, t: int):
    return _step_outputs(image, t)


def build(demo: gr.Blocks) -> None:
    explain(EXPLANATION)
    with gr.Row():
        image = gr.Image(value=EXAMPLES[0][0], type="filepath", image_mode=None, label="Image (any picture)",
                         sources=["upload", "clipboard"], height=260)
        image.preprocess = clear_upload_errors(image.preprocess)
        with gr.Column():
            t = gr.Slider(0, noising.T - 1, value=EXAMPLES[0][1], step=1, label="Step t (0 = clean, 999 = pure noise)")
            run = gr.Button("Add noise", variant="primary")
            gr.Examples(EXAMPLES, inputs=[image, t], label="Examples (click one, then 'Add noise')")
    with gr.Row():
        side = gr.Plot(label="x_t under both schedules", show_label=False)
        curves = gr.Plot(label="alpha-bar_t: linear vs cosine", show_label=False)
    caption = gr.Markdown()
    grid = gr.Plot(label="x_t at several steps", show_label=False)

    run.click(run_noising, [image, t], [side, curves, caption, grid], api_name="noising")
    image.upload(run_noising, [image, t], [side, curves, caption, grid], api_name="noising_upload")
    t.change(noising_step, [image, t], [side, curves, caption], api_name="noising_step", trigger_mode="always_last",
             concurrency_id="lookup", concurrency_limit=4)  # no model: never queue behind one
