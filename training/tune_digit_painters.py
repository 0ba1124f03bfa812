"""Choose the MaskGIT painter's sampling settings on validation seeds (200-219; the card's figures use
seeds 1000 and up): how often tiny-vit reads the digit asked, for each guidance scale, sampling
temperature and number of passes (<= 16). Writes assets/models/tiny-painters/sampling.json.

    python -m training.tune_digit_painters              # about 4 minutes on 2 cores
    python -m training.tune_digit_painters --seeds 5 --no-write
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import torch

import models
from explainers.image_tokens import vit_reading
from models.image_tokens import detokenize, paint_maskgit

ASSET = Path(__file__).resolve().parent.parent / "assets" / "models" / "tiny-painters"
SEED0 = 200
GUIDANCE = (1.0, 2.0, 3.0, 4.0)
TEMPERATURE = (1.0, 0.8)
PASSES = (12, 16)


def read_as_asked(model, passes: int, temperature: float, guidance: float, seeds: int) -> float:
    hits = 0
    for digit in range(10):
        for seed in range(SEED0, SEED0 + seeds):
            p = paint_maskgit(model, digit, passes, seed, temperature=temperature, guidance=guidance)
            probs = vit_reading(detokenize(p.tokens))
            hits += int(probs.any() and int(probs.argmax()) == digit)
    return hits / (10 * seeds)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--no-write", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    model = models.load("tiny-painter-maskgit").model
    rows = []
    for guidance, temperature, passes in itertools.product(GUIDANCE, TEMPERATURE, PASSES):
        rows.append(dict(guidance=guidance, temperature=temperature, passes=passes,
                         read_as_asked=read_as_asked(model, passes, temperature, guidance, a.seeds)))
        print(json.dumps(rows[-1]), flush=True)
    best = max(rows, key=lambda r: (r["read_as_asked"], -r["passes"]))
    out = dict(seeds=[SEED0, SEED0 + a.seeds - 1], per_digit=a.seeds, rows=rows, chosen=best)
    print("chosen:", json.dumps(best))
    if not a.no_write:
        (ASSET / "sampling.json").write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {ASSET / 'sampling.json'}")


if __name__ == "__main__":
    main()
