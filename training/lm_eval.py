"""Held-out perplexity of a causal LM and of the two count baselines it is judged against.

All three are measured on the same token ids, so the ratios in the model card are fair:
- unigram: P(b) from training counts (add-one smoothed);
- interpolated bigram: P(b|a) = lam * count(a,b)/count(a) + (1 - lam) * P_unigram(b),
  with lam chosen on the selection play (never on the validation plays).
"""

from __future__ import annotations

import math

import numpy as np
import torch


def unigram_probs(train_ids: np.ndarray, vocab: int) -> np.ndarray:
    counts = np.bincount(train_ids, minlength=vocab).astype(np.float64) + 1.0
    return counts / counts.sum()  # (V,)


def bigram_counts(train_ids: np.ndarray, vocab: int) -> np.ndarray:
    pairs = train_ids[:-1].astype(np.int64) * vocab + train_ids[1:]
    return np.bincount(pairs, minlength=vocab * vocab).reshape(vocab, vocab).astype(np.float32)  # (V, V)


def bigram_nll(ids: np.ndarray, counts: np.ndarray, unigram: np.ndarray, lam: float) -> float:
    """Mean negative log-likelihood of ids[1:] given the previous token."""
    prev, nxt = ids[:-1], ids[1:]
    row = counts.sum(axis=1)  # (V,)
    ml = np.where(row[prev] > 0, counts[prev, nxt] / np.maximum(row[prev], 1), 0.0)
    p = lam * ml + (1 - lam) * unigram[nxt]
    return float(-np.log(p).mean())


def baselines(train_ids: np.ndarray, select_ids: np.ndarray, val_ids: np.ndarray, vocab: int) -> dict:
    uni = unigram_probs(train_ids, vocab)
    counts = bigram_counts(train_ids, vocab)
    lams = np.linspace(0.05, 0.95, 19)
    best = min(lams, key=lambda lam: bigram_nll(select_ids, counts, uni, lam))
    return dict(
        unigram_ppl=float(math.exp(-np.log(uni[val_ids[1:]]).mean())),
        bigram_ppl=float(math.exp(bigram_nll(val_ids, counts, uni, best))),
        bigram_lambda=float(best),
    )


@torch.inference_mode()
def perplexity(model, ids: np.ndarray, block: int = 256, stride: int = 128, batch: int = 16,
               device: str | torch.device = "cpu") -> float:
    """Sliding-window perplexity: every token after the first is scored once, with at least
    `block - stride` tokens of context (except near the start)."""
    model.eval()
    ids_t = torch.as_tensor(ids, dtype=torch.long)
    windows, scored = [], []  # (start, first scored position within window)
    for start in range(0, max(1, len(ids_t) - 1), stride):
        end = min(start + block, len(ids_t))
        windows.append((start, end))
        scored.append(0 if start == 0 else block - stride)
        if end == len(ids_t):
            break
    total_nll, total_n = 0.0, 0
    for i in range(0, len(windows), batch):
        chunk = windows[i:i + batch]
        length = max(e - s for s, e in chunk)
        x = torch.zeros(len(chunk), length, dtype=torch.long)
        mask = torch.zeros(len(chunk), length - 1, dtype=torch.bool)
        for j, (s, e) in enumerate(chunk):
            x[j, : e - s] = ids_t[s:e]
            mask[j, max(scored[i + j] - 1, 0): e - s - 1] = True  # predictions of tokens s+1..e-1
        logits = model(x.to(device)).logits.float()[:, :-1]  # (B, L-1, V)
        nll = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1).to(device), reduction="none"
        ).view(len(chunk), -1)
        total_nll += float(nll[mask.to(device)].sum())
        total_n += int(mask.sum())
    return math.exp(total_nll / total_n)
