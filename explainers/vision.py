"""A Vision Transformer reads a digit: patches become tokens, a CLS token attends to them.

`preprocess` turns whatever arrives (a Sketchpad drawing, an upload, a (28, 28) array) into an
MNIST-like digit: white ink on black, cropped to the ink, scaled to fit 20x20 and centred by
its centre of mass in 28x28, as MNIST itself was made (LeCun et al. 1998). A blank or odd
image raises a ValueError that says what to change.

`classify` runs `tiny-vit` once with `output_attentions=True` and keeps what the views show:
the ten digit probabilities, the patch tokens, every layer's and head's attention (rows sum to
1: they are the model's own softmax weights) and attention rollout (Abnar & Zuidema 2020):
average the heads, add the identity for the residual path, renormalise, multiply the layers.

`decided` runs `tiny-ddpm` (explainers.denoising) and asks the ViT, at every step, what digit
the model's current guess of the clean image x0 is: when is the picture decided?
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

import models
from explainers.memory import memoize
from models.errors import InputError
from models.text_image_data import background_distance

MODEL = "tiny-vit"
MAX_SIDE = 4096  # larger uploads are refused (the page's canvas is far smaller)
MIN_INK = 0.08  # a pixel with less ink than this (0..1) counts as background
UNSURE = 0.5  # below this top probability the views say "the model is unsure"


@dataclass
class VisionResult:
    """One ViT pass over one 28x28 digit. T = 1 + patches (CLS first)."""

    image: np.ndarray  # (28, 28) float32 in [0, 1], white ink on black: what the model saw
    probs: np.ndarray  # (10,) softmax over the digits
    patch_size: int
    grid: int  # patches per side (28 / patch_size)
    patches: np.ndarray  # (grid * grid, patch_size, patch_size): the image cut into tokens, row by row
    attentions: np.ndarray  # (layers, heads, T, T): row = the token attending, column = attended; rows sum to 1
    rollout: np.ndarray  # (T, T): attention rollout through all layers; rows sum to 1

    @property
    def prediction(self) -> int:
        return int(self.probs.argmax())

    @property
    def unsure(self) -> bool:
        return float(self.probs.max()) < UNSURE

    @property
    def layers(self) -> int:
        return self.attentions.shape[0]

    @property
    def heads(self) -> int:
        return self.attentions.shape[1]

    def cls_map(self, layer: int | None = None, head: int | None = None) -> np.ndarray:
        """(grid, grid) CLS attention over the patches: one layer and head, or the rollout
        when layer is None (head None = the mean over heads)."""
        if layer is None:
            row = self.rollout[0, 1:]
        else:
            a = self.attentions[layer]  # (heads, T, T)
            row = (a.mean(0) if head is None else a[head])[0, 1:]
        return row.reshape(self.grid, self.grid)

    def patch_map(self, patch: int, layer: int | None = None, head: int | None = None) -> np.ndarray:
        """(grid, grid) where patch `patch` (0-based, row by row) looks; its row of attention
        (or of the rollout when layer is None), without the CLS column."""
        if not 0 <= patch < self.grid ** 2:
            raise InputError(f"patch must be between 0 and {self.grid ** 2 - 1}, got {patch}.")
        if layer is None:
            row = self.rollout[1 + patch, 1:]
        else:
            a = self.attentions[layer]
            row = (a.mean(0) if head is None else a[head])[1 + patch, 1:]
        return row.reshape(self.grid, self.grid)


# ---- from any image to an MNIST-like digit --------------------------------------------------

def _to_grey(image) -> np.ndarray:
    """Any supported image -> (H, W) float32 'ink' in [0, 1] (1 = ink)."""
    if isinstance(image, dict):  # a gr.Sketchpad / ImageEditor value: the flattened drawing
        image = image.get("composite") if image.get("composite") is not None else image.get("background")
        if image is None:
            raise InputError("The drawing is blank: draw a digit with the mouse or a finger first.")
    if hasattr(image, "convert") and hasattr(image, "size"):  # a PIL image
        image = np.asarray(image.convert("RGBA"))
    try:
        a = np.asarray(image)
    except Exception:  # noqa: BLE001
        a = None
    if a is None or a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise InputError(f"Expected an image (a picture or an array of pixels), not {type(image).__name__}.")
    if a.ndim == 3 and a.shape[-1] in (1, 3, 4):
        pass
    elif a.ndim != 2:
        raise InputError(f"Expected a grey (H, W) or colour (H, W, 3/4) image, got an array of shape {a.shape}.")
    if a.size == 0 or min(a.shape[:2]) < 4:
        raise InputError(f"The image is {a.shape[1] if a.ndim > 1 else 0}x{a.shape[0]} pixels: too small to hold a digit.")
    if max(a.shape[:2]) > MAX_SIDE:
        raise InputError(f"The image is {a.shape[1]:,}x{a.shape[0]:,} pixels; the limit is {MAX_SIDE} a side. "
                         "Please upload a smaller picture.")
    a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise InputError("The image contains NaN or infinite values.")
    if a.max() > 1.0:
        a = a / 255.0
    a = np.clip(a, 0.0, 1.0)
    if a.ndim == 3:
        alpha = a[..., 3] if a.shape[-1] == 4 else None
        rgb = a[..., :3] if a.shape[-1] >= 3 else np.repeat(a, 3, axis=-1)
        lum = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # (H, W)
        if alpha is not None and alpha.min() < 0.99:
            # strokes on a transparent canvas: ink = opacity x darkness (a white stroke on
            # transparent is still a stroke: fall back to opacity where the strokes are light)
            dark = 1.0 - lum
            ink = alpha * (dark if (dark * alpha).sum() > 0.3 * alpha.sum() else 1.0)
            return ink.astype(np.float32)
        a = lum
    # white ink on black (MNIST) or dark ink on light paper: the background is the border's colour
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    return (1.0 - a if np.median(border) > 0.5 else a).astype(np.float32)


def preprocess(image, centre: bool = True) -> np.ndarray:
    """Any image -> (28, 28) float32 in [0, 1], white ink on black, MNIST-style.

    centre=False only rescales a 28x28 input (for images that already are MNIST-like, such as
    the diffusion model's outputs). A blank image raises a ValueError.
    """
    from PIL import Image

    ink = _to_grey(image)
    if ink.max() < MIN_INK or (ink > MIN_INK).sum() < 3:
        raise InputError("The drawing is blank (no ink found): draw a digit, or pick an example.")
    if not centre and ink.shape == (28, 28):
        return ink
    if (ink > MIN_INK).mean() > 0.6:  # a photo, or a canvas painted over: no background left
        raise InputError("This does not look like a drawing of a digit: ink covers most of the picture. "
                         "Draw one digit, dark on light (or light on dark).")
    ys, xs = np.nonzero(ink > MIN_INK)
    crop = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = crop.shape
    s = 20.0 / max(h, w)  # the longer side becomes 20 pixels, as in MNIST
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    small = np.asarray(Image.fromarray(crop).resize((nw, nh), Image.Resampling.LANCZOS if max(h, w) > 20
                                                    else Image.Resampling.BILINEAR), dtype=np.float32)
    small = np.clip(small, 0, None)
    small = small / max(float(small.max()), 1e-6)  # full-strength strokes, whatever the pen
    out = np.zeros((28, 28), np.float32)
    cy, cx = np.array(np.nonzero(small > -1)).reshape(2, nh, nw)  # pixel coordinates
    m = small.sum()
    com_y, com_x = (cy * small).sum() / m, (cx * small).sum() / m
    top = int(np.clip(round(14 - com_y - 0.5), 0, 28 - nh))
    left = int(np.clip(round(14 - com_x - 0.5), 0, 28 - nw))
    out[top:top + nh, left:left + nw] = small
    return out


# ---- the model pass ------------------------------------------------------------------------

def pixel_stats(bundle) -> tuple[float, float]:
    proc = bundle.processor
    return float(proc.image_mean[0]), float(proc.image_std[0])


def rollout_of(attentions: np.ndarray) -> np.ndarray:
    """Attention rollout: (layers, heads, T, T) -> (T, T), rows summing to 1."""
    t = attentions.shape[-1]
    r = np.eye(t)
    for a in attentions.astype(np.float64):
        a = 0.5 * a.mean(0) + 0.5 * np.eye(t)  # heads averaged; the residual stream keeps half
        a = a / a.sum(-1, keepdims=True)
        r = a @ r
    return r.astype(np.float32)


@torch.inference_mode()
def vit_probs(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) MNIST-like digits -> (N, 10) probabilities (one batched pass)."""
    bundle = models.load(MODEL)
    mean, std = pixel_stats(bundle)
    x = (torch.from_numpy(np.array(images, dtype=np.float32)).unsqueeze(1) - mean) / std
    return torch.softmax(bundle.model(pixel_values=x).logits, -1).numpy()


@memoize(maxsize=64)
def _classify(key: str, image_bytes: bytes) -> VisionResult:
    bundle = models.load(MODEL)
    model = bundle.model
    mean, std = pixel_stats(bundle)
    image = np.frombuffer(image_bytes, dtype=np.float32).reshape(28, 28)
    x = (torch.from_numpy(image.copy())[None, None] - mean) / std  # (1, 1, 28, 28)
    with torch.inference_mode():
        out = model(pixel_values=x, output_attentions=True)
    att = torch.stack(out.attentions)[:, 0].numpy()  # (layers, heads, T, T)
    p = model.config.patch_size
    g = 28 // p
    patches = image.reshape(g, p, g, p).transpose(0, 2, 1, 3).reshape(g * g, p, p)
    return VisionResult(image=image, probs=torch.softmax(out.logits[0], -1).numpy(), patch_size=p, grid=g,
                        patches=patches, attentions=att, rollout=rollout_of(att))


def classify(image, centre: bool = True) -> VisionResult:
    """Read one digit with tiny-vit (identical images are computed once)."""
    img = preprocess(image, centre=centre)
    return _classify(hashlib.sha1(img.tobytes()).hexdigest(), img.tobytes())


# ---- when is the picture decided? ----------------------------------------------------------

@dataclass
class DecidedResult:
    """The ViT's reading of tiny-ddpm's predicted clean image x0 at every denoising step."""

    prompt: str
    label: int | None  # the digit the diffusion model was asked for (None: no label)
    steps: int
    timesteps: np.ndarray  # (steps,) the training timestep t of each step, T-1 down to ~0
    x0: np.ndarray  # (steps, 28, 28) the predicted clean image at each step, in [0, 1]
    x_t: np.ndarray  # (steps + 1, 28, 28) the noisy image, pure noise first
    probs: np.ndarray  # (steps, 10) the ViT's probabilities for x0 at each step
    final: int  # the ViT's reading of the last x0
    model: str = "tiny-ddpm"  # the diffusion model that drew
    seen: np.ndarray | None = None  # text-to-image: (steps, 28, 28) what the ViT was shown of each colour x0

    @property
    def decided_step(self) -> int:
        """The first step from which the ViT's top digit never changes again (0-based)."""
        top = self.probs.argmax(1)
        changed = np.flatnonzero(top != top[-1])
        return int(changed[-1] + 1) if len(changed) else 0


def decided(prompt: str = "a handwritten 7", steps: int = 50, guidance: float = 3.0, seed: int = 0,
            scheduler: str = "ddim", progress=None, model: str = "tiny-ddpm") -> DecidedResult:
    """Run a diffusion model for `prompt` and classify its x0 guess at every step with tiny-vit.

    model "tiny-ddpm" draws 28x28 digits in pixel space (x0 is already MNIST-like); an embedded
    text-to-image model ("tiny-t2i") draws colour scenes in latent space: each decoded x0 is turned
    into a stroke mask (distance from the background colour), cropped and centred like MNIST."""
    if model == "tiny-ddpm":
        from explainers import denoising

        r = denoising.denoise(prompt, steps, guidance, seed, scheduler, "tiny-ddpm", 1, progress=progress)
        x0 = r.x0_pred[..., 0]  # (steps, 28, 28): already MNIST-like (white on black, 28x28)
        probs = vit_probs(x0)
        return DecidedResult(prompt=r.prompt, label=r.label, steps=r.steps, timesteps=r.timesteps, x0=x0,
                             x_t=r.x_t[..., 0], probs=probs, final=int(probs[-1].argmax()))
    if model not in DECIDED_MODELS:
        raise InputError(f"'When is it decided' runs on {', '.join(DECIDED_MODELS)}, not {str(model)[:40]!r}.")
    from explainers import text_to_image as t2i

    r = t2i.generate(prompt, steps, guidance, seed, model=model, n_images=1)
    seen = np.stack([scene_digit(img) for img in r.x0_decoded])
    probs = vit_probs(seen)
    return DecidedResult(prompt=r.prompt, label=digit_in(r.prompt), steps=r.steps, timesteps=r.timesteps,
                         x0=r.x0_decoded, x_t=r.decoded, probs=probs, final=int(probs[-1].argmax()), model=model,
                         seen=seen)


DECIDED_MODELS = ("tiny-ddpm", "tiny-t2i")


def scene_digit(img: np.ndarray) -> np.ndarray:
    """A colour scene (H, W, 3) in [0, 1] -> the MNIST-like digit the ViT reads: how far each pixel
    is from the background colour (the border's median), cropped, scaled and centred. A scene with
    no stroke yet (early, blurry steps) gives a blank 28x28: the ViT is shown that, as it is."""
    _, dist = background_distance(img)
    mask = np.clip(dist / max(float(dist.max()), 1e-6), 0, 1) if dist.max() > 0.15 else np.zeros(dist.shape)
    try:
        return preprocess(mask.astype(np.float32), centre=True)
    except ValueError:
        return np.zeros((28, 28), np.float32)


def digit_in(prompt: str) -> int | None:
    """The digit a prompt names (a figure or a word: "a red 7", "seven in blue"), or None."""
    import re

    from models.digits import DIGIT_WORDS

    for word in re.findall(r"[a-z]+|\d", prompt.lower()):
        if word.isdigit():
            return int(word)
        if word in DIGIT_WORDS:
            return DIGIT_WORDS.index(word)
    return None
