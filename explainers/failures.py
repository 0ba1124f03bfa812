"""How a transformer fails, measured on the run on screen: confident and wrong.

`calibration(text, model, bins)`: how often tiny-gpt's top-1 guess for the next token is right, against
how sure it was. The text's tokens (no special tokens) are cut into windows of 257 tokens that overlap
by one: the model reads tokens 0-255 of each window from the window's own start and predicts tokens
1-256 (the last window may be shorter), so every token after the first is predicted exactly once.
For each prediction, confidence = the top-1 probability and correct = the top-1 token is the next
token. Predictions are grouped in `bins` equal-width bins over [0, 1]; the expected calibration error
is ECE = sum over bins of (predictions in bin / all predictions) x |accuracy - mean confidence|.

`remembered(text, ...)`: each generated token coloured by confidence, and each stretch of 4 or more
tokens that also appears, in that order, in tiny-gpt's training plays marked "seen in training"; the
rest is "invented".
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass

import numpy as np
import torch

import models
from explainers.generation import generate
from explainers.memory import memoize
from explainers.text_input import check_number, clean_text
from models.errors import InputError
from models.shakespeare import corpus

WINDOW = 257  # tokens per window: the model reads 256 and predicts the last 256
MAX_BINS = 50
SEEN_RUN = 4  # a stretch of this many tokens found in the training plays counts as "seen in training"


@dataclass(frozen=True)
class Calibration:
    model: str
    bins: int
    ece: float
    confidence: np.ndarray  # (bins,) mean top-1 probability of the predictions in each bin (0 where empty)
    accuracy: np.ndarray  # (bins,) share of them that were right (0 where empty)
    counts: np.ndarray  # (bins,) predictions per bin
    n: int  # predictions in all
    mean_confidence: float
    top1_accuracy: float
    overconfident: float  # the share of predictions made with >= 90% confidence that were wrong (nan if none)


def check_bins(bins) -> int:
    return int(check_number(bins, "bins", 2, MAX_BINS, integer=True))


def calibration(text, model: str = "tiny-gpt", bins=10) -> Calibration:
    """Reliability of `model`'s top-1 next-token guesses on `text` (see the module's docstring)."""
    return _calibration(clean_text(text, example="To be, or not to be"), str(model), check_bins(bins))


def _decoder(model: str):
    spec = models.spec(model)
    if spec.family != "decoder":
        raise InputError(f"{model!r} is not a decoder (a model that predicts the next token); pick tiny-gpt or GPT-2.")
    return models.load(model)


@memoize(maxsize=16)
@torch.inference_mode()
def _calibration(text: str, model: str, bins: int) -> Calibration:
    b = _decoder(model)
    ids = b.tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) < 2:
        raise InputError("The text must have at least two tokens: there is nothing to predict in one.")
    conf, right = [], []
    step = WINDOW - 1
    for start in range(0, len(ids) - 1, step):
        w = torch.tensor([ids[start:start + WINDOW]])
        if w.shape[1] < 2:
            break
        p = torch.softmax(b.model(input_ids=w[:, :-1]).logits[0].float(), -1)
        top_p, top = p.max(-1)
        conf.append(top_p.numpy())
        right.append((top == w[0, 1:]).numpy())
    c, r = np.concatenate(conf).astype(np.float64), np.concatenate(right)
    which = np.minimum((c * bins).astype(int), bins - 1)
    counts = np.bincount(which, minlength=bins)
    sums_c = np.bincount(which, weights=c, minlength=bins)
    sums_r = np.bincount(which, weights=r.astype(np.float64), minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_c = np.where(counts > 0, sums_c / np.maximum(counts, 1), 0.0)
        acc = np.where(counts > 0, sums_r / np.maximum(counts, 1), 0.0)
    ece = float(np.sum(counts / len(c) * np.abs(acc - mean_c)))
    sure = c >= 0.9
    over = float(1 - r[sure].mean()) if sure.any() else float("nan")
    return Calibration(model, bins, ece, mean_c, acc, counts, len(c), float(c.mean()), float(r.mean()), over)


# ---- made up vs remembered ----------------------------------------------------------------------

@memoize(maxsize=2, gate=False)  # single flight: tokenizing the plays takes ~4 s; called inside a run's slot
def training_runs(model: str) -> np.ndarray:
    """Sorted codes of every run of SEEN_RUN consecutive tokens in the model's training plays."""
    b = _decoder(model)
    # paragraph by paragraph in one batch (the tokenizer's threads): the same ids as the whole text, 3.6x faster
    paragraphs = re.split(r"(?<=\n\n)", corpus("train"))
    ids = np.fromiter((i for e in b.tokenizer.backend_tokenizer.encode_batch(paragraphs, add_special_tokens=False)
                       for i in e.ids), dtype=np.int64)
    return np.unique(codes(ids, len(b.tokenizer)))


