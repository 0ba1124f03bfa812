"""Diffusion edits what you draw: SDEdit (Meng et al. 2022) with tiny-ddpm, no retraining.

The drawing (made MNIST-like by `explainers.vision.preprocess`) is pushed forward to step t
with the closed-form forward process (the scheduler's own `add_noise`), then the reverse
process runs from there to 0, steered toward a chosen digit with classifier-free guidance.
Small t keeps the drawing (little noise to remove); large t keeps only the label (the drawing
is drowned in noise). `sketch_sweep` runs several t at once so a slider can show the trade-off,
and reads every result with tiny-vit.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np
import torch

import models
from explainers.memory import memoize
from explainers.text_input import check_number
from explainers.vision import preprocess, vit_probs
from models.errors import InputError

MODEL = "tiny-ddpm"
SWEEP = (100, 200, 300, 400, 500, 600, 700, 800, 900)  # the t values of the trade-off slider
SNAPSHOTS = 10  # frames kept per run for the views (plus the start): evenly spaced steps


@dataclass
class EditResult:
    """One SDEdit run. Images are (28, 28) float32 in [0, 1], white on black."""

    sketch: np.ndarray  # the drawing, MNIST-like
    t: int  # the timestep the drawing was noised to
    label: int | None  # the digit asked for (None: no label)
    timesteps: np.ndarray  # (k,) the reverse steps run, t first
    x_t: np.ndarray  # (k + 1, 28, 28): the noised drawing first, the result last
    x0_pred: np.ndarray  # (k, 28, 28): the predicted clean image at each step
    vit_probs: np.ndarray  # (10,) tiny-vit's reading of the result
    seconds: float
    fill: np.ndarray | None = None  # inpainting: (28, 28) 1 where the model drew, 0 = kept pixels

    @property
    def result(self) -> np.ndarray:
        return self.x_t[-1]

    @property
    def distance(self) -> float:
        """Mean absolute pixel difference between the drawing and the result (0 = unchanged)."""
        return float(np.abs(self.result - self.sketch).mean())


def _label(prompt) -> int | None:
    if isinstance(prompt, (int, np.integer)) and not isinstance(prompt, bool):
        return int(check_number(prompt, "digit", 0, 9, integer=True))
    if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
        return None
    if isinstance(prompt, str) and prompt.strip() in {str(d) for d in range(10)}:
        return int(prompt.strip())
    from explainers.denoising import prompt_to_label

    return prompt_to_label(prompt)[0]


@torch.inference_mode()
def _run(sketch: np.ndarray, t: int, label: int | None, steps: int, guidance: float, seed: int,
         fill: np.ndarray | None = None) -> EditResult:
    """SDEdit from t (fill None), or inpainting from pure noise: `fill` (28, 28) is 1 where the
    model draws; elsewhere the known pixels are put back at every step, noised to that step's
    level (the RePaint recipe, Lugmayr et al. 2022, without resampling jumps)."""
    from models.diffusion import make_scheduler
    from models.digits import NULL_CLASS

    bundle = models.load(MODEL)
    unet = bundle.model
    sched = make_scheduler(bundle.scheduler.config, "ddim")
    sched.set_timesteps(steps)
    ts = [int(s) for s in sched.timesteps if int(s) <= t]  # the part of the reverse process below t
    gen = torch.Generator("cpu").manual_seed(int(seed))
    x0 = torch.from_numpy(sketch * 2 - 1)[None, None]  # (1, 1, 28, 28) in model units [-1, 1]
    noise = torch.randn(x0.shape, generator=gen)
    x = sched.add_noise(x0, noise, torch.tensor([ts[0]]))  # 1. forward process to t (closed form)
    y = torch.tensor([NULL_CLASS if label is None else label])
    keep = None if fill is None else torch.from_numpy(1.0 - fill.astype(np.float32))[None, None]
    if keep is not None:
        x = keep * x + (1 - keep) * torch.randn(x0.shape, generator=gen)  # the hole starts as pure noise
    xs, x0s = [x], []
    t0 = time.perf_counter()
    for s in ts:  # 2. the usual reverse steps, from t down to 0
        if label is None or guidance == 0:
            eps = unet(x, s, class_labels=torch.full_like(y, NULL_CLASS)).sample
        else:
            both = unet(torch.cat([x, x]), s, class_labels=torch.cat([torch.full_like(y, NULL_CLASS), y])).sample
            eps_u, eps_c = both.chunk(2)
            eps = eps_u + guidance * (eps_c - eps_u)  # classifier-free guidance
        out = sched.step(eps, s, x, eta=0.0, use_clipped_model_output=True, generator=gen)
        x = out.prev_sample
        if keep is not None:  # known pixels: the drawing itself, noised to the level of the next step
            i = ts.index(s)
            known = sched.add_noise(x0, noise, torch.tensor([int(ts[i + 1])])) if i + 1 < len(ts) else x0
            x = keep * known + (1 - keep) * x
        xs.append(x)
        x0s.append(out.pred_original_sample)
    seconds = time.perf_counter() - t0

    def img(v: list[torch.Tensor]) -> np.ndarray:
        return ((torch.cat(v)[:, 0].clamp(-1, 1) + 1) / 2).numpy()  # (n, 28, 28)

    x_t = img(xs)
    return EditResult(sketch=sketch, t=int(ts[0]), label=label, timesteps=np.array(ts),
                      x_t=x_t, x0_pred=img(x0s), vit_probs=vit_probs(x_t[-1:])[0], seconds=seconds, fill=fill)


def _check(t, steps, guidance, seed) -> tuple[int, int, float, int]:
    t = check_number(t, "t (how much noise)", 1, 999, integer=True)
    steps = check_number(steps, "steps", 10, 250, integer=True)
    guidance = check_number(guidance, "guidance", 0, 10)
    seed = check_number(seed, "seed", 0, 2**31 - 1, integer=True)
    return t, steps, guidance, seed


def sketch_to_image(image, t: int = 600, prompt="", steps: int = 50, guidance: float = 3.0,
                    seed: int = 0) -> EditResult:
    """SDEdit one drawing: noise it to step t, denoise toward `prompt` (a digit 0-9, words such
    as "a handwritten 7", or "" for no label)."""
    t, steps, guidance, seed = _check(t, steps, guidance, seed)
    sketch = preprocess(image)
    label = _label(prompt)
    return _cached(hashlib.sha1(sketch.tobytes()).hexdigest(), sketch.tobytes(), t, label, steps, float(guidance), seed)


@memoize(maxsize=64)
def _cached(key: str, sketch_bytes: bytes, t: int, label, steps: int, guidance: float, seed: int) -> EditResult:
    sketch = np.frombuffer(sketch_bytes, dtype=np.float32).reshape(28, 28).copy()
    return _run(sketch, t, label, steps, guidance, seed)


def sketch_sweep(image, prompt="", steps: int = 50, guidance: float = 3.0, seed: int = 0,
                 ts: tuple[int, ...] = SWEEP, progress=None) -> list[EditResult]:
    """`sketch_to_image` at every t in `ts` (same noise seed): the trade-off slider's runs."""
    out = []
    for i, t in enumerate(ts):
        out.append(sketch_to_image(image, t, prompt, steps, guidance, seed))
        if progress is not None:
            progress(i + 1, len(ts))
    return out


