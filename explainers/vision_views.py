"""Views of the Vision tab: HTML blocks from `explainers.vision` / `explainers.editing` results.

Images are drawn from arrays (frames.rgb_uri, colormap lookups), every slider position is
shipped once inside a `frames.scrubber`, and bars are HTML tables (screen readers get the
numbers). Attention overlays: the digit in grey, the attention in viridis (colour-blind safe),
each map scaled to its own maximum (the caption gives that maximum).
"""

from __future__ import annotations

import numpy as np

from explainers import charts, frames
from explainers.charts import OKABE_VERMILLION
from explainers.vision import UNSURE, DecidedResult, VisionResult, rollout_of

DIGITS = [str(d) for d in range(10)]
# Okabe-Ito: distinguishable with every common colour-vision deficiency
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
SHOW = 168  # on-screen width of a 28x28 digit, in CSS pixels


def _box(row: int, col: int, grid: int, colour: str = OKABE_VERMILLION) -> str:
    """A square outline over patch (row, col) of an image inside `.vz-wrap` (CSS positioned)."""
    s = 100.0 / grid
    return (f'<span class="vz-box" style="left:{col * s:.3f}%;top:{row * s:.3f}%;width:{s:.3f}%;height:{s:.3f}%;'
            f'border-color:{colour}"></span>')


def _grid_lines(grid: int) -> str:
    step = 100.0 / grid
    return (f'<span class="vz-grid" style="background-size:{step:.4f}% {step:.4f}%"></span>')


def _wrap(uri: str, alt: str, caption: str, extra: str = "", width: int = SHOW) -> str:
    return (f'<figure class="fv-fig"><span class="vz-wrap" style="width:{width}px">'
            f'{frames.img_tag(uri, alt, width)}{extra}</span>'
            f'<figcaption>{caption}</figcaption></figure>')


