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
from explainers.cache import bounded_cache
from explainers.plots import ACCENT, MAIN, MUTED, figure
from explainers.text_input import check_number, clean_text

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
        raise ValueError(f"temperature must be 0 (greedy) or between {MIN_TEMPERATURE:g} and {MAX_TEMPERATURE:g}; "
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
        raise ValueError(f"{model!r} is not a decoder; next-token prediction needs one such as tiny-gpt.")


@bounded_cache(maxsize=32)
@torch.inference_mode()
def last_logits(text: str, model: str = "tiny-gpt") -> tuple[torch.Tensor, torch.Tensor, int]:
    """One forward pass: the context ids (1, T), the last position's logits (V,), and how many
    tokens the text had before any truncation. Cached, so moving a sampling slider is cheap."""
    check_decoder(model)
    text = clean_text(text)
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


def visible(token: str) -> str:
    """Whitespace made visible, quoted so a bare space still shows."""
    return "'" + token.replace(" ", "▁").replace("\n", "⏎").replace("\t", "⇥") + "'"


def next_token_bars(r, highlight: int | None = None, max_rows: int = 25, title: str | None = None):
    """Before and after the sampling controls, side by side as horizontal bars; tokens cut by
    top-k / top-p are grey. `r` is a NextTokenResult or a generation Step (same candidate fields);
    `highlight` marks one token id (e.g. the one that was sampled)."""
    rows = min(len(r.ids), max_rows)
    idx = list(range(rows))
    if highlight is not None and highlight in r.ids and r.ids.index(highlight) >= rows:
        idx[-1] = r.ids.index(highlight)  # the chosen token stays visible even when unlikely
    labels = [visible(r.tokens[i]) for i in idx]
    fig = figure(9, 1.2 + 0.3 * rows)
    ax_b, ax_a = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(idx))
    ax_b.barh(y, r.before[idx], color=MAIN)
    colours = [ACCENT if r.kept[i] else MUTED for i in idx]
    ax_a.barh(y, r.after[idx], color=colours)
    ax_b.set_yticks(y, labels, fontsize=9, fontfamily="monospace")
    ax_b.invert_yaxis()
    for ax, vals in ((ax_b, r.before[idx]), (ax_a, r.after[idx])):
        top = max(1e-6, float(vals.max()))
        ax.set_xlim(0, min(1.0, top * 1.3))
        for yi, v in zip(y, vals):
            ax.text(v, yi, f" {v:.1%}" if v >= 0.0005 else " 0", va="center", fontsize=7)
        ax.grid(axis="x", alpha=0.3)
    for yi, i in zip(y, idx):
        if not r.kept[i]:
            ax_a.text(0, yi, "  cut", va="center", fontsize=7, color="#666666")
    if highlight is not None and highlight in [r.ids[i] for i in idx]:
        yi = [r.ids[i] for i in idx].index(highlight)
        for ax in (ax_b, ax_a):
            ax.axhspan(yi - 0.45, yi + 0.45, color=ACCENT, alpha=0.12, lw=0)
        ax_b.get_yticklabels()[yi].set_fontweight("bold")
    ax_b.set_xlabel("probability (softmax of the logits)")
    ax_a.set_xlabel("probability sampled from (renormalised)")
    s = r.sampling
    ax_b.set_title("Before: the model's own distribution", fontsize=10)
    knobs = "greedy: only the top token" if s.temperature == 0 else \
        f"temperature {s.temperature:g}, top-k {s.top_k or 'off'}, top-p {s.top_p:g}"
    ax_a.set_title(f"After: {knobs}", fontsize=10)
    ax_b.set_ylabel("candidate next token ('▁' = space, '⏎' = newline)")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
