"""Text to image, compared with itself: a strip between two seeds or two prompts (interpolation), what
one denoising step costs in latent vs pixel space (FLOPs measured with torch's FlopCounterMode), and
the same prompt and seed through the denoiser's training checkpoints. Built on the sampler and the
text encoder of explainers.text_to_image; the embedded model only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

import models
from explainers.memory import memoize
from explainers.t2i_spec import (
    DEFAULT_GUIDANCE,
    DEFAULT_MODEL,
    DEFAULT_STEPS,
    MAX_GUIDANCE,
    MAX_SEED,
    STEP_RANGE,
    check_prompt,
)
from explainers.text_input import check_number
from explainers.text_to_image import decode, encode_prompt, pad_prompts, sample, slerp, start_noise
from models.errors import InputError


def _embedded_only(model: str, what: str) -> None:
    if not isinstance(model, str) or models.spec(model).family != "text-to-image" or models.spec(model).source != "embedded":
        raise InputError(f"{what} works with the embedded text-to-image model ({DEFAULT_MODEL}), not {model!r}.")


@dataclass(frozen=True)
class Interpolation:
    kind: str  # "seeds" or "prompts"
    weights: np.ndarray  # (k,) 0 -> the first end, 1 -> the second
    images: np.ndarray  # (k, H, W, 3)
    labels: list[str]


def interpolate(prompt: str, seed: int = 0, other_seed: int | None = None, other_prompt: str | None = None,
                k: int = 7, steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE,
                model: str = DEFAULT_MODEL) -> Interpolation:
    """A strip of k images with everything fixed but one thing: the starting noise (slerp between two
    seeds) or the prompt (a straight line between the two prompts' token states, padded to one length)."""
    prompt = check_prompt(prompt)
    _embedded_only(model, "Interpolation")
    seed = check_number(seed, "Seed", 0, MAX_SEED, integer=True)
    k = check_number(k, "Images", 3, 12, integer=True)
    steps = check_number(steps, "Steps", *STEP_RANGE, integer=True)
    guidance = check_number(guidance, "Guidance", 0, MAX_GUIDANCE)
    return _interpolate(prompt, seed, other_seed, check_prompt(other_prompt) if other_prompt else None, k,
                        steps, float(guidance), model)


@memoize(maxsize=8)
def _interpolate(prompt, seed, other_seed, other_prompt, k, steps, guidance, model) -> Interpolation:
    bundle = models.load(model)
    w = np.linspace(0, 1, k)
    empty = encode_prompt("")
    uncond = (empty.states.expand(k, -1, -1), torch.ones(k, empty.states.shape[1]))
    a = encode_prompt(prompt)
    if other_prompt is None:  # two seeds, one prompt
        other_seed = seed + 1 if other_seed is None else check_number(other_seed, "Other seed", 0, MAX_SEED, integer=True)
        n0, n1 = start_noise(bundle, [seed, other_seed])
        noise = torch.stack([slerp(n0, n1, float(x)) for x in w])
        cond = (a.states.expand(k, -1, -1), torch.ones(k, a.states.shape[1]))
        labels = [f"seed {seed}" if x == 0 else f"seed {other_seed}" if x == 1 else f"{x:.2f}" for x in w]
        kind = "seeds"
    else:  # two prompts, one seed
        b = encode_prompt(other_prompt)
        (s, m) = pad_prompts([a, b])
        wt = torch.tensor(w, dtype=torch.float32).view(-1, 1, 1)
        cond = ((1 - wt) * s[0] + wt * s[1], torch.maximum(m[0], m[1]).expand(k, -1))
        noise = start_noise(bundle, [seed]).expand(k, -1, -1, -1)
        labels = [prompt if x == 0 else other_prompt if x == 1 else f"{x:.2f}" for x in w]
        kind = "prompts"
    out = sample(bundle, cond, uncond, noise, steps, guidance)
    return Interpolation(kind, w, decode(bundle, out["final"]), labels)


@dataclass(frozen=True)
class LatentCosts:
    """Why latents: what one denoising step costs here vs in pixel space, measured with FlopCounterMode."""

    latent_values: int  # C x h x w
    latent_shape: tuple[int, int, int]  # (C, h, w)
    pixel_shape: tuple[int, int, int]  # (3, H, W)
    pixel_values: int  # 3 x H x W of the decoded image
    dit_flops: int  # one DiT pass, one image
    dit_params: int
    decoder_flops: int  # decoding once, at the end
    vae_params: int
    unet_flops: int  # one pass of the pixel-space tiny-ddpm UNet (28 x 28 x 1), one image
    unet_params: int
    unet_values: int


@memoize(maxsize=4)  # single flight: a class pressing it at once counts the FLOPs once
def latent_costs(model: str = DEFAULT_MODEL) -> LatentCosts:
    _embedded_only(model, "The latent-cost comparison")
    bundle, ddpm = models.load(model), models.load("tiny-ddpm")
    cfg = bundle.model.config
    x = torch.zeros(1, cfg.in_channels, cfg.sample_size, cfg.sample_size)
    p = encode_prompt("a red 7 on a blue background")

    def flops(fn) -> int:
        with torch.inference_mode(), FlopCounterMode(display=False) as fc:
            fn()
        return int(fc.get_total_flops())

    dit = flops(lambda: bundle.model(x, encoder_hidden_states=p.states, timestep=torch.tensor([500])))
    dec = flops(lambda: bundle.vae.decode(x))
    u = ddpm.model.config
    ux = torch.zeros(1, u.in_channels, u.sample_size, u.sample_size)
    unet = flops(lambda: ddpm.model(ux, torch.tensor([500]), class_labels=torch.tensor([7])))
    n = lambda m: sum(q.numel() for q in m.parameters())  # noqa: E731
    side = cfg.sample_size * 2 ** (len(bundle.vae.config.block_out_channels) - 1)
    return LatentCosts(x.numel(), tuple(x.shape[1:]), (3, side, side), 3 * side * side, dit, n(bundle.model), dec,
                       n(bundle.vae), unet, n(ddpm.model), ux.numel())


@memoize(maxsize=8)
def during_training(prompt: str, seed: int = 0, steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE,
                    model: str = DEFAULT_MODEL) -> list[tuple[str, np.ndarray]]:
    """The same prompt and seed through the denoiser checkpoints kept during training, then the final one."""
    prompt = check_prompt(prompt)
    _embedded_only(model, "The training view")
    out = []
    p, empty = encode_prompt(prompt), encode_prompt("")  # the text encoder is the same for every checkpoint
    for name in [*models.checkpoints(model), None]:
        bundle = models.load(model, checkpoint=name)
        run = sample(bundle, (p.states, torch.ones(1, p.states.shape[1])), (empty.states, torch.ones(1, empty.states.shape[1])),
                     start_noise(bundle, [seed]), steps, guidance)
        label = f"training step {int(name.split('-')[1]):,}" if name else "final (shipped)"
        out.append((label, decode(bundle, run["final"])[0]))
    return out
