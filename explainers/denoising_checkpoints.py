"""The same seed through tiny-ddpm's training checkpoints: random weights draw noise, a few hundred
steps draw blobs, then digits (the Denoising tab's "during training" view)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import models
from explainers.denoising import DEFAULT_MODEL, check_settings, prompt_to_label, to_image
from explainers.memory import memoize
from models.diffusion import inference_unet, make_scheduler, sample
from models.digits import NULL_CLASS
from models.errors import InputError


@dataclass
class TrainingRun:
    """The same seed and settings through each shipped training checkpoint of tiny-ddpm."""

    names: list[str]  # "step 0 (random weights)", "step 500", ..., "final (step 5,561)"
    steps: int
    seed: int
    what: str  # the settings in words
    x_t: list[np.ndarray]  # per checkpoint, (steps + 1, H, W, C) in [0, 1]: noise first, the image last


def _final_step(model: str) -> int | None:
    try:
        return int(json.loads((Path(models.spec(model).path) / "training.json").read_text("utf-8"))["steps"])
    except (OSError, ValueError, KeyError):
        return None


@memoize(maxsize=8)
def through_training(prompt: str, steps: int = 50, guidance: float = 3.0, seed: int = 0, scheduler: str = "ddim",
                     model: str = DEFAULT_MODEL) -> TrainingRun:
    """Run the reverse process with the same seed through every training checkpoint (and the
    final weights): random weights draw noise, a few hundred steps draw blobs, then digits."""
    if not models.spec(model).conditional or not models.checkpoints(model):
        raise InputError(f"Training checkpoints ship only with tiny-ddpm (trained for this app), not {model!r}.")
    steps, guidance, seed, scheduler, _ = check_settings(steps, guidance, seed, scheduler, 1)
    prompt = prompt.strip() if isinstance(prompt, str) else prompt
    label, _ = prompt_to_label(prompt) if prompt else (None, None)
    used = guidance if label is not None else 0.0
    labels = torch.tensor([label if label is not None else NULL_CLASS])
    names, frames = [], []
    for ckpt in [*models.checkpoints(model), None]:
        bundle = models.load(model, checkpoint=ckpt)
        sched = make_scheduler(models.load(model).scheduler.config, scheduler)
        _, traj = sample(inference_unet(bundle.model), sched, labels, steps, used, seed, null_class=NULL_CLASS,
                         capture=True)
        frames.append(to_image(torch.stack(traj.x_t, dim=1))[0])  # (steps + 1, H, W, C)
        if ckpt is None:
            final = _final_step(model)
            names.append(f"final (step {final:,})" if final else "final")
        else:
            n = int(ckpt.split("-")[-1])
            names.append(f"step {n:,}" + (" (random weights)" if n == 0 else ""))
    digit = f"digit {label}, guidance {used:g}" if label is not None else "no digit matched: no label, guidance 0"
    return TrainingRun(names, steps, seed, f"{scheduler.upper()} {steps} steps, {digit}", frames)
