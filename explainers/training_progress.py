"""How predictions improve during training: the same prompt through tiny-gpt's checkpoints.

At step 0 the weights are random and every token is about equally likely (1 / vocabulary).
After a few hundred steps the model has learned which tokens are common; later it learns
words, then grammar and the shape of a play. Only models trained here keep checkpoints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import models
from explainers.attention import readable
from explainers.generation import sample_loop
from explainers.memory import memoize
from explainers.next_token import Sampling, check_decoder, context_limit, encode_left
from explainers.text_input import PLAY_EXAMPLE, check_number, clean_text
from models.errors import InputError

SAMPLE_TOKENS = 20
GREEDY = Sampling(temperature=0.0, top_k=0, top_p=1.0)


@dataclass
class ProgressResult:
    model: str
    labels: list[str]  # "step 0", "step 200", ..., "final (step 6000)"
    steps: list[int]
    tokens: list[list[str]]  # per checkpoint, top-k readable next tokens
    probs: np.ndarray  # (checkpoints, k)
    samples: list[str]  # greedy continuation from each checkpoint
    vocab_size: int


def has_checkpoints(model: str) -> bool:
    return models.spec(model).source == "embedded" and bool(models.checkpoints(model))


def final_step(model: str) -> int | None:
    info = Path(models.spec(model).path) / "training.json"
    try:
        return int(json.loads(info.read_text(encoding="utf-8"))["steps"])
    except (OSError, ValueError, KeyError):
        return None


@memoize(maxsize=16)
@torch.inference_mode()
def progress(text: str, model: str = "tiny-gpt", top_k: int = 5, sample_tokens: int = SAMPLE_TOKENS) -> ProgressResult:
    """Top-k next tokens and a short greedy continuation from every training checkpoint."""
    check_decoder(model)
    if not has_checkpoints(model):
        raise InputError(f"Training checkpoints are only available for tiny-gpt, which was trained for this app; "
                         f"{model!r} was trained elsewhere and ships without them.")
    text = clean_text(text, example=PLAY_EXAMPLE)
    k = check_number(top_k, "top_k", 1, 10, integer=True)
    n_new = check_number(sample_tokens, "sample_tokens", 1, 50, integer=True)
    names = models.checkpoints(model) + [None]  # None = the final, shipped weights
    labels, steps, tokens, probs, samples = [], [], [], [], []
    for name in names:
        bundle = models.load(model, checkpoint=name)
        ids, _ = encode_left(bundle, text, context_limit(bundle) - n_new)  # (1, P)
        p = bundle.model(input_ids=ids).logits[0, -1].float().softmax(-1)  # (V,)
        top_p, top_i = p.topk(k)
        _, new_ids, _, _ = sample_loop(bundle, ids, n_new, GREEDY)
        step = int(name.split("-")[-1]) if name else (final_step(model) or -1)
        labels.append(f"step {step}" if name else f"final (step {step})")
        steps.append(step)
        tokens.append(readable(bundle.tokenizer, top_i.tolist()))
        probs.append(top_p.numpy())
        samples.append(bundle.tokenizer.decode(new_ids))
    return ProgressResult(model, labels, steps, tokens, np.stack(probs), samples,
                          int(bundle.model.config.vocab_size))

