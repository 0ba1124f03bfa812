"""Views of the forward process (the Noising tab): one image noised at every t under the linear and
the cosine schedule as one scrubber, with the alpha-bar curves, and a glance table of a few t; plus
the small picture helpers the denoising views share (`picture_uri`, `display_width`,
`schedule_curve`, `PICTURE_ROW`).

An uploaded file is rendered once per (file, t): a class noising the same example costs one rendering.
"""

from __future__ import annotations

import base64
import html
import io
import os

import numpy as np

from explainers import noising
from explainers.charts import OKABE_BLUE, OKABE_VERMILLION, data_table, line_svg, plain
from explainers.frames import Axis, Pictures, figure_tag, png_uri, rgb_uri, scrubber
from explainers.memory import memoize
from explainers.text_input import check_number

PICTURE_ROW = 'style="display:flex;flex-wrap:wrap;gap:6px 14px;align-items:flex-start"'  # pictures side by side


def picture_uri(img: np.ndarray, pics: Pictures | None = None) -> str:
    """(H, W, C) in [0, 1] -> PNG data URI (grey when C == 1)."""
    return rgb_uri(img[..., 0] if img.shape[-1] == 1 else img, pics)


def display_width(img: np.ndarray, target: int) -> int:
    """Display width: small images scaled up by a whole factor, big ones shown at their size."""
    w = img.shape[1]
    return w * max(1, target // w)


def schedule_curve(alphas_cumprod: np.ndarray, n: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """alpha-bar thinned to ~n points (the chart repeats in every frame: keep it small)."""
    idx = np.unique(np.linspace(0, len(alphas_cumprod) - 1, n).round().astype(int))
    return idx, np.asarray(alphas_cumprod)[idx]


def _jpeg_uri(img: np.ndarray, quality: int = 70) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((np.clip(img, 0, 1) * 255).round().astype(np.uint8)).save(buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _pic(img: np.ndarray, pics: Pictures | None = None) -> str:
    """Small grey images as PNG (exact pixels); colour photos as JPEG (a tenth of the bytes)."""
    if img.shape[-1] == 1:
        return png_uri((np.clip(img[..., 0], 0, 1) * 255).round().astype(np.uint8), pics)
    return _jpeg_uri(img)


def noising_view(f: noising.ForwardRun) -> str:
    """Every t of the run (every 10th step, the ends, and the chosen one) under both schedules,
    one scrubber; the clean image above it."""
    pics = Pictures()
    w = display_width(f.x_t["linear"][0], 224)
    curves = {name: schedule_curve(noising.alphas_cumprod(name)) for name in noising.SCHEDULES}
    frames = {}
    for k, t in enumerate(f.ts):
        figs = []
        for name in noising.SCHEDULES:
            ab = float(f.alpha_bar[name][k])
            figs.append(figure_tag(_pic(f.x_t[name][k], pics), f"{name}: alpha-bar = {plain(ab)}",
                                   f"t = {t}, {name} schedule: {ab ** 0.5:.2f} x image + {(1 - ab) ** 0.5:.2f} x noise",
                                   w))
        chart = line_svg([dict(label=n, x=curves[n][0], y=curves[n][1], color=c, dash=n == "cosine")
                          for n, c in zip(noising.SCHEDULES, (OKABE_BLUE, OKABE_VERMILLION))], "timestep t", "alpha-bar_t",
                         title=f"t = {t}", width=320, height=200, vline=t, ylim=(0.0, 1.0), table=False, shared=True,
                         points=[(t, float(f.alpha_bar[n][k]), c) for n, c in zip(noising.SCHEDULES, (OKABE_BLUE, OKABE_VERMILLION))])
        cap = noising.training_target(t, float(f.alpha_bar["linear"][k]))
        frames[(k,)] = f'<div class="fv-row3" {PICTURE_ROW}>{"".join(figs)}{chart}</div><p class="fv-cap">{html.escape(cap)}</p>'
    start = f.ts.index(f.start)
    clean = figure_tag(_pic(f.clean, pics), "the clean image x_0 (t = 0)", "The clean input image before any noise",
                       display_width(f.clean, 256))
    header = (f'<div>{clean}</div><p class="fv-note">Drag the Step t slider or use the arrow keys: all '
              f'{len(f.ts)} steps shown are already here (every 10th of 1,000, the last one, and t = {f.start}).</p>'
              + data_table([dict(label=n, x=curves[n][0], y=curves[n][1]) for n in noising.SCHEDULES], "timestep t",
                           "alpha-bar_t", "alpha-bar over all timesteps, both schedules"))
    return scrubber([Axis("Step t", 0, len(f.ts) - 1, start, "(0 = clean, 999 = pure noise)", values=tuple(f.ts))],
                    frames, header=header, play=True, pics=pics)


def noise_grid(f: noising.ForwardRun, steps: tuple[int, ...] = noising.GRID_STEPS) -> str:
    """x_t at a few t (columns) for both schedules (rows), same noise throughout: an HTML table."""
    cols = [t for t in steps if t in f.ts]
    head = "".join(f'<th scope="col">t = {t}</th>' for t in cols)
    rows = []
    for name in noising.SCHEDULES:
        cells = "".join(
            f'<td>{figure_tag(_pic(f.x_t[name][f.ts.index(t)]), "alpha-bar " + plain(float(f.alpha_bar[name][f.ts.index(t)]), 2), f"{name} schedule at t = {t}", 96)}</td>'
            for t in cols)
        rows.append(f'<tr><th scope="row">{name}</th>{cells}</tr>')
    return (f'<table class="fv-train"><caption>The forward process at a glance: the same image and noise, more '
            f'noise to the right</caption><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def noising_views(image, t: int) -> tuple[str, str]:
    """(scrubber, glance table) for an image; an uploaded file is rendered once per (file, t)."""
    t = check_number(t, "t", 0, noising.T - 1, integer=True)
    if isinstance(image, (str, os.PathLike)) and os.path.isfile(image):
        return _noising_views(str(image), os.path.getmtime(image), t)
    f = noising.forward_run(image, t)
    return noising_view(f), noise_grid(f)


@memoize(maxsize=16)
def _noising_views(path: str, mtime: float, t: int) -> tuple[str, str]:
    f = noising.forward_run(path, t)
    return noising_view(f), noise_grid(f)


def noising_step_data(image, t: int) -> dict:
    """One t as plain data for API clients: x_t under both schedules (PNG data URIs) and numbers."""
    out: dict = dict(t=int(t))
    for name in noising.SCHEDULES:
        x_t, ab = noising.noise_image(image, t, name)
        out[name] = dict(alpha_bar=ab, image=picture_uri(noising.to_display(x_t)))
    out["caption"] = noising.training_target(int(t), out["linear"]["alpha_bar"])
    return out
