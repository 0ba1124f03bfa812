"""The original Transformer's shape: an encoder reads the source, a decoder writes the output one
token at a time, and **cross-attention** joins them (every output token queries the source tokens).

`translate(text)` runs tiny-dates (models/dates.py: dates written by people -> ISO 8601, one
character per token) greedily, then records every attention of the finished translation in one
teacher-forced pass: the encoder's self-attention (full), the decoder's self-attention (causal)
and the cross-attention. Row j of `cross_attention` is the attention used while writing output
token j; column k belongs to source token k, whose character span in `text` is `source_spans[k]`
(the end token's span is (0, 0)).

`evaluate(pairs)` measures exact match and alignment on many dates at once (training/eval_tiny_dates.py
and the quality tests use it; the model card's figures come from it).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date

import numpy as np
import torch

import models
from explainers.memory import memoize
from models.dates import ALPHABET, MAX_SOURCE_CHARS, TARGET_CHARS, TARGET_FIELDS
from models.errors import InputError
from models.seq2seq import attentions, greedy

MODEL = "tiny-dates"
EXAMPLES = ["5 March 2021", "Friday, 5 March 2021", "March 5, 2021", "5th of March 2021", "05.03.2021",
            "03/05/2021", "2021, March 5", "5 Mar 2021", "Tuesday, 17 August 1965", "29th of February 2096"]
FAILURES = {  # what goes wrong: inputs outside what it learned (the page shows what the model does with each)
    "an impossible date": "31 February 2021",
    "a two-digit year": "5 March 21",
    "a format it never saw": "2021-03-05",
}
TOP_K = 5  # alternatives kept for each output character
UNSURE = 0.9  # an output character chosen with less probability than this is flagged
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SPECIAL_TOKENS = ("<s>", "</s>", "<pad>")


@dataclass(frozen=True)
class TranslationResult:
    """One translation and every attention it used. L layers, H heads, S source tokens (characters,
    then the end token), T output tokens (the characters written, without start or end token)."""

    text: str
    output: str
    source_tokens: tuple[str, ...]
    source_spans: tuple[tuple[int, int], ...]
    target_tokens: tuple[str, ...]
    cross_attention: np.ndarray  # (L, H, T, S): row j = while writing target token j; rows sum to 1
    encoder_attention: np.ndarray  # (L, H, S, S): full (every source token sees every other)
    decoder_attention: np.ndarray  # (L, H, T, T): row j over the decoder's inputs 0..j (causal)
    decoder_inputs: tuple[str, ...]  # the decoder's input at each row: <s>, then the output so far
    confidence: np.ndarray  # (T,) the probability of each character written
    top_tokens: tuple[tuple[str, ...], ...]  # (T, TOP_K) the most likely characters at each step
    top_probs: np.ndarray  # (T, TOP_K)
    end_confidence: float  # the probability of stopping after the last character
    finished: bool  # the model wrote its end token within the ISO length (+1 spare)
    seconds: float

    @property
    def layers(self) -> int:
        return self.cross_attention.shape[0]

    @property
    def heads(self) -> int:
        return self.cross_attention.shape[1]

    @property
    def is_iso(self) -> bool:
        return bool(ISO.match(self.output))

    @property
    def real_date(self) -> bool:
        """The output is a date that exists in the calendar (2021-02-31 does not)."""
        if not self.is_iso:
            return False
        try:
            date.fromisoformat(self.output)
        except ValueError:
            return False
        return True

    @property
    def least_sure(self) -> int:
        """The output character the model was least sure of."""
        return int(np.argmin(self.confidence)) if len(self.confidence) else 0

    @property
    def sequence_probability(self) -> float:
        """The probability of the whole output (product over its characters and the end)."""
        return float(np.prod(self.confidence) * self.end_confidence)

    def strongest_source(self, j: int, layer: int | None = None, head: int | None = None) -> int:
        """The source token output token j attended to most (one layer and head, or their mean)."""
        return int(self.alignment(layer, head)[j].argmax())

    def as_dict(self, decimals: int = 4) -> dict:
        """Everything as plain lists (the `translate_data` API endpoint)."""
        def r(a):
            return np.round(a.astype(float), decimals).tolist()

        return dict(text=self.text, output=self.output, real_date=self.real_date,
                    source_tokens=list(self.source_tokens), source_spans=[list(s) for s in self.source_spans],
                    target_tokens=list(self.target_tokens), decoder_inputs=list(self.decoder_inputs),
                    confidence=r(self.confidence), end_confidence=round(self.end_confidence, decimals),
                    top_tokens=[list(t) for t in self.top_tokens], top_probs=r(self.top_probs),
                    cross_attention=r(self.cross_attention), encoder_attention=r(self.encoder_attention),
                    decoder_attention=r(self.decoder_attention))

    def alignment(self, layer: int | None = None, head: int | None = None) -> np.ndarray:
        """(T, S) cross-attention of one layer and head; None = the mean over layers / heads."""
        return head_mean(self.cross_attention, layer, head)


def head_mean(a: np.ndarray, layer: int | None = None, head: int | None = None) -> np.ndarray:
    """(L, H, rows, cols) attention -> (rows, cols) of one layer and head (0-based); None = the mean."""
    a = (a if layer is None else a[layer:layer + 1]).mean(0)
    return a.mean(0) if head is None else a[head]


def validate(text) -> tuple[str, int]:
    """The date to translate (surrounding spaces removed) and where it starts in `text`, or an
    InputError that says what to change."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"Type a date, for example {EXAMPLES[0]!r} or {EXAMPLES[4]!r}.")
    stripped = text.strip()
    if len(stripped) > MAX_SOURCE_CHARS:
        raise InputError(f"That is {len(stripped)} characters; the translator reads at most {MAX_SOURCE_CHARS} "
                         f"(the longest date it learned, 'Wednesday, 29 September 2021', has 29).")
    unknown = sorted({c for c in stripped if c not in ALPHABET})
    if unknown:
        shown = " ".join(repr(c) for c in unknown[:8])
        raise InputError(f"The translator only knows English letters, digits, spaces and , . / - "
                         f"(its character vocabulary); remove {shown}.")
    return stripped, text.index(stripped[0])


