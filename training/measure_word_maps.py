"""Where tiny-t2i reads each kind of word: the measured table behind the word maps' explanation.

For many prompts "a {colour} {digit} on a {colour} background" (every digit, colour pairs drawn at
random, one seed each; the page's defaults: 25 steps, guidance 3), each word's cross-attention is
summed over the steps (DAAM) and compared between the patches the digit's strokes cover in the final
image and the background's patches:

    ratio = (attention per unit of digit area) / (attention per unit of background area)

above 1: the word is read more on the digit; below 1: more on the background. The Text to image tab
and the lesson write their sentences about the maps from this table, so they say what the model
does, whatever a textbook says.

    python -m training.measure_word_maps                # 80 prompts, about a minute on 2 cores
    python -m training.measure_word_maps --prompts 200

Writes assets/models/tiny-t2i-digits/word_maps.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from explainers import text_to_image as t2i
from models.text_image_data import COLOUR_NAMES, HELD_OUT_PAIRS, background_distance

OUT = Path("assets/models/tiny-t2i-digits/word_maps.json")
TEMPLATE = "a {f} {d} on a {b} background"
KINDS = ("digit", "digit colour", "background colour", "background", "a", "on")
STROKE = 0.3  # a pixel this far (RGB distance) from the background colour belongs to the digit


def kinds_of(words: list[str], digit: int, fg: str, bg: str) -> dict[str, int]:
    """Kind -> index of that word in `words` (the first 'a' is the digit's article)."""
    out = {}
    for i, w in enumerate(words):
        kind = {str(digit): "digit", fg: "digit colour", bg: "background colour"}.get(w, w)
        if kind in KINDS and kind not in out:
            out[kind] = i
    return out


def ratios(r, digit: int, fg: str, bg: str) -> dict[str, float]:
    words, maps = t2i.word_maps(r.tokens, r.cross_attention.sum(axis=0))  # (W, h, w) summed over steps
    _, dist = background_distance(r.image)
    side = maps.shape[-1]
    k = dist.shape[0] // side
    stroke = (dist > STROKE).reshape(side, k, side, k).mean(axis=(1, 3))  # (h, w): share of each patch on the digit
    if stroke.sum() < 1 or (1 - stroke).sum() < 1:
        return {}
    out = {}
    for kind, i in kinds_of(words, digit, fg, bg).items():
        m = maps[i]
        on_digit = float((m * stroke).sum() / stroke.sum())
        on_background = float((m * (1 - stroke)).sum() / (1 - stroke).sum())
        out[kind] = on_digit / max(on_background, 1e-12)
    return out


def measure(n_prompts: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    per_kind: dict[str, list[float]] = {k: [] for k in KINDS}
    done = 0
    while done < n_prompts:
        d = done % 10
        fg, bg = (str(c) for c in rng.choice(COLOUR_NAMES, size=2, replace=False))
        if (d, fg) in HELD_OUT_PAIRS:
            continue
        r = t2i.generate(TEMPLATE.format(d=d, f=fg, b=bg), seed=int(rng.integers(10**6)))
        for kind, v in ratios(r, d, fg, bg).items():
            per_kind[kind].append(v)
        done += 1
    table = {k: dict(median=round(float(np.median(v)), 2), mean=round(float(np.mean(v)), 2),
                     share_above_1=round(float(np.mean(np.array(v) > 1)), 2), n=len(v))
             for k, v in per_kind.items() if v}
    return dict(what="density of each word's cross-attention (summed over steps, mean of layers and heads) on the "
                     "digit's patches / on the background's patches, final image of each run",
                template=TEMPLATE, prompts=n_prompts, steps=t2i.DEFAULT_STEPS, guidance=t2i.DEFAULT_GUIDANCE,
                stroke_threshold=STROKE, ratio=table, command="python -m training.measure_word_maps")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--prompts", type=int, default=80)
    p.add_argument("--out", default=str(OUT))
    a = p.parse_args(argv)
    res = measure(a.prompts)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
