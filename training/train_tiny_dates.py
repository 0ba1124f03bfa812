"""Train tiny-dates: a small encoder-decoder Transformer (BART layout) that turns dates written by
people into ISO 8601, character by character. Minutes on a 2-core CPU.

    python -m training.train_tiny_dates                 # -> assets/models/tiny-dates/
    python -m training.train_tiny_dates --steps 200 --out /tmp/d   # a quick smoke run

Data: `models.dates` (every date 1900-2099 in eight formats, drawn afresh for every batch from
the training dates; years ending in 7 and one day in 23 never appear). The checkpoint kept is the
last one; the card's figures are measured afterwards by `training.eval_tiny_dates`.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import torch
from transformers import BartConfig, BartForConditionalGeneration

from models.dates import (
    FORMATS,
    MAX_SOURCE_CHARS,
    TARGET_CHARS,
    all_dates,
    char_tokenizer,
    iso,
    render,
    split_of,
    vary_case,
)

OUT = Path(__file__).resolve().parent.parent / "assets" / "models" / "tiny-dates"


def config(tok) -> BartConfig:
    return BartConfig(
        vocab_size=len(tok), d_model=128, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=256, decoder_ffn_dim=256, max_position_embeddings=64,
        dropout=0.1, attention_dropout=0.0, activation_function="gelu", pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.bos_token_id,
        forced_eos_token_id=None, scale_embedding=True, tie_word_embeddings=True,
        max_length=TARGET_CHARS + 2, num_beams=1, attn_implementation="eager")


class Batches:
    """Endless training batches: a random training date in a random format (sometimes re-cased)."""

    def __init__(self, tok, batch: int, seed: int):
        self.tok, self.batch, self.rng = tok, batch, random.Random(seed)
        self.pool = [d for d in all_dates() if split_of(d) == "train"]
        self.fmts = tuple(FORMATS)

    def __next__(self):
        src, tgt = [], []
        for _ in range(self.batch):
            d = self.rng.choice(self.pool)
            src.append(vary_case(render(d, self.rng.choice(self.fmts)), self.rng))
            tgt.append(iso(d))
        enc = self.tok(src, padding=True, return_tensors="pt")
        labels = self.tok(tgt, padding=True, return_tensors="pt").input_ids  # 10 chars + </s>
        return enc.input_ids, enc.attention_mask, labels


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args(argv)
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    tok = char_tokenizer()
    model = BartForConditionalGeneration(config(tok))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"tiny-dates: {n_params:,} parameters; source <= {MAX_SOURCE_CHARS} chars", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01, betas=(0.9, 0.98))
    warm = max(1, a.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / a.steps))))
    batches = Batches(tok, a.batch, a.seed)
    model.train()
    t0, avg = time.perf_counter(), None
    log = []
    for step in range(1, a.steps + 1):
        ids, mask, labels = next(batches)
        labels = labels.masked_fill(labels == tok.pad_token_id, -100)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        if step % 200 == 0 or step == a.steps:
            el = time.perf_counter() - t0
            print(f"step {step:5d}  loss {avg:.4f}  {el:6.0f} s", flush=True)
            log.append(dict(step=step, loss=round(avg, 5), seconds=round(el, 1)))
    seconds = time.perf_counter() - t0
    model.eval()
    a.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(a.out)
    tok.save_pretrained(a.out)
    (a.out / "training.json").write_text(json.dumps(dict(
        parameters=n_params, steps=a.steps, batch=a.batch, lr=a.lr, seed=a.seed, threads=a.threads,
        seconds=round(seconds, 1), device="cpu", log=log), indent=1) + "\n")
    print(f"saved to {a.out} after {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