def codes(ids: np.ndarray, vocab: int) -> np.ndarray:
    """One int64 per run of SEEN_RUN consecutive tokens (vocab ** SEEN_RUN must fit: tiny-gpt's 4,096 do)."""
    out = np.zeros(max(len(ids) - SEEN_RUN + 1, 0), np.int64)
    for k in range(SEEN_RUN):
        out = out * vocab + ids[k:len(ids) - SEEN_RUN + 1 + k]
    return out


def seen_in_training(ids: list[int], model: str = "tiny-gpt") -> np.ndarray:
    """(len(ids),) bool: the token belongs to a stretch of >= SEEN_RUN tokens found in the training plays."""
    if model != "tiny-gpt":
        raise InputError("Only tiny-gpt's training text ships with the app: pick tiny-gpt to compare with it.")
    arr = np.asarray(ids, dtype=np.int64)
    runs = training_runs(model)
    run_codes = codes(arr, len(_decoder(model).tokenizer))
    # runs is sorted and unique: a binary search per run (np.isin would sort the million runs again, 0.5 s)
    at = np.minimum(np.searchsorted(runs, run_codes), len(runs) - 1)
    found = runs[at] == run_codes
    seen = np.zeros(len(arr), bool)
    for i in np.flatnonzero(found):
        seen[i:i + SEEN_RUN] = True
    return seen


@dataclass(frozen=True)
class Remembered:
    prompt: str
    tokens: tuple[str, ...]  # the generated tokens, as they appear in the text
    confidence: np.ndarray  # (n,) the probability of each token when it was drawn
    seen: np.ndarray  # (n,) bool: part of a stretch of >= SEEN_RUN tokens found in the training plays
    seconds: float

    @property
    def seen_share(self) -> float:
        return float(self.seen.mean()) if len(self.seen) else 0.0


@memoize(maxsize=16)
def remembered(prompt, max_new_tokens=40, temperature=0.8, seed=0) -> Remembered:
    """tiny-gpt continues `prompt`; each token's confidence, and which stretches it had seen in training.
    The stretch test reads the prompt's last tokens too, so a run that starts in the prompt counts."""
    t0 = time.perf_counter()
    g = generate(prompt, "tiny-gpt", max_new_tokens, temperature, 0, 1.0, seed)
    tok = models.load("tiny-gpt").tokenizer
    prompt_ids = tok(g.prompt, add_special_tokens=False)["input_ids"][-(SEEN_RUN - 1):]
    new = [s.chosen_id for s in g.steps]
    seen = seen_in_training(prompt_ids + new)[len(prompt_ids):]
    return Remembered(g.prompt, tuple(s.chosen_text for s in g.steps), np.asarray([s.chosen_prob for s in g.steps]),
                      seen, time.perf_counter() - t0)


SAMPLE_CHARS = 6000  # the default text: the start of a held-out play (never trained on)
PROMPTS = ("The capital of France is", "ROMEO:\nBut soft, what light through yonder window breaks?",
           "The answer to two plus two is")


@functools.lru_cache(maxsize=1)
def sample_text() -> str:
    """The opening of the held-out plays (tiny-gpt never saw them): the default text to measure on."""
    return corpus("validation")[:SAMPLE_CHARS]
