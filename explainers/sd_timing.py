"""How long a Hub Stable Diffusion run will take here, so the Text to image tab can warn before a slow
CPU run: the last run's measured time per part (explainers.text_to_image_sd.MEASURED) or, before any
run, one timed pass of each part."""

from __future__ import annotations

import functools
import time

import torch

import models
from explainers.text_to_image_sd import MEASURED, on_gpu, start_noise_sd
from models.t2i_sampler import decode_images


@functools.lru_cache(maxsize=8)
def calibrate(key: str, device: str) -> dict:
    return time_parts(key)


@on_gpu
def time_parts(key: str) -> dict:
    """Time one UNet pass (batch 2), one VAE decode and one preview decode on this machine."""
    bundle = models.load(key)
    unet, dev = bundle.model, bundle.model.device
    x = start_noise_sd(unet, [0, 1]).to(dev)
    states = torch.zeros(2, bundle.tokenizer.model_max_length, unet.config.cross_attention_dim, device=dev)

    def timed(fn) -> float:
        t0 = time.perf_counter()
        with torch.inference_mode():
            fn()
        return time.perf_counter() - t0

    return dict(unet=timed(lambda: unet(x, torch.tensor(500, device=dev), encoder_hidden_states=states)),
                vae=timed(lambda: decode_images(bundle.vae, x[:1])),
                preview=timed(lambda: decode_images(bundle.preview_vae or bundle.vae, x[:1])))


def expected_seconds(model: str, steps: int, n_images: int = 1) -> float:
    """Rough wall time of one `generate_sd` run here: the last run's measured per-pass times, or
    (before any run) one timed pass of each part. Loads the model (the run needs it anyway)."""
    bundle = models.load(model)
    dev = str(bundle.model.device)
    t = MEASURED.get((model, dev)) or calibrate(model, dev)
    return steps * n_images * t["unet"] + n_images * t["vae"] + (4 * steps + 1) * t["preview"]


def time_warning(model: str, steps: int, n_images: int = 1, threshold: float = 20.0) -> str | None:
    """A sentence for gr.Warning when a Hub text-to-image run will be slow (on a CPU), else None.
    Embedded models never warn (they take a second or two)."""
    s = models.spec(model)
    if s.family != "text-to-image" or s.source != "hub":
        return None
    bundle = models.load(model)
    if bundle.model.device.type != "cpu":
        return None
    secs = expected_seconds(model, steps, n_images)
    if secs < threshold:
        return None
    return (f"{model} runs on this computer's CPU: about {secs / 60:.1f} minutes for {steps} steps x {n_images} "
            f"image(s). Fewer steps or one image is faster; a GPU (e.g. a GPU Space) takes seconds.")