def overlay(image: np.ndarray, att: np.ndarray) -> np.ndarray:
    """(28, 28) digit + (grid, grid) attention -> (28, 28, 3): viridis heat over the digit."""
    g = att.shape[0]
    a = np.kron(att, np.ones((28 // g, 28 // g)))  # nearest-neighbour: one block per patch
    a = a / max(float(a.max()), 1e-12)
    heat = frames.lut(frames.CMAP)[np.clip(a * 255, 0, 255).round().astype(np.uint8)] / 255.0
    return 0.65 * heat + 0.35 * image[..., None]


def verdict(probs: np.ndarray) -> str:
    top = int(probs.argmax())
    p = float(probs[top])
    if p < UNSURE:
        second = int(np.argsort(-probs)[1])
        return (f"**The model is unsure** (best guess {top} at {p:.0%}, then {second} at {probs[second]:.0%}): "
                "this does not look much like a digit it knows. Try a bigger, clearer stroke.")
    return f"**The ViT reads {frames.article(top)} {top}** ({p:.0%} sure)."


def prediction_bars(probs: np.ndarray, title: str = "What the ViT reads: probability of each digit") -> str:
    return charts.bars_html(DIGITS, probs, highlight=int(probs.argmax()), vmax=1.0, title=title)


def tokens_html(r: VisionResult) -> str:
    """The digit, cut into a grid, and the sequence the transformer reads: [CLS] + patches."""
    g, p = r.grid, r.patch_size
    big = _wrap(frames.rgb_uri(r.image), f"The digit the model saw (28 x 28 pixels), cut into {g} x {g} patches",
                f"28 x 28 pixels, {g} x {g} patches of {p} x {p}", _grid_lines(g))
    chips = ['<span class="vz-tok vz-cls" title="the CLS token: a learned vector; its final state is classified">'
             'CLS</span>']
    for i, patch in enumerate(r.patches):
        chips.append(f'<span class="vz-tok">{frames.img_tag(frames.rgb_uri(patch), f"patch {i + 1}", 24)}'
                     f'<sub>{i + 1}</sub></span>')
    seq = (f'<div class="vz-seq" role="list" aria-label="the token sequence: CLS then {g * g} patches">'
           + "".join(chips).replace('<span class="vz-tok', '<span role="listitem" class="vz-tok') + "</div>")
    return (f'{STYLE}<div class="vz-row">{big}<div class="vz-seqbox"><p class="caption">The sequence the transformer '
            f'reads: 1 CLS token + {g * g} patch tokens ({1 + g * g} in all), each patch flattened to '
            f'{p * p} numbers and projected to a vector, plus a position embedding.</p>{seq}</div></div>')


def attention_scrubber(r: VisionResult) -> str:
    """One scrubber, axes Layer x Head: the CLS token's attention over the patches for that head,
    the layer's mean over heads, and the rollout through layers 1..layer."""
    frames_: dict[tuple[int, int], str] = {}
    for layer in range(r.layers):
        roll = rollout_of(r.attentions[:layer + 1])[0, 1:].reshape(r.grid, r.grid)
        mean = r.cls_map(layer)
        for head in range(r.heads):
            m = r.cls_map(layer, head)
            top = int(m.argmax())
            pics = [
                _wrap(frames.rgb_uri(overlay(r.image, m)),
                      f"CLS attention of layer {layer + 1}, head {head + 1}, over the digit; brightest patch "
                      f"row {top // r.grid + 1}, column {top % r.grid + 1}",
                      f"layer {layer + 1}, head {head + 1}<br>max {m.max():.0%} of its attention",
                      _box(top // r.grid, top % r.grid, r.grid)),
                _wrap(frames.rgb_uri(overlay(r.image, mean)), f"CLS attention of layer {layer + 1}, mean of the heads",
                      f"layer {layer + 1}, all heads (mean)<br>max {mean.max():.0%}"),
                _wrap(frames.rgb_uri(overlay(r.image, roll)), f"attention rollout through layers 1 to {layer + 1}",
                      f"rollout, layers 1-{layer + 1}<br>max {roll.max():.0%}"),
            ]
            cls_self = float(r.attentions[layer, head, 0, 0])
            frames_[(layer + 1, head + 1)] = (
                "".join(pics) + f'<p class="caption">Head {head + 1} of layer {layer + 1}: the CLS token keeps '
                f'{cls_self:.0%} of its attention on itself and spreads the rest over the {r.grid ** 2} patches '
                '(brighter = more; the orange square marks the most attended patch).</p>')
    return frames.scrubber(
        [frames.Axis("Layer", 1, r.layers, r.layers, f"of {r.layers}"),
         frames.Axis("Head", 1, r.heads, 1, f"of {r.heads}")], frames_,
        header=STYLE + '<p class="caption"><b>Where does the CLS token look?</b> Its row of the attention matrix, '
               'over the patches, drawn on the digit.</p>')


def patch_scrubber(r: VisionResult) -> str:
    """Pick a patch (Row, Column) and a Layer: where that patch's token looks (heads averaged)."""
    frames_: dict[tuple[int, int, int], str] = {}
    g = r.grid
    for layer in range(r.layers):
        for row in range(g):
            for col in range(g):
                i = row * g + col
                m = r.patch_map(i, layer)
                box = _box(row, col, g, "#ffffff")
                frames_[(layer + 1, row + 1, col + 1)] = _wrap(
                    frames.rgb_uri(overlay(r.image, m)),
                    f"where patch row {row + 1}, column {col + 1} looks in layer {layer + 1}",
                    f"patch ({row + 1}, {col + 1}), layer {layer + 1}: {m[row, col]:.0%} on itself, "
                    f"{r.attentions[layer, :, 1 + i, 0].mean():.0%} on CLS", box)
    return frames.scrubber(
        [frames.Axis("Layer", 1, r.layers, 1, f"of {r.layers}"), frames.Axis("Row", 1, g, (g + 1) // 2),
         frames.Axis("Column", 1, g, (g + 1) // 2)], frames_,
        header=STYLE + '<p class="caption"><b>Pick a patch to see where it looks</b> (the white square; heads averaged). '
               'Every patch attends to every other patch: full, not causal, attention.</p>')


def decided_view(d: DecidedResult) -> str:
    """A Step scrubber: x_t, the predicted clean image x0, and the ViT's reading of x0 at that
    step; below it the probability of the leading digits across all steps."""
    frames_ = {}
    for i in range(d.steps):
        p = d.probs[i]
        frames_[(i + 1,)] = (
            '<div class="vz-row">'
            + frames.figure_tag(frames.rgb_uri(d.x_t[i]), f"x_t (t = {d.timesteps[i]})",
                                f"the noisy image at step {i + 1}", 112)
            + frames.figure_tag(frames.rgb_uri(d.x0[i]), "predicted clean image x0",
                                f"the model's guess of the clean image at step {i + 1}", 112)
            + (frames.figure_tag(frames.rgb_uri(d.seen[i]), "what the ViT reads",
                                 f"the stroke of x0 at step {i + 1}, cut out and centred for the ViT", 112)
               if d.seen is not None else "")
            + f'<div class="vz-bars">{prediction_bars(p, f"ViT reading x0 at step {i + 1}")}</div></div>')
    leaders = [int(k) for k in np.argsort(-d.probs.max(0))[:4]]
    steps = np.arange(1, d.steps + 1)
    series = [dict(label=f"digit {k}", x=steps, y=d.probs[:, k], color=PALETTE[j], dash=j % 2 == 1)
              for j, k in enumerate(leaders)]
    chart = charts.line_svg(series, "denoising step", "ViT probability", title="The ViT's reading of x0, step by step",
                            ylim=(0.0, 1.0), vline=d.decided_step + 1, width=520)
    return frames.scrubber([frames.Axis("Step", 1, d.steps, d.steps, f"of {d.steps}")], frames_, header=STYLE,
                           footer=f'<div class="vz-chart">{chart}</div>', play=True)


def decided_summary(d: DecidedResult) -> str:
    """What this run shows, every clause computed from it: where the reading stopped changing, what the
    ViT read early on, and whether that early reading was the final digit."""
    asked = f"asked for {frames.article(d.label)} **{d.label}**" if d.label is not None else "asked for **no particular digit**"
    k = d.decided_step
    head = d.probs[: max(1, d.steps // 10)]  # the first tenth of the run
    early = int(np.bincount(head.argmax(1), minlength=10).argmax())
    early_conf = float(head[:, early].mean())
    text = (f"{d.model} was {asked} ({d.steps} steps). The ViT reads the final image as {frames.article(d.final)} **{d.final}**, and its "
            f"top guess stops changing at **step {k + 1} of {d.steps}** (t = {int(d.timesteps[k])}), "
            f"{(k + 1) / d.steps:.0%} of the way through. In the first tenth of the run it reads {frames.article(early)} **{early}** "
            f"({early_conf:.0%} on average)")
    if early != d.final:
        text += ": a confident reading of the blurry early guess, which the run later overturned."
    else:
        text += ", already the final digit."
    if (k + 1) / d.steps <= 0.2:
        text += " Here the identity was fixed early; the remaining steps sharpen strokes and edges."
    else:
        text += f" Here the identity was settled only after {(k + 1) / d.steps:.0%} of the steps."
    return text


def decided_table(d: DecidedResult) -> list[list]:
    """Rows (step, t, the ViT's top digit, its probability, P(asked digit)) for a gr.Dataframe."""
    rows = []
    for i in range(d.steps):
        top = int(d.probs[i].argmax())
        rows.append([i + 1, int(d.timesteps[i]), top, round(float(d.probs[i, top]), 3),
                     round(float(d.probs[i, d.label]), 3) if d.label is not None else None])
    return rows


CSS = """
.vz-row {display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.vz-wrap {position:relative;display:inline-block;line-height:0}
.vz-box {position:absolute;border:2px solid;box-sizing:border-box;pointer-events:none}
.vz-grid {position:absolute;inset:0;pointer-events:none;
  background-image:linear-gradient(to right, rgba(230,159,0,.8) 1px, transparent 1px),
                   linear-gradient(to bottom, rgba(230,159,0,.8) 1px, transparent 1px)}
.vz-seqbox {flex:1;min-width:260px}
.vz-seq {display:flex;flex-wrap:wrap;gap:3px}
.vz-tok {display:inline-flex;flex-direction:column;align-items:center;font-size:10px;color:var(--body-text-color-subdued)}
.vz-tok img {border:1px solid #888}
.vz-cls {padding:6px 4px;border:2px solid #d55e00;border-radius:4px;font-weight:700;color:#d55e00;font-size:12px}
.vz-bars {min-width:240px;flex:1}
"""
STYLE = f"<style>{CSS}</style>"  # shipped with each view: the tab's CSS needs no shared-file edit
