"""The reverse (denoising) loop of a DDPM, with classifier-free guidance and optional capture.

One function, `sample`, serves the app (which captures x_t, the predicted noise and the
predicted clean image at every step) and the quality check (which does not). It uses the
diffusers schedulers' own `step()`; nothing about the update rule is re-implemented here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

SCHEDULERS = ("ddim", "ddpm")


def make_scheduler(base_config: dict, name: str):
    """A DDIM (few-step, deterministic) or DDPM (stochastic, every training step) scheduler
    with the same noise schedule as the model was trained with."""
    from diffusers import DDIMScheduler, DDPMScheduler

    if name == "ddim":
        return DDIMScheduler.from_config(base_config)
    if name == "ddpm":
        return DDPMScheduler.from_config(base_config)
    raise ValueError(f"scheduler must be one of {SCHEDULERS}, not {name!r}")


@dataclass
class Trajectory:
    timesteps: list[int] = field(default_factory=list)
    x_t: list[torch.Tensor] = field(default_factory=list)  # steps + 1 tensors (B, C, H, W)
    noise_pred: list[torch.Tensor] = field(default_factory=list)  # guided, one per step
    x0_pred: list[torch.Tensor] = field(default_factory=list)
    noise_uncond: list[torch.Tensor] = field(default_factory=list)  # only when guided
    noise_cond: list[torch.Tensor] = field(default_factory=list)


@torch.inference_mode()
def sample(unet, scheduler, labels: torch.Tensor | None, steps: int, guidance: float | torch.Tensor, seed: int,
           null_class: int | None = None, capture: bool = False, batch: int | None = None,
           progress=None, noise: torch.Tensor | None = None) -> tuple[torch.Tensor, Trajectory]:
    """Run the reverse process from pure noise. Returns the final images (B, C, H, W) in
    [-1, 1] and, if `capture`, every intermediate.

    labels: (B,) class ids for a class-conditional UNet, or None for an unconditional one.
    guidance: 0 = unconditional, 1 = conditional, > 1 = pushed further along (cond - uncond);
    a (B,) tensor gives each sample its own scale (several requests in one batch: both
    predictions are then made for every sample).
    noise: the starting x_T (B, C, H, W); by default drawn from `seed`.
    """
    cfg = unet.config
    n = len(labels) if labels is not None else (batch or 1)
    shape = (n, cfg.in_channels, cfg.sample_size, cfg.sample_size)
    gen = torch.Generator("cpu").manual_seed(int(seed))
    x = noise.clone() if noise is not None else torch.randn(shape, generator=gen)  # x_T ~ N(0, I)
    per_sample = torch.is_tensor(guidance)
    scheduler.set_timesteps(steps)
    traj = Trajectory()
    if capture:
        traj.x_t.append(x.clone())
    conditional = labels is not None and null_class is not None
    for i, t in enumerate(scheduler.timesteps):
        if not conditional:
            eps = unet(x, t).sample
            eps_u = eps_c = None
        elif not per_sample and guidance == 0:
            eps_u = eps = unet(x, t, class_labels=torch.full_like(labels, null_class)).sample
            eps_c = None
        elif not per_sample and guidance == 1:
            eps_c = eps = unet(x, t, class_labels=labels).sample
            eps_u = None
        else:  # one batched pass for both predictions
            both = unet(torch.cat([x, x]), t, class_labels=torch.cat([torch.full_like(labels, null_class), labels])).sample
            eps_u, eps_c = both.chunk(2)
            g = guidance.view(-1, 1, 1, 1).to(eps_u.dtype) if per_sample else guidance
            eps = eps_u + g * (eps_c - eps_u)
        kwargs = dict(generator=gen)
        if scheduler.__class__.__name__ == "DDIMScheduler":
            # with clip_sample=True, DDIM must recompute eps from the clipped x0 (else speckles)
            kwargs.update(eta=0.0, use_clipped_model_output=True)
        out = scheduler.step(eps, t, x, **kwargs)
        x = out.prev_sample
        if capture:
            traj.timesteps.append(int(t))
            traj.x_t.append(x.clone())
            traj.noise_pred.append(eps.clone())
            traj.x0_pred.append(out.pred_original_sample.clone())
            if eps_u is not None and eps_c is not None:
                traj.noise_uncond.append(eps_u.clone())
                traj.noise_cond.append(eps_c.clone())
        if progress is not None:
            progress(i + 1, steps)
    return x, traj
