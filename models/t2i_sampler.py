"""The latent text-to-image sampling loop (tiny-t2i's DiT) and the decoders that turn latents into pixels.

`sample` is the reverse process with classifier-free guidance, as a numbered loop over the
scheduler's own `step()`; it can record what a view needs (image 0's latent and guesses at every
step, and the attention the model really computed, through models.attention_capture).
With `excite` it also runs Attend-and-Excite (Chefer et al. 2023): before each of the first half of
the steps, the latent takes one gradient step that raises the peak cross-attention of neglected words.
`decode` is the full VAE decoder (the final images); `preview` is the small decoder fitted to it
(`training/fit_t2i_preview.py`, what TAESD is to Stable Diffusion) for the per-step pictures,
falling back to the full decoder when a bundle has none.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from models.attention_capture import AttentionStore, recording
from models.diffusion import native_bf16


def pad_states(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack token states (1, L_i, D) of different lengths: (B, L, D) and a keep-mask (B, L)."""
    n = max(s.shape[1] for s in states)
    out = torch.zeros(len(states), n, states[0].shape[2])
    mask = torch.zeros(len(states), n)
    for i, s in enumerate(states):
        out[i, : s.shape[1]] = s[0]
        mask[i, : s.shape[1]] = 1
    return out, mask


def start_noise(bundle, seeds: list[int]) -> torch.Tensor:
    """x_T for each seed, drawn from its own generator: an image depends only on its seed."""
    cfg = bundle.model.config
    shape = (cfg.in_channels, cfg.sample_size, cfg.sample_size)
    return torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(int(s))) for s in seeds])


def slerp(a: torch.Tensor, b: torch.Tensor, w: float) -> torch.Tensor:
    """Spherical interpolation: keeps the norm that Gaussian noise of this size has."""
    af, bf = a.flatten(), b.flatten()
    omega = torch.arccos(torch.clamp(torch.dot(af / af.norm(), bf / bf.norm()), -1, 1))
    if omega.abs() < 1e-4:
        return (1 - w) * a + w * b
    return (torch.sin((1 - w) * omega) * a + torch.sin(w * omega) * b) / torch.sin(omega)


# The size of Attend-and-Excite's gradient step on the latent (A&E: 20 on SD's latents), chosen on the
# measured trade-off (failures.json, "excite_steps"): 40 fixes 23% of wrong pictures and breaks 5% of
# right ones; 80 fixes 27% and breaks 40%.
EXCITE_STEP = 40.0
EXCITE_FRACTION = 0.5  # the share of the steps (the first ones) that are excited, as in A&E


def peak_attention(cross: torch.Tensor, mask: torch.Tensor, groups: list[list[int]]) -> torch.Tensor:
    """A&E's measure of how much a word is attended: cross (B, queries, L) attention averaged over layers
    and heads; it is renormalised over the prompt's real words (start, end and padding left out, as A&E
    leaves out the start token), a word's map is the mean of its pieces' maps, and its peak is the
    largest value over the patches. Returns (B, words)."""
    words = mask.clone()
    last = mask.sum(1).long() - 1  # the [SEP] of each row
    words[:, 0] = 0
    words[torch.arange(len(mask)), last] = 0
    a = cross * words[:, None, :]
    a = a / a.sum(-1, keepdim=True).clamp_min(1e-9)
    return torch.stack([a[:, :, g].mean(-1).amax(-1) for g in groups], -1)


