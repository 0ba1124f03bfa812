"""Autoregressive generation, one token at a time, with every step kept for inspection.

The loop is written by hand over `model(...)` (not `model.generate`) so each forward pass can
be counted and timed. With the KV cache, the first pass reads the whole prompt and every later
pass feeds only the one new token: the keys and values of earlier tokens are reused. Without
it, every pass re-reads the whole growing context. Tokens are drawn with a `torch.Generator`
seeded by `seed`, so the same seed gives the same text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

import models
from explainers.attention import readable
from explainers.memory import memoize
from explainers.next_token import (
    Sampling,
    before_after,
    candidate_ids,
    check_decoder,
    check_sampling,
    context_limit,
    encode_left,
)
from explainers.text_input import PLAY_EXAMPLE, check_number, clean_text
from models.errors import InputError

MAX_NEW_TOKENS = 100
MAX_SEED = 2**31 - 1


@dataclass
class Step:
    """One generated token and the distribution it was drawn from."""

    index: int  # 1-based
    context: str  # the text so far, before this step's token
    tokens: list[str]  # candidates, readable, most likely first
    ids: list[int]
    before: np.ndarray  # (C,) softmax of the logits
    after: np.ndarray  # (C,) what the token was drawn from
    kept: np.ndarray  # (C,) bool
    chosen_id: int
    chosen_token: str  # readable
    chosen_text: str  # as it appears in the text
    chosen_prob: float  # raw probability of the chosen token
    chosen_prob_after: float
    chosen_rank: int  # 1 = the most likely token
    sampling: Sampling


@dataclass
class GenerationResult:
    model: str
    prompt: str  # after any truncation
    steps: list[Step]
    text: str  # prompt + generated text
    generated: str
    forward_passes: int
    tokens_per_pass: list[int]  # how many tokens each forward pass read
    seconds_per_pass: list[float]
    use_cache: bool
    seed: int
    prompt_tokens: int  # fed to the model (after truncation)
    truncated: bool
    note: str  # what was truncated, if anything

    @property
    def seconds(self) -> float:
        return float(sum(self.seconds_per_pass))


def choose(after: torch.Tensor, s: Sampling, generator: torch.Generator) -> int:
    """The greedy argmax, or a draw from the sampling distribution `after` (V,)."""
    if s.greedy:
        return int(torch.argmax(after))
    return int(torch.multinomial(after, 1, generator=generator))


@torch.inference_mode()
def sample_loop(bundle, ids: torch.Tensor, max_new_tokens: int, s: Sampling, seed: int = 0,
                use_cache: bool = True) -> tuple[list[dict], list[int], list[int], list[float]]:
    """The autoregressive loop. ids: (1, P). Returns per-step records, the new ids, tokens fed
    per pass and seconds per pass. One forward pass per new token."""
    generator = torch.Generator().manual_seed(seed)
    seq = ids  # (1, P + i): everything so far
    cache, feed = None, ids
    records, new_ids, fed, seconds = [], [], [], []
    for _ in range(max_new_tokens):
        t0 = time.perf_counter()
        out = bundle.model(input_ids=feed, cache=cache, use_cache=use_cache)
        seconds.append(time.perf_counter() - t0)
        fed.append(int(feed.shape[1]))
        before, after = before_after(seq, out.logits[0, -1], s)  # (V,), (V,)
        nxt = choose(after, s, generator)
        records.append(dict(before=before, after=after, chosen=nxt))
        new_ids.append(nxt)
        seq = torch.cat([seq, torch.tensor([[nxt]])], dim=1)  # (1, P + i + 1)
        if use_cache:
            cache, feed = out.cache, seq[:, -1:]  # (1, 1): only the new token
        else:
            feed = seq  # the whole context again
    return records, new_ids, fed, seconds


@memoize(maxsize=16)
def generate(text: str, model: str = "tiny-gpt", max_new_tokens: int = 20, temperature: float = 1.0,
             top_k: int = 0, top_p: float = 1.0, seed: int = 0, use_cache: bool = True) -> GenerationResult:
    """Generate `max_new_tokens` tokens after `text`, recording every step."""
    check_decoder(model)
    text = clean_text(text, example=PLAY_EXAMPLE)
    n_new = check_number(max_new_tokens, "max_new_tokens", 1, MAX_NEW_TOKENS, integer=True)
    s = check_sampling(temperature, top_k, top_p)
    seed = check_number(seed, "seed", 0, MAX_SEED, integer=True)
    bundle = models.load(model)
    tok = bundle.tokenizer
    room = context_limit(bundle) - n_new  # prompt + new tokens must fit the position embeddings
    ids, n = encode_left(bundle, text, room)  # (1, P)
    note = (f"The prompt had {n} tokens; only its last {room} were kept so that {n_new} new tokens fit in "
            f"{model}'s context of {context_limit(bundle)} positions." if n > room else "")
    records, new_ids, fed, seconds = sample_loop(bundle, ids, n_new, s, seed, bool(use_cache))
    prompt_ids = ids[0].tolist()
    steps = []
    for i, (rec, nxt) in enumerate(zip(records, new_ids)):
        before, after = rec["before"], rec["after"]
        cand = candidate_ids(before, after, extra=nxt)
        steps.append(Step(
            index=i + 1, context=tok.decode(prompt_ids + new_ids[:i]), tokens=readable(tok, cand), ids=cand,
            before=before[cand].numpy(), after=after[cand].numpy(), kept=(after[cand] > 0).numpy(),
            chosen_id=nxt, chosen_token=readable(tok, [nxt])[0], chosen_text=tok.decode([nxt]),
            chosen_prob=float(before[nxt]), chosen_prob_after=float(after[nxt]),
            chosen_rank=int((before > before[nxt]).sum()) + 1, sampling=s))
    return GenerationResult(
        model=model, prompt=tok.decode(prompt_ids), steps=steps, text=tok.decode(prompt_ids + new_ids),
        generated=tok.decode(new_ids), forward_passes=len(fed), tokens_per_pass=fed, seconds_per_pass=seconds,
        use_cache=bool(use_cache), seed=seed, prompt_tokens=len(prompt_ids), truncated=n > room, note=note)


def cached_generation(*args, **kwargs) -> GenerationResult:
    """The result of an earlier `generate(*args, **kwargs)`, without ever running the model
    (an InputError if there is none). Call it with exactly the arguments `generate` got."""
    r = generate.peek(*args, **kwargs)
    if r is None:
        raise InputError("No generation with these settings yet: press 'Generate' first, then move the step slider.")
    return r

