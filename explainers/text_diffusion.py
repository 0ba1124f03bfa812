"""Diffusion writes text: tiny-diffusion-lm (models/masked_diffusion.py) continues a prompt by
unmasking, the job of a language model done by the other family's mechanism.

`generate(prompt, length, steps, seed)` starts from the prompt and `length` MASK tokens; each of
`steps` forward passes predicts every masked position at once and keeps some of them, the rest staying
masked (LLaDA's sampler, with REMASKING and its semi-autoregressive blocks of BLOCK_TOKENS or more
tokens written left to right), so 64 tokens can take 16 passes where tiny-gpt takes 64. `autoregressive(...)` is
tiny-gpt writing the same length one token per pass, for the side-by-side. `denoiser_logits(ids)` is
the model's own forward pass, what its likelihood bound is computed from.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

import models
from explainers import generation
from explainers.memory import memoize
from explainers.text_input import check_number, clean_text
from models import masked_diffusion
from models.errors import InputError

MODEL = "tiny-diffusion-lm"
ASSETS = Path(models.spec(MODEL).path)
_CONFIG = json.loads((ASSETS / "config.json").read_text())
MASK_ID = int(_CONFIG["vocab_size"]) - 1  # one token past tiny-gpt's vocabulary
CONTEXT = int(_CONFIG["n_positions"]) - 1  # the start token takes one position
MAX_LENGTH = generation.MAX_NEW_TOKENS  # the same ceiling as tiny-gpt's side of the comparison
MAX_SEED = generation.MAX_SEED
# Both models draw from their own distribution (temperature 1), so the comparison is fair.
TEMPERATURE = 1.0
# Which predicted tokens a pass keeps (LLaDA's generate.py offers both): "low_confidence" keeps the
# surest, "random" keeps random ones (MDLM's ancestral order). This small model is surest of line breaks
# and speaker names: with the ninth run's weights, 16 steps, keeping the surest, 12 to 29 of 64 tokens
# after four play prompts were line breaks (temperature 0 and 1, 1 or 4 blocks; with the seventh run's
# 9 to 27, with the earlier weights 34 to 54); keeping random ones at temperature 1, 4 to 10
# (tests/test_text_diffusion.py checks this).
REMASKING = "random"
# LLaDA's semi-autoregressive blocks: the continuation is written in blocks of at least this many
# tokens, left to right.
BLOCK_TOKENS = 16


def blocks_for(length: int, steps: int) -> int:
    """The most blocks (a divisor of steps) that keep each block at least BLOCK_TOKENS long (at least 1)."""
    return max([b for b in range(1, steps + 1) if steps % b == 0 and length / b >= BLOCK_TOKENS] or [1])


@dataclass(frozen=True)
class TextDiffusionResult:
    prompt: str  # after any truncation
    frames: np.ndarray  # (steps + 1, P + L) token ids, MASK_ID where still masked
    confidence: np.ndarray  # (P + L,) probability of each token when it was revealed (prompt: 1)
    revealed_at: np.ndarray  # (P + L,) the pass that revealed each token (prompt: 0)
    pieces: tuple[str, ...]  # (P + L,) each final token as text
    prompt_tokens: int
    text: str  # prompt + continuation
    continuation: str
    seconds: float
    seed: int
    blocks: int = 1
    mask_id: int = MASK_ID

    @property
    def passes(self) -> int:
        return len(self.frames) - 1

    @property
    def length(self) -> int:
        return self.frames.shape[1] - self.prompt_tokens

    @property
    def revealed_per_pass(self) -> list[int]:
        return [int((self.revealed_at == s).sum()) for s in range(1, self.passes + 1)]


def check(prompt, length, steps, seed) -> tuple[str, int, int, int]:
    prompt = clean_text(prompt, "prompt", example="ROMEO:")
    length = check_number(length, "length", 1, MAX_LENGTH, integer=True)
    steps = check_number(steps, "steps", 1, MAX_LENGTH, integer=True)
    if steps > length:
        raise InputError(f"steps ({steps}) cannot be more than the length ({length}): each pass reveals at least "
                         "one token.")
    return prompt, length, steps, check_number(seed, "seed", 0, MAX_SEED, integer=True)


def bundle():
    return models.load(MODEL)


def denoiser_logits(ids) -> torch.Tensor:
    """(batch, tokens) tiny-gpt token ids with MASK_ID where masked -> (batch, tokens, vocabulary)
    logits of p(x_i | x_t): the model's own forward pass."""
    ids = torch.as_tensor(ids)
    if ids.dim() != 2 or ids.dtype not in (torch.int32, torch.int64):
        raise InputError(f"ids must be a (batch, tokens) integer tensor, not {tuple(ids.shape)} {ids.dtype}.")
    if not 1 <= ids.shape[1] <= CONTEXT:
        raise InputError(f"The denoiser reads 1 to {CONTEXT} tokens, not {ids.shape[1]}.")
    if int(ids.min()) < 0 or int(ids.max()) > MASK_ID:
        raise InputError(f"Token ids must be between 0 and {MASK_ID} (the mask), not {int(ids.min())}..{int(ids.max())}.")
    with torch.inference_mode():
        return masked_diffusion.denoiser_logits(bundle().model, ids.long(), MASK_ID)


def generate(prompt, length=64, steps=16, seed=0, progress=None) -> TextDiffusionResult:
    """Continue `prompt` with `length` tokens in `steps` unmasking passes (see the module docstring). Cached."""
    return run(*check(prompt, length, steps, seed), progress=progress)


@memoize(maxsize=16, unkeyed=("progress",))
def run(prompt: str, length: int, steps: int, seed: int, progress=None) -> TextDiffusionResult:
    """The run for checked settings (see `check`), computed once."""
    b = bundle()
    tok = b.tokenizer
    ids = tok(prompt)["input_ids"][-(CONTEXT - length):]  # the prompt's last tokens, so the whole fits
    if not ids:
        raise InputError("The prompt has no tokens; type a few words.")
    t0 = time.perf_counter()
    blocks = blocks_for(length, steps)
    u = masked_diffusion.sample(b.model, ids, length, steps, MASK_ID, seed, TEMPERATURE, progress=progress,
                                blocks=blocks, remasking=REMASKING)
    seconds = time.perf_counter() - t0
    final = u.frames[-1].tolist()
    return TextDiffusionResult(
        prompt=tok.decode(ids), frames=u.frames.numpy(), confidence=u.confidence.numpy(),
        revealed_at=u.revealed_at.numpy(), pieces=tuple(tok.decode([i]) for i in final), prompt_tokens=len(ids),
        text=tok.decode(final), continuation=tok.decode(final[len(ids):]), seconds=seconds, seed=seed,
        blocks=blocks)


def autoregressive(prompt, length=64, seed=0) -> generation.GenerationResult:
    """tiny-gpt writes the same length after the same prompt, one token per pass (same temperature)."""
    prompt, length, _, seed = check(prompt, length, 1, seed)
    return generation.generate(prompt, "tiny-gpt", length, TEMPERATURE, 0, 1.0, seed)


@lru_cache(maxsize=1)
def card() -> dict:
    """The measured figures: training.json (held-out bound vs tiny-gpt) and steps.json (steps vs time and
    the samples' perplexity under tiny-gpt), written by the training and evaluation scripts."""
    out = {}
    for name in ("training", "steps"):
        p = ASSETS / f"{name}.json"
        out[name] = json.loads(p.read_text()) if p.exists() else {}
    return out
