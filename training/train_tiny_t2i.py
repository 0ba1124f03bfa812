"""Train `tiny-t2i`: a miniature Stable-Diffusion-style stack on captioned colour digits.

    python -m training.train_tiny_t2i                      # all stages, resumable (runs/tiny-t2i/)
    python -m training.train_tiny_t2i --stage dit --time-limit 3600
    python -m training.train_tiny_t2i --vae-steps 50 --pool 512 --dit-steps 50 --out /tmp/t2i   # smoke run

Three stages, each resumable from `--workdir`:
1. vae:  a diffusers `AutoencoderKL` learns 32x32x3 images <-> 4x16x16 latents (MSE + L1 + a small
         KL term). Its `scaling_factor` is set so the latents have unit variance.
2. pool: a fixed pool of random scenes (models/text_image_data.py) is encoded once: the latent of
         each image and the token states of its caption from the embedded `minilm` encoder
         (frozen, as CLIP is in Stable Diffusion).
3. dit:  a diffusers `PixArtTransformer2DModel` (self-attention over the 8x8 = 64 patches of 2x2 latents,
         cross-attention to the caption's tokens, adaLN-single timestep conditioning) learns to
         predict v (Salimans & Ho 2022) under a cosine schedule, with min-SNR-5 loss weights
         (Hang et al. 2023) and EMA weights (what ships). 10% of captions are empty, so the same
         network gives the unconditional prediction that classifier-free guidance needs.

Runs on CUDA when present, else on the CPU; deterministic for a seed on one device.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from models.text_image_data import IMAGE_SIZE, MAX_TOKENS, random_caption, random_scene, render

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "assets" / "models" / "tiny-t2i-digits"
VAE_CONFIG = dict(
    in_channels=3, out_channels=3, latent_channels=4, sample_size=IMAGE_SIZE,
    down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
    block_out_channels=(32, 64), layers_per_block=1, norm_num_groups=16,
)
DIT_CONFIG = dict(
    sample_size=16, patch_size=2, in_channels=4, out_channels=4, num_layers=6,
    num_attention_heads=4, attention_head_dim=32, cross_attention_dim=128, caption_channels=384,
    interpolation_scale=1, norm_num_groups=32,
)
SCHEDULER_CONFIG = dict(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2",
                        prediction_type="v_prediction", clip_sample=False)


def build_vae(seed: int = 0):
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    return AutoencoderKL(**VAE_CONFIG)


def build_dit(seed: int = 0):
    from diffusers import PixArtTransformer2DModel

    torch.manual_seed(seed)
    return PixArtTransformer2DModel(**DIT_CONFIG)


def training_split() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """digits, labels and the indices trained on (the last 100 of each digit are held out)."""
    from models.digits import held_out_mask, mnist_digits

    x, y = mnist_digits()
    return x, y, np.flatnonzero(~held_out_mask(len(x)))


def scene_batch(rng, n, x, y, train_index) -> tuple[torch.Tensor, list]:
    """n random scenes rendered as (n, 3, 32, 32) in [-1, 1], with the scenes."""
    scenes = [random_scene(rng, y, train_index) for _ in range(n)]
    imgs = np.stack([render(s, x, jitter=rng.normal(0, 0.03, (2, 3))) for s in scenes])  # (n, 32, 32, 3)
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).float() * 2 - 1, scenes


def _resume(state_path: Path, device, name: str, vae, opt, sched, rng) -> tuple[int, float, list]:
    """Load an autoencoder stage's saved state into vae / opt / sched / rng: (step, seconds, losses)."""
    if not state_path.exists():
        return 0, 0.0, []
    s = torch.load(state_path, map_location=device, weights_only=False)
    vae.load_state_dict(s["vae"]), opt.load_state_dict(s["opt"]), sched.load_state_dict(s["sched"])
    rng.bit_generator.state = s["rng"]
    print(f"{name}: resumed at step {s['step']}", flush=True)
    return s["step"], s["elapsed"], s["losses"]


def _save_state(state_path: Path, vae, opt, sched, rng, step: int, elapsed: float, losses: list) -> None:
    torch.save(dict(vae=vae.state_dict(), opt=opt.state_dict(), sched=sched.state_dict(),
                    rng=rng.bit_generator.state, step=step, elapsed=elapsed, losses=losses), state_path)


