"""A transformer paints a digit: the job of a diffusion model done by the other family's mechanism.

`generate(digit, method, seed)` paints a digit with one of two transformers trained here on the same
digits as tiny-ddpm (models/image_tokens.py: 14 x 14 tokens of 4 grey levels):

- "autoregressive": one pixel token per forward pass, in raster order (ImageGPT, Parti, LlamaGen,
  GPT-4o's images): 196 passes, each reading every pixel before it (KV cache);
- "maskgit": every token starts masked; each pass predicts all of them and keeps the most confident
  (MaskGIT): 12 passes for 196 tokens.

Each result says which positions were revealed at each pass (`order`), what the ViT (tiny-vit) reads
in the finished picture, and how long it took. `diffusion_reference(digit, seed)` runs tiny-ddpm on
the same digit for the side-by-side.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

import models
from explainers import denoising, vision
from explainers.memory import memoize
from explainers.text_input import check_number
from models.digits import DIGIT_WORDS
from models.errors import InputError
from models.image_tokens import N_TOKENS, SIDE, detokenize, paint_autoregressive, paint_maskgit

METHODS = {"autoregressive": "tiny-painter-ar", "maskgit": "tiny-painter-maskgit"}
# MaskGIT's sampling, chosen on seeds 200-219 (never the card's 1000+) by `python -m training.tune_digit_painters`
# (assets/models/tiny-painters/sampling.json; a test keeps these equal to its choice)
MASKGIT_PASSES = 12
MASKGIT_TEMPERATURE = 0.8
MASKGIT_GUIDANCE = 3.0  # classifier-free guidance: u + g (c - u), u = the same pass with no digit asked
# Sampling temperatures, chosen on seeds 200-205 (never the card's 1000+): the autoregressive painter at
# 1.0 gave a digit the ViT read as asked 85% of the time, at 0.8 95%, at 0.6 88% (fainter digits)
AR_TEMPERATURE = 0.8
DIFFUSION_STEPS = 50


@dataclass(frozen=True)
class PaintResult:
    digit: int
    method: str
    seed: int
    tokens: np.ndarray  # (196,) grey levels 0..LEVELS-1, row by row
    image: np.ndarray  # (28, 28) floats in [0, 1], ink = 1 (the tokens scaled up bilinearly)
    order: tuple[tuple[int, ...], ...]  # the token positions revealed at each pass
    confidence: np.ndarray  # (196,) the probability of each token's level when it was chosen
    level_probs: np.ndarray  # autoregressive: (196, LEVELS) each pass's distribution; maskgit: (passes, 0)
    vit_probs: np.ndarray  # (10,) what tiny-vit reads in the image
    seconds: float

    @property
    def passes(self) -> int:
        return len(self.order)

    @property
    def read_as(self) -> int:
        """The digit the ViT reads, or -1 when it cannot read the picture at all."""
        return int(self.vit_probs.argmax()) if self.vit_probs.any() else -1

    def canvas(self, after: int) -> np.ndarray:
        """(14, 14) levels after `after` passes (0..passes); -1 where nothing is painted yet."""
        out = np.full(N_TOKENS, -1, np.int64)
        for positions in self.order[:after]:
            idx = list(positions)
            out[idx] = self.tokens[idx]
        return out.reshape(SIDE, SIDE)

    def decided_at(self) -> np.ndarray:
        """(14, 14) the pass (1-based) at which each token was revealed."""
        out = np.zeros(N_TOKENS, np.int64)
        for p, positions in enumerate(self.order, start=1):
            out[list(positions)] = p
        return out.reshape(SIDE, SIDE)


def check(digit, method, seed) -> tuple[int, str, int]:
    try:
        d = int(digit)
    except (TypeError, ValueError):
        raise InputError(f"Pick a digit from 0 to 9, not {str(digit)[:20]!r}.") from None
    if not 0 <= d <= 9 or d != float(digit):
        raise InputError(f"Pick a digit from 0 to 9, not {str(digit)[:20]!r}.")
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, not {str(method)[:30]!r}.")
    return d, method, check_number(seed, "seed", 0, 2**31 - 1, integer=True)


def generate(digit, method: str = "autoregressive", seed=0, progress=None) -> PaintResult:
    """Paint `digit` with the transformer of `method` (see the module's docstring). Cached."""
    return _generate(*check(digit, method, seed), progress=progress)


@memoize(maxsize=32, unkeyed=("progress",))
def _generate(digit: int, method: str, seed: int, progress=None) -> PaintResult:
    model = models.load(METHODS[method]).model
    t0 = time.perf_counter()
    if method == "autoregressive":
        p = paint_autoregressive(model, digit, seed, AR_TEMPERATURE, progress=progress)
    else:
        p = paint_maskgit(model, digit, MASKGIT_PASSES, seed, MASKGIT_TEMPERATURE, guidance=MASKGIT_GUIDANCE,
                          progress=progress)
    seconds = time.perf_counter() - t0
    image = detokenize(p.tokens)
    return PaintResult(digit, method, seed, p.tokens, image, p.order, p.confidence, p.probs,
                       vit_reading(image), seconds)


def vit_reading(image: np.ndarray) -> np.ndarray:
    """(10,) what tiny-vit reads in a painted digit; all zeros when the picture is not digit-like at
    all (blank, or ink everywhere): a painting the ViT cannot read counts as not read."""
    try:
        return vision.classify(image).probs
    except InputError:
        return np.zeros(10, np.float32)


@dataclass(frozen=True)
class DiffusionReference:
    digit: int
    seed: int
    image: np.ndarray  # (28, 28) in [0, 1]
    x0_pred: np.ndarray  # (steps, 28, 28): the clean image the model expects at each step
    passes: int
    seconds: float
    vit_probs: np.ndarray


def diffusion_reference(digit, seed=0, progress=None) -> DiffusionReference:
    """tiny-ddpm draws the same digit: DDIM, 50 steps, guidance 3 (the Denoising tab's default)."""
    d, _, s = check(digit, "autoregressive", seed)
    r = denoising.denoise(f"a handwritten {DIGIT_WORDS[d]}", DIFFUSION_STEPS, 3.0, s, progress=progress)
    image = r.x_t[-1][..., 0]
    return DiffusionReference(d, s, image, r.x0_pred[..., 0], r.steps, r.seconds, vit_reading(image))

