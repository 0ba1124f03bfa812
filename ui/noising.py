"""The Noising tab: the forward process that training uses, on any image: x_t at every step
under the linear and the cosine schedule (one scrubber, switched in the browser), and what the
network is trained to predict."""

from __future__ import annotations

import gradio as gr

from explainers import noising, noising_views
from explainers.text_input import check_number
from ui import links
from ui.common import explain, friendly_errors, scrub_view
from ui.uploads import ReadableImage

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
spent on pure noise. Press *Add noise*, then drag the **Step t** slider (or use the arrow keys):
every step is already in the page.

**What training does.** Pick an image, a random step t and random noise; build x_t; ask the
network "which noise was added?" and nudge its weights by how wrong it was. That is all. A network
that can find the noise at every t can also run the process backwards: that is the Denoising tab.
"""


@friendly_errors
def check_noising(image, t: int) -> None:
    """Refuse bad input before anything is drawn (the image is opened, the step checked)."""
    check_number(t, "t", 0, noising.T - 1, integer=True)
    noising.load_image(image)


@friendly_errors
def run_noising(image, t: int):
    """The whole forward process (every 10th step, both schedules) as one scrubber, plus a glance table."""
    return noising_views.noising_views(image, t)


@friendly_errors
def noising_step(image, t: int) -> dict:
    """One step t for API clients: x_t under both schedules as PNG data URIs, alpha-bar, caption."""
    t = check_number(t, "t", 0, noising.T - 1, integer=True)
    return noising_views.noising_step_data(image, t)


def build(demo: gr.Blocks) -> None:
    explain(EXPLANATION)
    with gr.Row():
        image = ReadableImage(value=EXAMPLES[0][0], type="filepath", image_mode=None, label="Image (any picture)",
                              elem_id="noising-input", sources=["upload", "clipboard"], height=320)
        with gr.Column():
            t = gr.Slider(0, noising.T - 1, value=EXAMPLES[0][1], step=1,
                          label="Open at step t (0 = clean, 999 = pure noise)")
            run = gr.Button("Add noise", variant="primary")
            gr.Examples(EXAMPLES, inputs=[image, t], label="Examples (click one, then 'Add noise')")
            link_inputs = {"image": image, "t": t}  # a link sets t; the picture is the one on the page
            links.copy_button("noising", link_inputs)
    view = scrub_view("x_t at every step, both schedules", elem_id="noising-view")
    grid = gr.HTML(label="x_t at several steps", elem_id="noising-grid")
    step_json = gr.JSON(visible=False)
    step_btn = gr.Button(visible=False)

    # A quick check first: bad input shows its message once and the last good views stay on screen.
    run.click(check_noising, [image, t], None, api_name="noising_check", show_progress="hidden").success(
        run_noising, [image, t], [view, grid], api_name="noising")
    image.upload(check_noising, [image, t], None, api_name="noising_upload_check", show_progress="hidden").success(
        run_noising, [image, t], [view, grid], api_name="noising_upload")
    # For gradio_client users: one step, computed on demand (the page itself never calls it).
    step_btn.click(noising_step, [image, t], step_json, api_name="noising_step", concurrency_id="lookup",
                   concurrency_limit=4)
    links.register(demo, links.TabLink("noising", run_noising, link_inputs, [view, grid], ("step_t",)))
