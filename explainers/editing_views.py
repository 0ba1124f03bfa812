"""Views of diffusion editing (explainers.editing): the SDEdit trade-off over t, every frame
shipped once in a scrubber (axes: t and Step), and a strip of the results read by the ViT."""

from __future__ import annotations

import html

import numpy as np

from explainers import frames
from explainers.editing import EditResult, snapshot_indices
from explainers.vision_views import STYLE


def sweep_view(runs: list[EditResult]) -> str:
    if not runs:
        raise ValueError("no runs to show")
    k = len(snapshot_indices(len(runs[0].timesteps)))
    frames_ = {}
    for j, r in enumerate(runs):
        idx = snapshot_indices(len(r.timesteps), k - 1)
        for s, i in enumerate(idx):
            x0 = r.x0_pred[min(i, len(r.x0_pred) - 1)]
            what = "the noised drawing" if i == 0 else ("the result" if i == len(r.timesteps) else f"step {i}")
            frames_[(j, s)] = (
                frames.figure_tag(frames.rgb_uri(r.x_t[i]), f"x_t: {what}", f"the image at {what}, starting from t = {r.t}", 112)
                + frames.figure_tag(frames.rgb_uri(x0), "predicted clean image x0",
                                    f"the model's guess of the clean image at {what}", 112)
                + f'<p class="caption">t = {r.t}: {len(r.timesteps)} reverse steps from the noised drawing to the '
                f'result; Step {s} of the slider ({k - 1} = the end) shows reverse step {i} of them.</p>')
    sketch = runs[0].sketch
    header = (STYLE + '<div class="vz-row">' + frames.figure_tag(frames.rgb_uri(sketch), "your drawing (28 x 28)",
                                                        "the drawing, made MNIST-like", 112) + '</div>')
    strip = []
    for r in runs:
        top = int(r.vit_probs.argmax())
        ok = r.label is not None and top == r.label
        mark = " (asked)" if ok else ""
        strip.append(frames.figure_tag(
            frames.rgb_uri(r.result), f"t = {r.t}: ViT reads {top}{mark}, {r.vit_probs[top]:.0%}",
            f"the result from t = {r.t}, read by the ViT as {top}", 72))
    footer = ('<p class="caption"><b>The trade-off</b>: the result for every t, left (little noise) to right '
              f'(much noise), as the ViT reads it.</p><div class="vz-row">{"".join(strip)}</div>')
    return frames.scrubber([frames.Axis("t", 0, len(runs) - 1, len(runs) // 2, "(how much noise)",
                                        values=tuple(r.t for r in runs)),
                            frames.Axis("Step", 0, k - 1, k - 1,
                                        f"(evenly spaced snapshots; 0 = the noised drawing, {k - 1} = the result)")],
                           frames_,
                           header=header, footer=footer, play=False)


def sweep_summary(runs: list[EditResult]) -> str:
    label = runs[0].label
    asked = f"{frames.article(label)} **{label}**" if label is not None else "**no particular digit**"
    tops = [int(r.vit_probs.argmax()) for r in runs]
    parts = ", ".join(f"t={r.t}: {t}" for r, t in zip(runs, tops))
    hit = ""
    if label is not None:
        hits = [r.t for r, t in zip(runs, tops) if t == label]
        hit = (f" The ViT reads the asked-for {label} in {len(hits)} of {len(runs)} results"
               + (f" (first from t = {hits[0]})." if hits else "."))
    dist = ", ".join(f"{r.distance:.2f}" for r in (runs[0], runs[len(runs) // 2], runs[-1]))
    return (f"Asked for {asked}. What the ViT reads in each result: {html.escape(parts)}.{hit} "
            f"Mean pixel change from the drawing (t = {runs[0].t}, {runs[len(runs) // 2].t}, {runs[-1].t}): {dist}. "
            f"{sum(len(r.timesteps) for r in runs)} network calls in {sum(r.seconds for r in runs):.1f} s.")


def inpaint_summary(r: EditResult, region: str) -> str:
    """Markdown: what the inpainted picture was steered toward and what the ViT reads in it."""
    top = int(r.vit_probs.argmax())
    asked = f"toward {frames.article(r.label)} **{r.label}**" if r.label is not None else "with **no label**"
    return (f"Filled the {region} {asked}: the ViT reads the result as {frames.article(top)} **{top}** "
            f"({r.vit_probs[top]:.0%}). {len(r.timesteps)} steps in {r.seconds:.1f} s.")


def hit_rate(runs: list[EditResult]) -> np.ndarray:
    """(len(runs),) 1 where the ViT reads the asked-for digit."""
    return np.array([float(r.label is not None and int(r.vit_probs.argmax()) == r.label) for r in runs])


def masked(image: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """(28, 28) digit with the hole tinted orange: what the model must fill in."""
    rgb = np.repeat(image[..., None], 3, axis=-1)
    tint = np.array([0.9, 0.37, 0.0])  # Okabe-Ito vermillion
    return np.where(fill[..., None] > 0, 0.45 * tint + 0.55 * rgb, rgb)


def inpaint_view(r: EditResult) -> str:
    """A Step scrubber over an inpainting run: x_t (known pixels kept, noised to the step's level),
    the predicted clean image, and the known / filled regions."""
    n = len(r.timesteps)
    frames_ = {}
    for i in range(n + 1):
        x0 = r.x0_pred[min(i, n - 1)]
        what = "pure noise in the hole" if i == 0 else ("the result" if i == n else f"step {i} of {n}")
        frames_[(i,)] = (
            frames.figure_tag(frames.rgb_uri(r.x_t[i]), f"x_t: {what}", f"the image at {what}", 112)
            + frames.figure_tag(frames.rgb_uri(x0), "predicted clean image x0", f"the model's guess at {what}", 112)
            + frames.figure_tag(frames.rgb_uri(masked(r.x_t[i], r.fill)), "filled region (orange)",
                                f"the image at {what} with the filled region tinted orange", 112))
    top = int(r.vit_probs.argmax())
    header = (STYLE + '<div class="vz-row">'
              + frames.figure_tag(frames.rgb_uri(masked(r.sketch, r.fill)), "the digit and the hole (orange)",
                                  "the original digit with the region to fill tinted orange", 112)
              + frames.figure_tag(frames.rgb_uri(r.result), f"result: the ViT reads {top} ({r.vit_probs[top]:.0%})",
                                  f"the inpainted digit, read by the ViT as {top}", 112) + "</div>")
    return frames.scrubber([frames.Axis("Step", 0, n, n, "(0 = noise in the hole)")], frames_, header=header,
                           play=True)
