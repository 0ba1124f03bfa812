"""Figures for the Vision tab, measured on the embedded models (tiny-ddpm + tiny-vit):

1. "When is the picture decided?": for a few prompts and seeds, the ViT's probability of the
   asked digit on x0 at chosen steps, and the step from which its top digit never changes.
2. Sketch to digit (SDEdit) over t: held-out real digits of class c used as drawings, steered
   toward another digit d = (c + 3) % 10; how often the ViT reads the result as d (the label won)
   and as c (the drawing survived), at each t of the trade-off slider.

    python -m benchmarks.vision_figures --per-digit 2
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-digit", type=int, default=2, help="held-out drawings per digit class for SDEdit")
    p.add_argument("--json", default="", help="also write the figures here")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    from explainers import editing, vision
    from models.digits import held_out_mask, mnist_digits

    out: dict = {"decided": [], "sdedit": {}}
    for prompt, seed in (("a handwritten 7", 0), ("the number 3", 1), ("draw a zero", 2), ("a handwritten 5", 3)):
        d = vision.decided(prompt, 50, 3.0, seed)
        p_asked = d.probs[:, d.label]
        marks = {s: round(float(p_asked[s - 1]), 3) for s in (1, 5, 10, 15, 20, 30, 50)}
        out["decided"].append(dict(prompt=prompt, seed=seed, label=d.label, final=d.final,
                                   decided_step=d.decided_step + 1, p_asked_at_step=marks))
        print(f"decided: {prompt!r} seed {seed}: final {d.final}; top digit fixed from step {d.decided_step + 1} "
              f"of 50; P(asked) at steps {marks}", flush=True)
    x, y = mnist_digits()
    pool = np.flatnonzero(held_out_mask(len(x)))
    ts = editing.SWEEP
    hits_target = {t: 0 for t in ts}
    hits_source = {t: 0 for t in ts}
    n = 0
    for c in range(10):
        for k in range(a.per_digit):
            i = pool[np.flatnonzero(y[pool] == c)[k * 7]]
            target = (c + 3) % 10
            runs = editing.sketch_sweep(x[i], target, 50, 3.0, int(k))
            for r in runs:
                top = int(r.vit_probs.argmax())
                hits_target[r.t] += top == target
                hits_source[r.t] += top == c
            n += 1
    out["sdedit"] = {str(t): dict(read_as_asked=round(hits_target[t] / n, 3), read_as_drawn=round(hits_source[t] / n, 3))
                     for t in ts}
    out["sdedit_drawings"] = n
    for t in ts:
        print(f"sdedit t={t}: read as the digit asked {hits_target[t] / n:.0%}, as the digit drawn "
              f"{hits_source[t] / n:.0%} ({n} drawings)", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
