"""Diffusion's knob: the number of steps. The same prompt and seed drawn by tiny-ddpm with DDIM in
1 to 50 steps, timed, with the timestep each run's first step evaluates the model at (the Side by
side tab's steps view)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

import models
from explainers.denoising import prompt_to_label
from explainers.memory import memoize
from explainers.text_input import DIGIT_PROMPT_EXAMPLE, check_number, clean_text
from models.diffusion import inference_unet, make_scheduler, sample
from models.digits import NULL_CLASS


@dataclass
class StepsTradeoff:
    steps: list[int]
    seconds: list[float]
    images: list[np.ndarray]  # (H, W) in [0, 1], same seed
    first_timestep: list[int]  # the timestep each run's first step evaluates the model at (999 = pure noise)


STEP_COUNTS = (1, 2, 3, 5, 10, 50)  # what the Side by side tab compares


@memoize(maxsize=4)
def steps_tradeoff(prompt: str = "a handwritten 5", steps: tuple[int, ...] = (5, 10, 25, 50), seed: int = 0) -> StepsTradeoff:
    label, _ = prompt_to_label(clean_text(prompt, "image prompt", max_chars=300, example=DIGIT_PROMPT_EXAMPLE))
    bundle = models.load("tiny-ddpm")
    unet = inference_unet(bundle.model)  # the sampler the Denoising tab uses (traced, fused bfloat16 where native)
    labels = torch.tensor([label if label is not None else NULL_CLASS])
    secs, imgs, first = [], [], []
    for n in steps:
        n = check_number(n, "steps", 1, 250, integer=True)
        scheduler = make_scheduler(bundle.scheduler.config, "ddim")
        scheduler.set_timesteps(n)
        first.append(int(scheduler.timesteps[0]))
        t0 = time.perf_counter()
        x, _ = sample(unet, make_scheduler(bundle.scheduler.config, "ddim"), labels, n,
                      3.0 if label is not None else 0.0, seed, null_class=NULL_CLASS)
        secs.append(time.perf_counter() - t0)
        imgs.append(((x[0, 0].clamp(-1, 1) + 1) / 2).numpy())
    return StepsTradeoff(list(steps), secs, imgs, first)