def _loss_curve(losses: list) -> list[float]:
    """The mean loss of every 100 steps, for training.json."""
    return [round(float(np.mean(losses[i:i + 100])), 5) for i in range(0, len(losses), 100)]


def train_vae(args, device) -> None:
    state_path = args.workdir / "vae_state.pt"
    vae = build_vae(args.seed).to(device)
    opt = torch.optim.AdamW(vae.parameters(), lr=1e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=args.vae_steps,
                                                pct_start=max(0.05, 3 / args.vae_steps))
    rng = np.random.default_rng(args.seed)
    step, elapsed, losses = _resume(state_path, device, "vae", vae, opt, sched, rng)
    if step >= args.vae_steps and (args.out / "vae").exists():
        return
    x, y, train_index = training_split()
    print(f"vae: {sum(p.numel() for p in vae.parameters()):,} parameters", flush=True)
    vae.train()
    t0 = time.time()
    while step < args.vae_steps:
        imgs, _ = scene_batch(rng, args.batch, x, y, train_index)
        imgs = imgs.to(device)
        posterior = vae.encode(imgs).latent_dist
        recon = vae.decode(posterior.sample()).sample
        loss = (torch.nn.functional.mse_loss(recon, imgs) + 0.5 * (recon - imgs).abs().mean()
                + 1e-6 * posterior.kl().mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step(), sched.step()
        step += 1
        losses.append(loss.item())
        if step % 100 == 0 or step == args.vae_steps:
            elapsed += time.time() - t0
            t0 = time.time()
            print(f"vae step {step}/{args.vae_steps} loss {np.mean(losses[-100:]):.4f} elapsed {elapsed:.0f}s", flush=True)
            _save_state(state_path, vae, opt, sched, rng, step, elapsed, losses)
    # unit-variance latents: scaling_factor = 1 / std of the latent means over fresh scenes
    vae.eval()
    with torch.no_grad():
        imgs, _ = scene_batch(np.random.default_rng(12345), 1024, x, y, train_index)
        std = float(vae.encode(imgs.to(device)).latent_dist.mean.std())
    vae.register_to_config(scaling_factor=1.0 / std)
    copy.deepcopy(vae).to("cpu").save_pretrained(args.out / "vae", safe_serialization=True)
    _write_log(args.out, vae=dict(steps=step, batch=args.batch, seconds=round(elapsed, 1), latent_std=std,
                                  loss_curve=_loss_curve(losses)))
    print(f"vae: saved, latent std {std:.3f}", flush=True)


def stroke_weight(imgs: torch.Tensor, extra: float) -> torch.Tensor:
    """(N, 1, H, W) pixel weights: 1 on the background, up to 1 + extra on the digit's stroke (how far
    each pixel is from the median border colour, as the readers find the stroke)."""
    border = torch.cat([imgs[..., 0, :], imgs[..., -1, :], imgs[..., :, 0], imgs[..., :, -1]], dim=-1)
    bg = border.median(dim=-1).values[..., None, None]
    dist = (imgs - bg).norm(dim=1, keepdim=True)
    return 1 + extra * dist / dist.amax(dim=(2, 3), keepdim=True).clamp(min=1e-6)


def train_decoder(args, device) -> None:
    """Sharpen the decoder with the encoder frozen. The latents stay exactly what they were, so the
    denoiser trained on them needs no retraining; only what they decode to gets crisper. The loss
    weighs the digit's stroke (1 + 4x) so thin strokes keep their shape and their colour."""
    from diffusers import AutoencoderKL

    state_path = args.workdir / "decoder_state.pt"
    before = args.workdir / "vae_before_decoder"
    if not before.exists():  # the autoencoder as stage 1 left it: every (re)start begins from it
        AutoencoderKL.from_pretrained(args.out / "vae").save_pretrained(before, safe_serialization=True)
    vae = AutoencoderKL.from_pretrained(before).to(device)
    for p in vae.encoder.parameters():
        p.requires_grad_(False)
    for p in vae.quant_conv.parameters():
        p.requires_grad_(False)
    params = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
    opt = torch.optim.AdamW(params, lr=args.decoder_lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.decoder_lr, total_steps=args.decoder_steps,
                                                pct_start=0.03, final_div_factor=50)
    rng = np.random.default_rng(args.seed + 7)
    step, elapsed, losses = _resume(state_path, device, "decoder", vae, opt, sched, rng)
    if step >= args.decoder_steps:
        return
    x, y, train_index = training_split()
    vae.encoder.eval()
    vae.decoder.train()
    t0 = time.time()
    while step < args.decoder_steps and elapsed + (time.time() - t0) < args.time_limit:
        imgs, _ = scene_batch(rng, args.batch, x, y, train_index)
        imgs = imgs.to(device)
        with torch.no_grad():
            z = vae.encode(imgs).latent_dist.mean  # what the denoiser learnt to produce
        recon = vae.decode(z).sample
        w = stroke_weight(imgs, 4.0)
        err = recon - imgs
        loss = (w * (err ** 2 + 0.5 * err.abs())).mean() / w.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step(), sched.step()
        step += 1
        losses.append(loss.item())
        if step % 100 == 0 or step == args.decoder_steps:
            elapsed += time.time() - t0
            t0 = time.time()
            print(f"decoder step {step}/{args.decoder_steps} loss {np.mean(losses[-100:]):.4f} "
                  f"elapsed {elapsed:.0f}s", flush=True)
            _save_state(state_path, vae, opt, sched, rng, step, elapsed, losses)
            if step % 500 == 0 or step == args.decoder_steps:
                copy.deepcopy(vae).to("cpu").save_pretrained(args.out / "vae", safe_serialization=True)
                _write_log(args.out, decoder=dict(
                    steps=step, batch=args.batch, lr=args.decoder_lr, seconds=round(elapsed, 1),
                    loss="stroke-weighted (1 + 4x) MSE + 0.5 L1, encoder frozen",
                    loss_curve=_loss_curve(losses)))
    print(f"decoder: stopped at step {step}, {elapsed:.0f}s", flush=True)


def encode_captions(texts: list[str], device, batch: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """minilm token states (N, MAX_TOKENS, 384) fp16 and the attention mask (N, MAX_TOKENS)."""
    from models.catalog import load

    bundle = load("minilm")
    enc, tok = bundle.model.to(device), bundle.tokenizer
    states = torch.zeros(len(texts), MAX_TOKENS, 384, dtype=torch.float16)
    masks = torch.zeros(len(texts), MAX_TOKENS, dtype=torch.bool)
    with torch.no_grad():
        for i in range(0, len(texts), batch):
            b = tok(texts[i:i + batch], padding="max_length", truncation=True, max_length=MAX_TOKENS, return_tensors="pt").to(device)
            states[i:i + batch] = enc(**b).last_hidden_state.half().cpu()
            masks[i:i + batch] = b["attention_mask"].bool().cpu()
    bundle.model.to("cpu")
    return states, masks


def build_pool(args, device) -> dict:
    path = args.workdir / "pool.pt"
    if path.exists():
        return torch.load(path, weights_only=False)
    from diffusers import AutoencoderKL

    vae = AutoencoderKL.from_pretrained(args.out / "vae").to(device).eval()
    x, y, train_index = training_split()
    rng = np.random.default_rng(args.seed + 1)
    latents, scenes, texts = [], [], []
    t0 = time.time()
    with torch.no_grad():
        for i in range(0, args.pool, 512):
            imgs, sc = scene_batch(rng, min(512, args.pool - i), x, y, train_index)
            latents.append(vae.encode(imgs.to(device)).latent_dist.mean.cpu() * vae.config.scaling_factor)
            scenes += sc
            texts += [random_caption(s, rng) for s in sc]
    states, masks = encode_captions(texts, device)
    pool = dict(latents=torch.cat(latents), states=states, masks=masks, texts=texts,
                scenes=[s.__dict__ for s in scenes])
    torch.save(pool, path)
    print(f"pool: {len(texts)} scenes encoded in {time.time() - t0:.0f}s", flush=True)
    return pool


def train_dit(args, device) -> None:
    from diffusers import DDIMScheduler, DDPMScheduler
    from diffusers.training_utils import EMAModel

    pool = build_pool(args, device)
    latents, states, masks = pool["latents"].to(device), pool["states"], pool["masks"]
    dit = build_dit(args.seed).to(device)
    state_path = args.workdir / "dit_state.pt"
    fresh = not state_path.exists()
    if fresh and args.from_shipped:  # fine-tune: start from a trained denoiser's (EMA) weights
        from diffusers import PixArtTransformer2DModel

        shipped = PixArtTransformer2DModel.from_pretrained(args.from_shipped / "transformer")
        dit.load_state_dict({k: v.float() for k, v in shipped.state_dict().items()})
        print(f"dit: starting from {args.from_shipped / 'transformer'}", flush=True)
    scheduler = DDPMScheduler(**SCHEDULER_CONFIG)
    ac = scheduler.alphas_cumprod.to(device)
    snr = ac / (1 - ac)
    weight = torch.clamp(snr, max=5.0) / (snr + 1)  # min-SNR-5 for v-prediction
    ema = EMAModel(dit.parameters(), decay=0.999, use_ema_warmup=True, power=0.75)
    opt = torch.optim.AdamW(dit.parameters(), lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.dit_steps,
                                                pct_start=max(0.03, 3 / args.dit_steps),
                                                final_div_factor=20)
    gen = torch.Generator().manual_seed(args.seed)
    step, elapsed, losses = 0, 0.0, []
    cycle_end = args.dit_steps  # where the first one-cycle schedule ends (then: the last warm restart)
    restarts: list[int] = []
    if fresh and args.from_shipped:  # no first cycle: one warm restart from step 0 (to --extend-lr, cosine down)
        cycle_end, restarts = 0, [0]
    if state_path.exists():
        s = torch.load(state_path, map_location=device, weights_only=False)
        dit.load_state_dict(s["dit"]), ema.load_state_dict(s["ema"])
        opt.load_state_dict(s["opt"]), sched.load_state_dict(s["sched"])
        gen.set_state(s["gen"])
        step, elapsed, losses = s["step"], s["elapsed"], s["losses"]
        cycle_end = s.get("cycle_end", s["sched"]["total_steps"])
        restarts = s.get("restarts", [cycle_end] if step > cycle_end else [])
        if args.restart and step < args.dit_steps:
            cycle_end = step  # a new warm restart from here (SGDR), up to --extend-lr and down again
            restarts.append(step)
        print(f"dit: resumed at step {step}", flush=True)
    n_params = sum(p.numel() for p in dit.parameters())
    print(f"dit: {n_params:,} parameters, pool {len(latents)}, device {device}", flush=True)
    keep = {int(s) for s in args.checkpoints.split(",") if s}

    def export(where: Path, fp16: bool) -> None:
        tmp = build_dit().to(device)
        ema.copy_to(tmp.parameters())
        tmp = tmp.to("cpu")
        (tmp.half() if fp16 else tmp).save_pretrained(where, safe_serialization=True)

    if step == 0 and 0 in keep:
        export(args.out / "checkpoints" / "step-00000", fp16=True)
    dit.train()
    t0 = time.time()
    while step < args.dit_steps and elapsed + (time.time() - t0) < args.time_limit:
        idx = torch.randint(0, len(latents), (args.batch,), generator=gen)
        x0 = latents[idx.to(device)]
        cond, mask = states[idx].float().to(device), masks[idx].to(device)
        t = torch.randint(0, 1000, (args.batch,), generator=gen).to(device)
        noise = torch.randn(x0.shape, generator=gen).to(device)
        a = ac[t].view(-1, 1, 1, 1)
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise  # the closed-form forward process
        v = a.sqrt() * noise - (1 - a).sqrt() * x0  # the velocity target
        pred = dit(x_t, encoder_hidden_states=cond, encoder_attention_mask=mask, timestep=t).sample
        loss = (weight[t] * ((pred - v) ** 2).mean(dim=(1, 2, 3))).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(dit.parameters(), 1.0)
        opt.step()
        if step < cycle_end:
            sched.step()
        else:  # extension past the first cycle: short warm-up to --extend-lr, cosine down to 2% of it
            for group in opt.param_groups:
                group["lr"] = extension_lr(step + 1, cycle_end, args.dit_steps, args.extend_lr)
        ema.step(dit.parameters())
        step += 1
        losses.append(loss.item())
        if step in keep:
            export(args.out / "checkpoints" / f"step-{step:05d}", fp16=True)
        if step % 100 == 0 or step == args.dit_steps:
            elapsed += time.time() - t0
            t0 = time.time()
            print(f"dit step {step}/{args.dit_steps} loss {np.mean(losses[-100:]):.4f} "
                  f"lr {opt.param_groups[0]['lr']:.2e} elapsed {elapsed:.0f}s", flush=True)
        if step % 500 == 0 or step == args.dit_steps:
            torch.save(dict(dit=dit.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(),
                            sched=sched.state_dict(), gen=gen.get_state(), step=step,
                            elapsed=elapsed, losses=losses, cycle_end=cycle_end, restarts=restarts),
                       state_path)
            export(args.out / "transformer", fp16=False)  # the app can follow the run
            DDIMScheduler.from_config(scheduler.config).save_pretrained(args.out / "scheduler")
            _write_log(args.out, dit=dict(steps=step, planned_steps=args.dit_steps, batch=args.batch, lr=args.lr,
                                          first_cycle_steps=restarts[0] if restarts else cycle_end,
                                          warm_restarts=restarts, extend_lr=args.extend_lr,
                                          parameters=n_params, seconds=round(elapsed, 1), device=str(device),
                                          from_shipped=str(args.from_shipped) if args.from_shipped else None,
                                          loss_curve=_loss_curve(losses)))
    print(f"dit: stopped at step {step}, {elapsed:.0f}s", flush=True)


def extension_lr(step: int, start: int, end: int, peak: float, warmup: int = 200) -> float:
    """Learning rate for steps past the first one-cycle schedule (a warm restart, as in SGDR).

    Stateless, so `--dit-steps` can be raised again on a later resume and the rest of the
    schedule simply stretches to the new end.
    """
    if step - start < warmup:
        return peak * (step - start) / warmup
    frac = min(1.0, (step - start - warmup) / max(1, end - start - warmup))
    return peak * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac)))


