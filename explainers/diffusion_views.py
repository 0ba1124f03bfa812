"""Views of diffusion, drawn from arrays (no matplotlib per request): the denoising run as one
scrubber (every step's x_t, predicted noise, predicted x0, schedule position and guidance
panel, for every image of the batch), prompt-to-digit bars, the same seed through tiny-ddpm's
training checkpoints, and an animated GIF of a run (PIL) for download. The forward process (the
Noising tab) has its own views: explainers/noising_views.py.

Every view is rendered once per result: the HTML is cached by the settings that determine it,
so thirty students pressing the same example cost one run and one rendering.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from explainers.charts import OKABE_BLUE, OKABE_VERMILLION, bars_html, data_table, line_svg, plain
from explainers.denoising import (
    DIGIT_WORDS,
    NOISE_RANGE,
    DenoiseResult,
    label_reason,
    step_info,
)
from explainers.denoising_checkpoints import TrainingRun
from explainers.frames import (
    Axis,
    Pictures,
    figure_tag,
    heat_uri,
    scrubber,
)
from explainers.gif_files import gif_path, write_gif
from explainers.memory import MEMORY
from explainers.noising_views import PICTURE_ROW, display_width, picture_uri, schedule_curve

GIF_MAX_FRAMES = 100
MAX_FRAMES_PER_IMAGE = 101  # longer runs (DDPM, 1000 steps) show evenly spaced steps, first and last included
MAX_FRAMES_TOTAL = 420  # all images of a batch together: keeps one run's page payload to a few MB
IMAGE_PX = 168  # a 28-pixel digit drawn at 6x with crisp pixels
DENOISE_VIEWS, GIFS = "diffusion_views.denoise_view", "diffusion_views.animation_gif"  # MEMORY namespaces
MEMORY.cap(DENOISE_VIEWS, 8)
MEMORY.cap(GIFS, 16)


def _fig(img: np.ndarray, caption: str, alt: str, target: int = IMAGE_PX, pics: Pictures | None = None) -> str:
    return figure_tag(picture_uri(img, pics), caption, alt, display_width(img, target))


# ---- the denoising run ----------------------------------------------------------------------

def step_positions(steps: int, batch: int) -> list[int]:
    """The steps the scrubber shows: all of them (0 .. steps) when they fit, else evenly spaced."""
    cap = max(11, min(MAX_FRAMES_PER_IMAGE, MAX_FRAMES_TOTAL // batch))
    if steps + 1 <= cap:
        return list(range(steps + 1))
    return sorted(set(np.linspace(0, steps, cap).round().astype(int).tolist()))


def drawn_phrase(r: DenoiseResult) -> str:
    """What the run actually drew, in words ("a 7", "an 8", "any digit")."""
    if r.label is None or r.guidance == 0:
        return "any digit (no label was used)"
    return f"{'an' if r.label == 8 else 'a'} {r.label}"


def step_caption(r: DenoiseResult, step: int) -> str:
    info = step_info(r, step)
    if info["final"]:
        return (f"Step {step} of {r.steps}: done. Left: the final image. Middle and right: the last step's "
                "predictions.")
    ab = info["alpha_bar"]
    return (f"Step {step} of {r.steps}, t = {info['t']}: the scheduler treats x_t as {ab ** 0.5:.2f} x image + "
            f"{(1 - ab) ** 0.5:.2f} x noise. The network predicts the noise (middle); removing it gives the guess of "
            "the clean image (right); the step moves x_t a little towards that guess.")


def schedule_position(alphas_cumprod: np.ndarray, t: int, table: bool = True) -> str:
    """alpha-bar over all timesteps with a marker at t (inline SVG, a few hundred bytes).
    table=False leaves out the curve's screen-reader table (`schedule_table` carries it once)."""
    x, y = schedule_curve(alphas_cumprod)
    ab = float(alphas_cumprod[t])
    return line_svg([dict(label="alpha-bar_t", x=x, y=y, color=OKABE_BLUE)], "timestep t (999 = pure noise)",
                    "share of image", title=f"t = {t}, alpha-bar = {plain(ab)}", width=300, height=190,
                    points=[(t, ab, OKABE_VERMILLION)], vline=t, ylim=(0.0, 1.0), table=table, shared=not table)


def schedule_table(alphas_cumprod: np.ndarray) -> str:
    """The alpha-bar curve's numbers for screen readers, once per view (not once per frame)."""
    x, y = schedule_curve(alphas_cumprod)
    return data_table([dict(label="alpha-bar_t", x=x, y=y)], "timestep t (999 = pure noise)", "share of image",
                      "alpha-bar over all timesteps")