@memoize(maxsize=64)
def translate(text: str) -> TranslationResult:
    """Translate one date to ISO 8601 and record every attention used (see the module's docstring)."""
    source, offset = validate(text)
    b = models.load(MODEL)
    tok, model = b.tokenizer, b.model
    t0 = time.perf_counter()
    enc = tok(source, return_offsets_mapping=True, return_tensors="pt")
    ids, probs = greedy(model, enc.input_ids, enc.attention_mask, TARGET_CHARS + 1)
    ids = ids[0].tolist()
    eos = model.config.eos_token_id
    finished = eos in ids
    out_ids = ids[:ids.index(eos)] if finished else ids
    att = attentions(model, enc.input_ids, out_ids)
    seconds = time.perf_counter() - t0
    n = len(out_ids)
    p = att.probs  # (n + 1, vocab): row j predicts output token j; row n predicts the end
    top = np.argsort(-p[:n], axis=1)[:, :TOP_K]
    vocab = tok.convert_ids_to_tokens(list(range(p.shape[1])))
    spans = tuple((0, 0) if s == e else (s + offset, e + offset) for s, e in enc.offset_mapping[0].tolist())
    target = tuple(tok.convert_ids_to_tokens(out_ids))
    return TranslationResult(
        text=text, output="".join(target), source_tokens=tuple(tok.convert_ids_to_tokens(enc.input_ids[0].tolist())),
        source_spans=spans, target_tokens=target,
        cross_attention=att.cross[:, :, :n], encoder_attention=att.encoder,
        decoder_attention=att.decoder[:, :, :n, :n], decoder_inputs=("<s>", *target[:-1]) if n else (),
        confidence=p[np.arange(n), out_ids] if n else np.zeros(0, np.float32),
        top_tokens=tuple(tuple(vocab[i] for i in row) for row in top), top_probs=np.take_along_axis(p[:n], top, 1),
        end_confidence=float(p[n, eos]), finished=finished, seconds=seconds)


# ---- measuring the model on many dates ---------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    n: int
    exact: float  # share of outputs equal to the ISO date
    alignment: np.ndarray  # (L, H) share of year / month / day output characters whose strongest source
    # character lies in the same field of the source (per layer and head)
    mean_alignment: float  # the same for the mean over all layers and heads
    min_confidence: np.ndarray  # (n,) each output's least-sure character probability
    correct: np.ndarray  # (n,) bool

    @property
    def best_head(self) -> tuple[int, int]:
        return tuple(int(i) for i in np.unravel_index(self.alignment.argmax(), self.alignment.shape))


@torch.no_grad()
def evaluate(pairs, spans=None, batch: int = 256) -> Evaluation:
    """Exact match of (source, iso) pairs; with `spans` (each source's {'year'|'month'|'day': (start,
    end)}), the alignment of every layer and head too."""
    b = models.load(MODEL)
    tok, model = b.tokenizer, b.model
    eos, pad = model.config.eos_token_id, model.config.pad_token_id
    correct, min_conf, hits, total, mean_hits = [], [], 0, 0, 0
    for i in range(0, len(pairs), batch):
        chunk = pairs[i:i + batch]
        enc = tok([s for s, _ in chunk], padding=True, return_tensors="pt")
        ids, probs = greedy(model, enc.input_ids, enc.attention_mask, TARGET_CHARS + 1)
        chosen = probs.gather(2, ids[:, :probs.shape[1], None])[..., 0]
        for r, (_, want) in enumerate(chunk):
            row = ids[r].tolist()
            n = row.index(eos) if eos in row else len(row)
            correct.append("".join(tok.convert_ids_to_tokens(row[:n])) == want)
            min_conf.append(float(chosen[r, :n + 1].min()))
        if spans is None:
            continue
        dec = torch.cat([torch.full((len(chunk), 1), model.config.decoder_start_token_id), ids], 1)
        dec = dec[:, :TARGET_CHARS]  # the inputs while writing the 10 ISO characters
        dec = dec.masked_fill(dec == eos, pad)
        cross = torch.stack(model(input_ids=enc.input_ids, attention_mask=enc.attention_mask,
                                  decoder_input_ids=dec, output_attentions=True).cross_attentions, 1)
        mean = cross.mean((1, 2))  # (B, T, S)
        for r in range(len(chunk)):
            fields = spans[i + r]
            for j, field in enumerate(TARGET_FIELDS):
                if not field:
                    continue
                lo, hi = fields[field]
                strongest = cross[r, :, :, j].argmax(-1)  # (L, H)
                hits = hits + ((strongest >= lo) & (strongest < hi)).numpy()
                mean_hits += int(lo <= int(mean[r, j].argmax()) < hi)
                total += 1
    alignment = hits / max(total, 1) if total else np.zeros((0, 0))
    return Evaluation(len(pairs), float(np.mean(correct)), np.asarray(alignment, dtype=float),
                      mean_hits / max(total, 1), np.asarray(min_conf), np.asarray(correct))
