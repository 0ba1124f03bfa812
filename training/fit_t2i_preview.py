"""Fit tiny-t2i's preview decoder: what TAESD is to Stable Diffusion, for the per-step pictures.

The Text to image tab shows, at every step, the current latent and the model's guesses decoded to
pixels. Through the full VAE decoder (336 MFLOPs a latent) that costs more than the denoiser pass
itself. A much smaller decoder (diffusers' `AutoencoderTiny`, only its decoder used) is trained
to copy the full decoder's output on the latents a sampling run really visits (x_t and the x0
guesses at every step, random training captions and seeds), then measured on held-out runs
(PSNR against the full decoder). The final image is always decoded by the full decoder.

    python -m training.fit_t2i_preview                  # ~5 minutes on 2 CPU cores
    python -m training.fit_t2i_preview --steps 300      # a quick try

Writes assets/models/tiny-t2i-digits/preview/ (config.json, diffusion_pytorch_model.safetensors,
preview.json with the measured figures).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import models
from explainers import text_to_image as t2i
from models.text_image_data import COLOUR_NAMES, HELD_OUT_PAIRS, TEMPLATES

OUT = Path("assets/models/tiny-t2i-digits/preview")
CONFIG = dict(in_channels=3, out_channels=3, latent_channels=4, upsampling_scaling_factor=2,
              encoder_block_out_channels=(8, 8), num_encoder_blocks=(1, 1),
              decoder_block_out_channels=(24, 24), num_decoder_blocks=(1, 1), act_fn="relu")


def prompts(n: int, rng: np.random.Generator) -> list[str]:
    out = []
    while len(out) < n:
        d = int(rng.integers(10))
        fg, bg = rng.choice(COLOUR_NAMES, size=2, replace=False)
        if (d, str(fg)) in HELD_OUT_PAIRS:
            continue
        out.append(str(rng.choice(TEMPLATES)).format(d=d, f=fg, b=bg) if rng.random() > 0.1 else "")
    return out


@torch.inference_mode()
def visited_latents(bundle, n_prompts: int, seed: int, steps: int = t2i.DEFAULT_STEPS) -> torch.Tensor:
    """Every x_t and x0 guess of n_prompts guided runs: (n_prompts * (2 * steps + 1), C, h, w)."""
    rng = np.random.default_rng(seed)
    texts = prompts(n_prompts, rng)
    encoded = [t2i.encode_prompt(p) for p in texts]
    empty = t2i.encode_prompt("")
    states, mask = t2i.pad_prompts(encoded)
    uncond = (empty.states.expand(n_prompts, -1, -1), torch.ones(n_prompts, empty.states.shape[1]))
    noise = t2i.start_noise(bundle, [seed * 10_000 + i for i in range(n_prompts)])
    run = t2i.sample(bundle, (states, mask), uncond, noise, steps, t2i.DEFAULT_GUIDANCE, keep_all=True)
    return torch.cat([run["all_latents"], run["all_x0"]])


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per image, images in [-1, 1]."""
    mse = ((a.clamp(-1, 1) - b.clamp(-1, 1)) / 2).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1 / mse.clamp_min(1e-10))


def main(argv=None) -> None:
    from diffusers import AutoencoderTiny  # heavy import, only for this script

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--prompts", type=int, default=96)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    torch.manual_seed(0)
    bundle = models.load("tiny-t2i")
    vae = bundle.vae

    def full(lat: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return torch.cat([vae.decode(c / vae.config.scaling_factor).sample for c in lat.split(256)])

    t0 = time.perf_counter()
    train_lat = visited_latents(bundle, args.prompts, seed=1)
    test_lat = visited_latents(bundle, 16, seed=2)
    train_img, test_img = full(train_lat).clone(), full(test_lat).clone()
    train_lat, test_lat = train_lat.clone(), test_lat.clone()
    print(f"{len(train_lat)} training latents, {len(test_lat)} held-out, {time.perf_counter() - t0:.0f} s")

    tiny = AutoencoderTiny(**CONFIG)
    dec = tiny.decoder
    opt = torch.optim.AdamW(dec.parameters(), lr=2e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=args.steps, pct_start=0.1)
    for step in range(args.steps):
        idx = torch.randint(len(train_lat), (args.batch,))
        loss = torch.nn.functional.l1_loss(dec(train_lat[idx]), train_img[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0 or step == args.steps - 1:
            with torch.inference_mode():
                q = psnr(dec(test_lat), test_img)
            print(f"step {step}: loss {loss.item():.4f}, held-out PSNR median {q.median():.1f} dB")
    tiny.eval()
    with torch.inference_mode():
        q = psnr(tiny.decoder(test_lat), test_img)
        x = test_lat[:64]
        reps = 20
        t = time.perf_counter()
        for _ in range(reps):
            tiny.decoder(x)
        tiny_ms = (time.perf_counter() - t) / reps / len(x) * 1000
        t = time.perf_counter()
        for _ in range(reps):
            vae.decode(x / vae.config.scaling_factor)
        full_ms = (time.perf_counter() - t) / reps / len(x) * 1000
    out = Path(args.out)
    tiny.save_pretrained(out)
    cfg = json.loads((out / "config.json").read_text())
    cfg.pop("block_out_channels", None)  # a key AutoencoderTiny writes but does not accept back (a warning at load)
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    figures = dict(
        what="tiny-t2i preview decoder (AutoencoderTiny's decoder) fitted to the full VAE decoder's output",
        training_latents=len(train_lat), training_steps=args.steps, held_out_latents=len(test_lat),
        held_out_psnr_db=dict(median=round(float(q.median()), 1), p10=round(float(q.quantile(0.1)), 1)),
        ms_per_latent=dict(preview=round(tiny_ms, 3), full=round(full_ms, 3)),
        parameters=dict(preview=sum(p.numel() for p in tiny.decoder.parameters()),
                        full=sum(p.numel() for p in vae.decoder.parameters())),
        command="python -m training.fit_t2i_preview", torch_threads=torch.get_num_threads(),
    )
    (out / "preview.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