def _write_log(out: Path, **parts) -> None:
    path = out / "training.json"
    log = json.loads(path.read_text()) if path.exists() else {}
    log.update(parts)
    path.write_text(json.dumps(log, indent=1))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stage", choices=("all", "vae", "decoder", "dit"), default="all")
    p.add_argument("--vae-steps", type=int, default=1500)
    p.add_argument("--decoder-steps", type=int, default=5000, help="decoder fine-tuning steps, encoder frozen")
    p.add_argument("--decoder-lr", type=float, default=3e-4)
    p.add_argument("--dit-steps", type=int, default=14000)
    p.add_argument("--pool", type=int, default=60000, help="scenes encoded once for the denoiser")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--restart", action="store_true",
                   help="with a raised --dit-steps on resume: start a new warm restart at the resumed step")
    p.add_argument("--extend-lr", type=float, default=4e-4,
                   help="peak learning rate when --dit-steps is raised past a finished run")
    p.add_argument("--from-shipped", type=Path, default=None, metavar="MODEL_DIR",
                   help="fine-tune: start the denoiser from MODEL_DIR/transformer (the schedule is one warm restart "
                        "to --extend-lr from step 0); its pool is encoded afresh with today's captions")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoints", default="0,1000,4000", help="steps whose EMA denoiser is kept")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--workdir", type=Path, default=Path("runs/tiny-t2i"))
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--time-limit", type=float, default=float("inf"), help="stop the denoiser after this many seconds")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default); 1 is robust on a busy machine")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    args.workdir.mkdir(parents=True, exist_ok=True)
    device = torch.device(args.device)
    if args.stage in ("all", "vae"):
        train_vae(args, device)
    if args.stage in ("all", "decoder"):
        train_decoder(args, device)
    if args.stage in ("all", "dit"):
        train_dit(args, device)


if __name__ == "__main__":
    main()