def snapshot_indices(n_steps: int, k: int = SNAPSHOTS) -> list[int]:
    """k + 1 indices into x_t (0 = the noised drawing, n_steps = the result), evenly spread."""
    return [int(round(v)) for v in np.linspace(0, n_steps, k + 1)]


# ---- inpainting ----------------------------------------------------------------------------

REGIONS = {  # preset holes (the page offers these; the API also takes a (28, 28) mask)
    "top half": (slice(0, 14), slice(None)), "bottom half": (slice(14, 28), slice(None)),
    "left half": (slice(None), slice(0, 14)), "right half": (slice(None), slice(14, 28)),
    "centre": (slice(8, 20), slice(8, 20)),
}


def region_mask(mask) -> np.ndarray:
    """A preset name or a (28, 28) array (nonzero = fill) -> (28, 28) float32 of 0/1."""
    if isinstance(mask, str):
        if mask not in REGIONS:
            raise InputError(f"mask must be one of {', '.join(REGIONS)} or a 28x28 array; got {mask[:30]!r}.")
        m = np.zeros((28, 28), np.float32)
        m[REGIONS[mask]] = 1
        return m
    m = np.asarray(mask, dtype=np.float32)
    if m.shape != (28, 28) or not np.isfinite(m).all():
        raise InputError(f"The mask must be a 28x28 array (1 = fill, 0 = keep), got shape {m.shape}.")
    m = (m > 0.5).astype(np.float32)
    if m.sum() == 0:
        raise InputError("The mask is empty: mark the part of the digit to fill in.")
    return m


def inpaint(image, mask="top half", prompt="", steps: int = 50, guidance: float = 3.0, seed: int = 0) -> EditResult:
    """Erase `mask` of a digit and let tiny-ddpm fill it in from pure noise, toward `prompt`,
    keeping the known pixels consistent with every step."""
    _, steps, guidance, seed = _check(500, steps, guidance, seed)
    sketch = preprocess(image)
    fill = region_mask(mask)
    return _inpaint(hashlib.sha1(sketch.tobytes() + fill.tobytes()).hexdigest(), sketch.tobytes(), fill.tobytes(),
                    _label(prompt), steps, float(guidance), seed)


@memoize(maxsize=32)
def _inpaint(key: str, sketch_bytes: bytes, fill_bytes: bytes, label, steps: int, guidance: float,
             seed: int) -> EditResult:
    sketch = np.frombuffer(sketch_bytes, dtype=np.float32).reshape(28, 28).copy()
    fill = np.frombuffer(fill_bytes, dtype=np.float32).reshape(28, 28).copy()
    return _run(sketch, 999, label, steps, guidance, seed, fill=fill)
