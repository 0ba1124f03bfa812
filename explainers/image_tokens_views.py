"""Views of a transformer painting a digit (explainers.image_tokens): one scrubber per method over its
forward passes (the canvas so far, what this pass added, and for the autoregressive painter the
distribution it drew the pixel from), the order in which MaskGIT decided the regions, tiny-ddpm on the
same digit, and the measured side-by-side table."""

from __future__ import annotations

import html
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from explainers import charts, frames
from explainers.image_tokens import AR_TEMPERATURE, MASKGIT_GUIDANCE, DiffusionReference, PaintResult
from models.image_tokens import LEVELS, SIDE

SHOW = 168  # pixels a 14 x 14 canvas is drawn at
UNPAINTED = np.array([0.55, 0.62, 0.72], np.float32)  # a blue-grey: not painted yet (never a grey level)
NEW = np.array([0.84, 0.37, 0.0], np.float32)  # Okabe-Ito vermillion: painted in this pass
METRICS = Path(__file__).resolve().parent.parent / "assets" / "models" / "tiny-painters" / "metrics.json"


def canvas_rgb(r: PaintResult, after: int) -> np.ndarray:
    """(14, 14, 3): grey levels as ink (white on black, as the ViT reads it), unpainted in blue-grey,
    the tokens of pass `after` tinted orange."""
    c = r.canvas(after)
    grey = np.clip(c, 0, None).astype(np.float32) / (LEVELS - 1)
    rgb = np.repeat(grey[..., None], 3, -1)
    rgb[c < 0] = UNPAINTED
    if after > 0:
        new = np.zeros(SIDE * SIDE, bool)
        new[list(r.order[after - 1])] = True
        new = new.reshape(SIDE, SIDE)
        rgb[new] = 0.45 * rgb[new] + 0.55 * NEW
    return rgb


def _level_bars(p: np.ndarray, chosen: int) -> str:
    return charts.bars_html([f"level {i} ({'blank' if i == 0 else 'ink' if i == LEVELS - 1 else 'grey'})"
                             for i in range(LEVELS)], p, highlight=chosen, vmax=1.0,
                            title=f"The distribution this pixel was drawn from (temperature {AR_TEMPERATURE:g})")


def paint_view(r: PaintResult) -> str:
    """Pass 0..passes: the canvas as it fills in; autoregressive frames also show the bars for the
    pixel drawn, MaskGIT frames how many tokens the pass revealed and how sure it was of them."""
    pics = frames.Pictures()
    items = {}
    for k in range(r.passes + 1):
        img = frames.img_tag(frames.rgb_uri(canvas_rgb(r, k), pics), f"The canvas after {k} passes", SHOW)
        if k == 0:
            note = f"Before the first pass: all {SIDE * SIDE} tokens still to paint (blue-grey)."
            extra = ""
        elif r.method == "autoregressive":
            pos = r.order[k - 1][0]
            row, col = divmod(pos, SIDE)
            lvl = int(r.tokens[pos])
            note = (f"Pass {k}: pixel row {row + 1}, column {col + 1} (orange), drawn as level {lvl} with "
                    f"probability {r.confidence[pos]:.0%}. It sees only the pixels above and to the left.")
            extra = _level_bars(r.level_probs[k - 1], lvl)
        else:
            idx = list(r.order[k - 1])
            note = (f"Pass {k}: {len(idx)} tokens revealed (orange), the ones it was surest of "
                    f"(mean {float(np.mean(r.confidence[idx])):.0%}); "
                    f"{SIDE * SIDE - sum(len(o) for o in r.order[:k])} still masked. Every pass sees the whole canvas.")
            extra = ""
        items[(k,)] = f'<div style="display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start">{img}<div>' \
                      f'<p class="caption">{html.escape(note)}</p>{extra}</div></div>'
    name = "Pixel pass" if r.method == "autoregressive" else "Unmasking pass"
    axis = frames.Axis(name, 0, r.passes, r.passes, f"of {r.passes} forward passes")
    return frames.scrubber([axis], items, play=True, pics=pics)