def _guidance_html(r: DenoiseResult, step: int, b: int, amp: float, pics: Pictures | None = None) -> str:
    info = step_info(r, step)
    i = info["pred_index"]
    if not r.guided:
        if r.label is None:
            why = "no digit was chosen, so the run used no label and there is nothing to guide towards"
        elif r.guidance == 0:
            why = "guidance 0 ignores the label: only the unconditional prediction was made"
        else:
            why = "guidance 1 uses the plain conditional prediction: one prediction per step"
        return f'<p class="fv-note">No guidance panel: {why}. Set guidance above 1 with a digit prompt to see both.</p>'
    uncond = r.images("noise_uncond", b)[i]
    cond = r.images("noise_cond", b)[i]
    diff = (cond - uncond).mean(axis=-1) * 2 * NOISE_RANGE  # (H, W) back in noise units
    w = display_width(uncond, 120)
    figs = [
        _fig(uncond, "unconditional (no label)", f"Step {step}: the noise predicted without the label", 120, pics),
        _fig(cond, f"conditional (label {r.label})", f"Step {step}: the noise predicted with the label {r.label}", 120, pics),
        figure_tag(heat_uri(diff, -amp, amp, "PuOr", pics), f"what the label adds (orange -{plain(amp, 2)}, purple "
                   f"+{plain(amp, 2)})", f"Step {step}: conditional minus unconditional noise, the part the label "
                   "adds", w),
        _fig(r.images("noise_pred", b)[i], f"used: uncond + {plain(r.guidance)} x difference",
             f"Step {step}: the guided noise that was used, guidance {plain(r.guidance)}", 120, pics),
    ]
    return (f'<div class="fv-guide"><b>Guidance at this step (t = {info["t"]})</b><div {PICTURE_ROW}>{"".join(figs)}</div></div>')


def denoise_frame(r: DenoiseResult, step: int, b: int = 0, amp: float = 1.0, pics: Pictures | None = None) -> str:
    """One frame: x_t, predicted noise, predicted x0, the schedule position and the guidance panel."""
    info = step_info(r, step)
    i = info["pred_index"]
    what = drawn_phrase(r)
    last = " (last step)" if info["final"] else ""
    x_alt = ("the final image" if info["final"] else f"x_t, the noisy image at t = {info['t']}")
    figs = [
        _fig(r.images("x_t", b)[step], "final image" if info["final"] else f"x_t (t = {info['t']})",
             f"Step {step} of {r.steps}: {x_alt}; the run draws {what}", pics=pics),
        _fig(r.images("noise_pred", b)[i], f"predicted noise{last} (grey = 0)",
             f"Step {step} of {r.steps}: the noise the network sees in x_t, grey is zero", pics=pics),
        _fig(r.images("x0_pred", b)[i], f"predicted clean image{last}",
             f"Step {step} of {r.steps}: the network's current guess of the finished image ({what})", pics=pics),
    ]
    image = f"Image {b + 1} of {r.batch}. " if r.batch > 1 else ""
    return (f'<p class="fv-cap">{html.escape(image + step_caption(r, step))}</p>'
            f'<div class="fv-row3" {PICTURE_ROW}>{"".join(figs)}{schedule_position(r.alphas_cumprod, info["t"], table=False)}</div>'
            f'{_guidance_html(r, step, b, amp, pics)}')


def result_key(r: DenoiseResult) -> tuple:
    """What identifies a run for its stored views (its settings and the digit drawn)."""
    return (r.model, r.prompt, r.scheduler, r.steps, r.guidance, r.seed, r.batch, r.label)


def denoise_view(r: DenoiseResult) -> str:
    """The whole run as one scrubber (Step axis, and an Image axis for a batch). Rendered once
    per result; identical requests share the rendering."""
    return MEMORY.get(DENOISE_VIEWS, result_key(r), lambda: _render_denoise_view(r), gate=False)


def _render_denoise_view(r: DenoiseResult) -> str:
    pics = Pictures()
    positions = step_positions(r.steps, r.batch)
    frames = {}
    for b in range(r.batch):
        amp = 1e-6
        if r.guided:
            d = (r.images("noise_cond", b) - r.images("noise_uncond", b)) * 2 * NOISE_RANGE
            amp = max(1e-6, float(np.percentile(np.abs(d), 99.5)))  # one colour scale for the whole run
        for k, step in enumerate(positions):
            frames[(k, b) if r.batch > 1 else (k,)] = denoise_frame(r, step, b, amp, pics)
    full = positions == list(range(r.steps + 1))
    axes = [Axis("Step", 0, len(positions) - 1, len(positions) - 1, "(0 = pure noise)",
                 values=() if full else tuple(positions))]
    if r.batch > 1:
        axes.append(Axis("Image", 0, r.batch - 1, 0, f"of {r.batch}", values=tuple(range(1, r.batch + 1))))
    shown = "" if full else f" Showing {len(positions)} of the {r.steps + 1} steps, evenly spaced."
    header = (f'<p class="fv-note">Drag the Step slider or press the arrow keys: every step is already here, '
              f'nothing is recomputed. Play runs the whole process.{shown}</p>{schedule_table(r.alphas_cumprod)}')
    return scrubber(axes, frames, header=header, play=True, pics=pics)


