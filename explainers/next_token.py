"""Next-token prediction: what a decoder thinks comes next, and how sampling reshapes it.

A decoder turns its context into one score (a *logit*) per vocabulary token; softmax turns
the scores into probabilities. `predict` shows that distribution for the last position, then
applies the sampling controls exactly as `transformers.generate` does, with the library's own
logits processors (temperature, then top-k, then top-p), and shows the distribution the next
token would actually be drawn from. Temperature 0 means greedy: only the most likely token.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

import models
from explainers.attention import readable
from explainers.memory import memoize
from explainers.text_input import PLAY_EXAMPLE, check_number, clean_text
from models.errors import InputError

SHOWN = 20  # candidates listed by raw probability
MAX_SHOWN = 50  # when top-k / top-p keep at most this many tokens, all of them are listed
MIN_TEMPERATURE = 0.01  # below this (but above 0), logits / T overflows float32
MAX_TEMPERATURE = 5.0
MAX_TOP_K = 1000


@dataclass(frozen=True)
class Sampling:
    """Validated sampling controls."""

    temperature: float  # 0 = greedy
    top_k: int  # 0 = off
    top_p: float  # 1 = off

    @property
    def greedy(self) -> bool:
        return self.temperature == 0 or self.top_k == 1


def check_sampling(temperature: object, top_k: object, top_p: object) -> Sampling:
    t = check_number(temperature, "temperature", 0, MAX_TEMPERATURE)
    if 0 < t < MIN_TEMPERATURE:
        raise InputError(f"temperature must be 0 (greedy) or between {MIN_TEMPERATURE:g} and {MAX_TEMPERATURE:g}; "
                         f"got {t:g}.")
    k = check_number(top_k, "top_k", 0, MAX_TOP_K, integer=True)
    p = check_number(top_p, "top_p", 0.01, 1)
    return Sampling(float(t), int(k), float(p))


def processors(s: Sampling):
    """transformers' own warpers, in the order `generate` applies them. Greedy = keep the top 1."""
    from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    if s.temperature == 0:
        return LogitsProcessorList([TopKLogitsWarper(top_k=1)])
    out = LogitsProcessorList()
    if s.temperature != 1.0:
        out.append(TemperatureLogitsWarper(s.temperature))
    if s.top_k > 0:
        out.append(TopKLogitsWarper(top_k=s.top_k))
    if s.top_p < 1.0:
        out.append(TopPLogitsWarper(top_p=s.top_p))
    return out


def before_after(ids: torch.Tensor, logits: torch.Tensor, s: Sampling) -> tuple[torch.Tensor, torch.Tensor]:
    """Probabilities before and after the sampling controls. ids: (1, T) context, logits: (V,)."""
    logits = logits.float()[None]  # (1, V)
    before = logits.softmax(dim=-1)[0]  # (V,)
    after = processors(s)(ids, logits.clone()).softmax(dim=-1)[0]  # (V,), exactly 0 where cut (-inf)
    return before, after


def candidate_ids(before: torch.Tensor, after: torch.Tensor, extra: int | None = None) -> list[int]:
    """Top SHOWN by raw probability, or every kept token when few (<= MAX_SHOWN) are kept;
    `extra` (e.g. the sampled token) is always included."""
    n_kept = int((after > 0).sum())
    n = SHOWN if n_kept > MAX_SHOWN else max(SHOWN, n_kept)
    top = torch.topk(before, min(n, before.numel())).indices.tolist()
    if extra is not None and extra not in top:
        top.append(int(extra))
    return top


def context_limit(bundle) -> int:
    cfg = bundle.model.config
    return int(getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", 1024))


def encode_left(bundle, text: str, limit: int) -> tuple[torch.Tensor, int]:
    """Token ids (1, T) of `text`, keeping only the last `limit` tokens; also the full length."""
    ids = bundle.tokenizer(text, return_tensors="pt")["input_ids"]  # (1, N)
    return ids[:, -limit:], int(ids.shape[1])


def check_decoder(model: str) -> None:
    if models.spec(model).family != "decoder":
        raise InputError(f"{model!r} is not a decoder; next-token prediction needs one such as tiny-gpt.")


@memoize(maxsize=32)
@torch.inference_mode()
def last_logits(text: str, model: str = "tiny-gpt") -> tuple[torch.Tensor, torch.Tensor, int]:
    """One forward pass: the context ids (1, T), the last position's logits (V,), and how many
    tokens the text had before any truncation. Cached, so moving a sampling slider is cheap."""
    check_decoder(model)
    text = clean_text(text, example=PLAY_EXAMPLE)
    bundle = models.load(model)
    ids, n = encode_left(bundle, text, context_limit(bundle))
    logits = bundle.model(input_ids=ids).logits[0, -1]  # (V,)
    return ids, logits.float(), n


@dataclass
class NextTokenResult:
    model: str
    context: list[str]  # readable context tokens the model saw
    tokens: list[str]  # candidates, readable ('▁' = space, '⏎' = newline), most likely first
    ids: list[int]
    before: np.ndarray  # (C,) softmax of the model's logits
    after: np.ndarray  # (C,) after temperature / top-k / top-p, renormalised; 0 if cut
    kept: np.ndarray  # (C,) bool
    probs_before: np.ndarray  # (V,) full vocabulary
    probs_after: np.ndarray  # (V,)
    n_kept: int  # over the whole vocabulary
    sampling: Sampling
    truncated: bool  # the prompt was longer than the context window; its start was dropped
    n_input_tokens: int


def predict(text: str, model: str = "tiny-gpt", temperature: float = 1.0, top_k: int = 0,
            top_p: float = 1.0) -> NextTokenResult:
    """The next-token distribution for `text`, before and after the sampling controls."""
    s = check_sampling(temperature, top_k, top_p)
    ids, logits, n = last_logits(text, model)
    before, after = before_after(ids, logits, s)  # (V,), (V,)
    tok = models.load(model).tokenizer
    cand = candidate_ids(before, after)
    return NextTokenResult(
        model=model, context=readable(tok, ids[0].tolist()), tokens=readable(tok, cand), ids=cand,
        before=before[cand].numpy(), after=after[cand].numpy(), kept=(after[cand] > 0).numpy(),
        probs_before=before.numpy(), probs_after=after.numpy(), n_kept=int((after > 0).sum()),
        sampling=s, truncated=n > ids.shape[1], n_input_tokens=n)