def order_view(r: PaintResult) -> str:
    """Which pass decided each token (MaskGIT: regions, not raster order)."""
    when = r.decided_at().astype(np.float32)
    uri = frames.heat_uri(when, 1, max(r.passes, 2))
    first = np.unravel_index(int(np.argmin(np.where(when > 0, when, np.inf))), when.shape)
    ink_first = float(r.tokens.reshape(SIDE, SIDE)[when <= max(1, r.passes // 3)].mean()) / (LEVELS - 1)
    ink_all = float(r.tokens.mean()) / (LEVELS - 1)
    return (frames.figure_tag(uri, f"the pass that decided each token (1 to {r.passes})",
                              f"Order map: the first token decided at row {first[0] + 1}, column {first[1] + 1}", SHOW)
            + frames.colour_scale(frames.CMAP, "pass 1", f"pass {r.passes}")
            + f'<p class="caption">Mean ink of the tokens decided in the first third of the passes: {ink_first:.2f}; '
              f"of the whole digit: {ink_all:.2f}.</p>")


def diffusion_view(d: DiffusionReference) -> str:
    """tiny-ddpm's guess of the finished digit (x0) at each of its steps."""
    pics = frames.Pictures()
    items = {(k,): frames.figure_tag(frames.rgb_uri(d.x0_pred[k - 1], pics), f"step {k}: the model's guess of the digit",
                                     f"tiny-ddpm's guess of the clean digit at step {k}", SHOW)
             for k in range(1, d.passes + 1)}
    return frames.scrubber([frames.Axis("Step", 1, d.passes, d.passes, f"of {d.passes} denoising passes")], items,
                           play=True, pics=pics)


def _reading(probs: np.ndarray) -> str:
    return f"{frames.article(int(probs.argmax()))} {int(probs.argmax())} ({probs.max():.0%})" if probs.any() else "nothing (not digit-like)"


def summary(ar: PaintResult, mg: PaintResult, d: DiffusionReference) -> str:
    """Markdown: passes, tokens per pass, time and the ViT's reading of each, from these runs."""
    guided = f" (guidance {MASKGIT_GUIDANCE:g}: 2 sequences per pass)" if MASKGIT_GUIDANCE != 1 else ""
    rows = [("Transformer, autoregressive", ar.passes, "1", ar.seconds, _reading(ar.vit_probs)),
            ("Transformer, MaskGIT" + guided, mg.passes, f"{196 / mg.passes:.0f} on average", mg.seconds,
             _reading(mg.vit_probs)),
            ("Diffusion (tiny-ddpm)", d.passes, "the whole image, refined", d.seconds, _reading(d.vit_probs))]
    body = "\n".join(f"| {m} | {p} | {t} | {s:.2f} s | {rd} |" for m, p, t, s, rd in rows)
    return (f"Asked for {frames.article(ar.digit)} **{ar.digit}** (seed {ar.seed}).\n\n| how | forward passes | tokens per pass | time | "
            f"the ViT reads |\n|---|---|---|---|---|\n{body}")


@lru_cache(maxsize=1)
def metrics() -> dict:
    return json.loads(METRICS.read_text()) if METRICS.exists() else {}


def measured_table() -> str:
    """Markdown: how often the ViT reads the asked digit, per method (training/eval_digit_painters.py)."""
    m = metrics()
    if not m:
        return "*(Not measured yet: run `python -m training.eval_digit_painters`.)*"
    rows = "\n".join(f"| {r['method']} | {r['passes']} | {r['read_as_asked']:.1%} | {r['seconds_median']:.2f} s |"
                     for r in m["rows"])
    return (f"Measured here on {m['per_digit']} paintings of each digit (seeds the page does not use): how often "
            f"the ViT reads the digit that was asked.\n\n| how | passes | read as asked | time (median) |\n"
            f"|---|---|---|---|\n{rows}")