def step_data(r: DenoiseResult, step: int, b: int = 0) -> dict:
    """One step as plain data for API clients: numbers and PNG data URIs."""
    info = step_info(r, step)
    i = info["pred_index"]
    out = dict(step=step, steps=r.steps, t=info["t"], alpha_bar=info["alpha_bar"], final=info["final"],
               caption=step_caption(r, step), x_t=picture_uri(r.images("x_t", b)[step]),
               noise_pred=picture_uri(r.images("noise_pred", b)[i]), x0_pred=picture_uri(r.images("x0_pred", b)[i]))
    if r.guided:
        out.update(noise_uncond=picture_uri(r.images("noise_uncond", b)[i]), noise_cond=picture_uri(r.images("noise_cond", b)[i]),
                   guidance=r.guidance)
    return out


def similarity_bars(prompt: str, label: int | None, similarities: np.ndarray | None) -> str:
    """Cosine similarity of the prompt to each digit class; the chosen class highlighted."""
    if similarities is None:
        return '<p class="fv-note">No prompt matching for this run (empty prompt or an unconditional model).</p>'
    verdict = (f"chose {label}: " if label is not None else "") + label_reason(prompt, label, similarities)
    labels = [f"{d} {w}" for d, w in enumerate(DIGIT_WORDS)]
    return bars_html(labels, similarities, highlight=label, vmax=1.0, fmt="{:.2f}",
                     title=f"Prompt {prompt[:40]!r} vs each digit (cosine similarity): {verdict}")


def training_view(tr: TrainingRun) -> str:
    """The same seed and settings through each training checkpoint: rows are checkpoints,
    columns are steps of the run (noise on the left, the finished image on the right)."""
    cols = np.unique(np.linspace(0, tr.steps, 8).round().astype(int))
    head = "".join(f'<th scope="col">step {c}</th>' for c in cols)
    rows = []
    for name, frames in zip(tr.names, tr.x_t):
        cells = "".join(
            f'<td>{figure_tag(picture_uri(frames[c]), "", f"{name}, step {c} of {tr.steps}", 84)}</td>' for c in cols)
        rows.append(f'<tr><th scope="row">{html.escape(name)}</th>{cells}</tr>')
    return (f'<table class="fv-train"><caption>The same seed ({tr.seed}), prompt and settings through tiny-ddpm\'s '
            f'training checkpoints: {html.escape(tr.what)}</caption><thead><tr><th></th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


# ---- animation ------------------------------------------------------------------------------

def animation_gif(result: DenoiseResult, scale: int | None = None) -> str:
    """An animated GIF of the whole run (x_t | predicted x0, all samples in a row), written
    to a bounded temp folder; returns its path. Identical requests that arrive together (a class
    pressing the same example) wait for one writer instead of each drawing it (about 15 ms each)."""
    key = (result_key(result), scale)
    path = MEMORY.get(GIFS, key, lambda: _write_gif(result, *key), gate=False)
    if not Path(path).is_file():  # the bounded folder has since let it go: write it again
        path = _write_gif(result, *key)
    return path


def _write_gif(result: DenoiseResult, key: tuple, scale: int | None) -> str:
    import hashlib

    from PIL import Image

    digest = hashlib.sha1(repr((key, scale)).encode()).hexdigest()[:16]
    name = f"denoise-{result.label if result.label is not None else 'any'}-{digest}"
    if (done := gif_path(name)) is not None:  # the same run again: its GIF is already written
        return str(done)
    h, w = result.x_t.shape[-3:-1]
    scale = scale or max(1, 128 // max(h, w))
    idx = np.unique(np.linspace(0, result.steps, min(GIF_MAX_FRAMES, result.steps + 1)).round().astype(int))
    images = []
    for i in idx:
        tiles = []
        for b in range(result.batch):
            x0 = result.images("x0_pred", b)[min(i, result.steps - 1)]
            tiles.append(np.concatenate([result.images("x_t", b)[i], np.ones((h, 2, x0.shape[-1])), x0], axis=1))
        row = np.concatenate([np.concatenate([tile, np.ones((h, 4, tile.shape[-1]))], axis=1) for tile in tiles], axis=1)
        row = (row * 255).round().astype(np.uint8).repeat(scale, 0).repeat(scale, 1)  # (H*s, W*s, C)
        images.append(Image.fromarray(row[..., 0] if row.shape[-1] == 1 else row).convert("P"))
    durations = [60] * (len(images) - 1) + [1500]  # hold the final image
    return write_gif(name, images, durations)