def excite_latent(dit, x: torch.Tensor, states: torch.Tensor, mask: torch.Tensor, t, groups: list[list[int]],
                  size: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One Attend-and-Excite update: loss = max over the words of (1 - peak attention), per image;
    x <- x - size * grad. Returns (the new latent, each word's peak before the update (B, words))."""
    states, mask = states.clone(), mask.clone()  # ordinary tensors (the text encoder ran in inference mode)
    with torch.enable_grad():
        x = x.detach().clone().requires_grad_(True)
        store = AttentionStore(detach=False)
        with recording(store):
            dit(x, encoder_hidden_states=states, encoder_attention_mask=mask, timestep=t.expand(len(x)))
        names = [k for k in store.maps if k.endswith("attn2")]
        cross = torch.stack([store.maps[k][0] for k in names]).mean(dim=(0, 2))  # (B, queries, L)
        peak = peak_attention(cross, mask, groups)
        loss = (1 - peak).amax(-1).sum()
        (grad,) = torch.autograd.grad(loss, x)
    return (x - size * grad).detach(), peak.detach()


@torch.no_grad()
def sample(bundle, cond: tuple[torch.Tensor, torch.Tensor], uncond: tuple[torch.Tensor, torch.Tensor],
           noise: torch.Tensor, steps: int, guidance: float, record: bool = False, keep_all: bool = False,
           progress=None, excite: list[list[int]] | None = None, excite_step: float = EXCITE_STEP) -> dict:
    """The reverse process in latent space with classifier-free guidance.

    cond / uncond: (states (B, L, D), mask (B, L)) for the prompt and for the empty or negative prompt.
    noise: (B, C, h, w) starting latents. Returns {"final": (B, C, h, w)} and, if `record`, image 0's
    latents (steps + 1), guesses x0 / x0_u / x0_c (steps each), attention per step ("cross", "self_":
    (layers, heads, queries, keys)) and timesteps; if `keep_all`, every image's x_t and x0 guess
    ("all_latents", "all_x0": (steps * B, C, h, w)). progress: called as progress(i, steps).
    excite: token-index groups of the conditional prompt (one per word) to excite; the latent is nudged
    before each of the first EXCITE_FRACTION of the steps, and "excite_peaks" (excited steps, B, words)
    keeps each word's peak attention as the update saw it. The recorded attention is the run's own.
    """
    dit, scheduler = bundle.model, fresh_scheduler(bundle)
    n = noise.shape[0]
    states, mask = pad_pair(cond, uncond)  # rows: n unconditional, then n conditional
    scheduler.set_timesteps(steps)
    x = noise * scheduler.init_noise_sigma
    out = dict(latents=[x[0].clone()], x0=[], x0_u=[], x0_c=[], cross=[], self_=[], timesteps=[],
               all_latents=[], all_x0=[], excite_peaks=[])
    store = AttentionStore(keep=slice(n, n + 1), enabled=record)  # the conditional row of image 0
    excited = int(round(steps * EXCITE_FRACTION)) if excite else 0
    with recording(store):
        for i, t in enumerate(scheduler.timesteps):
            if i < excited:  # 0. Attend-and-Excite: nudge the latent so the neglected words are attended
                size = excite_step * (1 - 0.5 * i / max(excited, 1))  # A&E's step size shrinks over the steps
                x, peak = excite_latent(dit, x, states[n:], mask[n:], t, excite, size)
                out["excite_peaks"].append(peak)
                if record:
                    out["latents"][-1] = x[0].clone()  # the latent this step really starts from
            # 1. one batched pass: the prediction without and with the prompt
            pred = dit(torch.cat([x, x]), encoder_hidden_states=states, encoder_attention_mask=mask,
                       timestep=t.expand(2 * n)).sample
            pred_u, pred_c = pred.chunk(2)
            # 2. classifier-free guidance: move from the unconditional prediction towards the prompt's
            guided = pred_u + guidance * (pred_c - pred_u)
            # 3. the scheduler's own update: x_t -> x_{t-1}, and its guess of the clean latent
            step = scheduler.step(guided, t, x)
            if record:
                out["x0"].append(step.pred_original_sample[0].clone())
                out["x0_u"].append(clean_latent(scheduler, pred_u[:1], t, x[:1])[0])
                out["x0_c"].append(clean_latent(scheduler, pred_c[:1], t, x[:1])[0])
                out["cross"].append(attention_of(store, "attn2"))
                out["self_"].append(attention_of(store, "attn1"))
                out["timesteps"].append(int(t))
                store.clear()
            if keep_all:
                out["all_latents"].append(x.clone())
                out["all_x0"].append(step.pred_original_sample.clone())
            x = step.prev_sample
            if record:
                out["latents"].append(x[0].clone())
            if progress is not None:
                progress(i + 1, steps)
    out["final"] = x
    if keep_all:
        out["all_latents"], out["all_x0"] = torch.cat(out["all_latents"]), torch.cat(out["all_x0"])
    return out


def pad_pair(cond, uncond) -> tuple[torch.Tensor, torch.Tensor]:
    """(states, mask) of the unconditional rows, then the conditional rows, padded to one length."""
    (cs, cm), (us, um) = cond, uncond
    n = max(cs.shape[1], us.shape[1])
    pad = lambda s, m: (F.pad(s, (0, 0, 0, n - s.shape[1])), F.pad(m, (0, n - m.shape[1])))  # noqa: E731
    (us, um), (cs, cm) = pad(us, um), pad(cs, cm)
    return torch.cat([us, cs]), torch.cat([um, cm])


def fresh_scheduler(bundle):
    """A fresh scheduler per run (set_timesteps mutates it; runs happen in parallel)."""
    return bundle.scheduler.__class__.from_config(bundle.scheduler.config, timestep_spacing="trailing")


def clean_latent(scheduler, pred: torch.Tensor, t, x: torch.Tensor) -> torch.Tensor:
    """The clean latent implied by one v-prediction (or epsilon) at timestep t."""
    a = scheduler.alphas_cumprod[int(t)]
    if scheduler.config.prediction_type == "v_prediction":
        return a.sqrt() * x - (1 - a).sqrt() * pred
    return (x - (1 - a).sqrt() * pred) / a.sqrt()


def attention_of(store: AttentionStore, kind: str) -> torch.Tensor:
    """(layers, heads, queries, keys) of one step, layers in block order."""
    names = sorted((k for k in store.maps if k.endswith(kind)), key=lambda k: int(k.split(".")[1]))
    return torch.stack([store.maps[k][0][0] for k in names])


# Decoding in bfloat16 rounds differently with the batch it is in: a latent decoded alone or in a
# batch agrees within this (2 of 255 levels); in float32, within 1e-5.
DECODE_ATOL = 2 / 255


def decode_images(vae, latents: torch.Tensor, side: int | None = None, chunk: int = 64) -> np.ndarray:
    """(N, 4, h, w) latents -> (N, H, W, 3) in [0, 1] with `vae` (AutoencoderKL or AutoencoderTiny),
    area-resized to side x side when given and smaller. On a CPU that computes bfloat16 in hardware
    (`native_bf16`) the decoder runs in bfloat16: tiny-t2i's full decoder 88 -> 47 ms for 29 latents,
    its preview decoder 79 -> 21 ms for 75 (1 thread), pixels within 0.013 of float32 (mean 0.002)."""
    out = []
    cpu_bf16 = vae.device.type == "cpu" and native_bf16()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=cpu_bf16):
        for part in latents.split(chunk):
            img = vae.decode(part.to(vae.device) / vae.config.scaling_factor).sample
            img = ((img.float().clamp(-1, 1) + 1) / 2).cpu()
            if side is not None and img.shape[-1] > side:
                img = F.interpolate(img, size=(side, side), mode="area")
            out.append(img)
    return torch.cat(out).permute(0, 2, 3, 1).numpy()


def decode(bundle, latents: torch.Tensor) -> np.ndarray:
    """The full decoder: (N, C, h, w) latents -> (N, H, W, 3) images in [0, 1]."""
    return decode_images(bundle.vae, latents)


def preview(bundle, latents: torch.Tensor) -> np.ndarray:
    """The per-step pictures: the bundle's small preview decoder, or the full one if it has none."""
    return decode_images(bundle.preview_vae or bundle.vae, latents)
