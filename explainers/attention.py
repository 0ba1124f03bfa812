"""Self-attention, made visible: which tokens each token looks at, per layer and head.

`attend` runs one forward pass with eager attention and returns every attention matrix,
`(layers, heads, T, T)`, row i = how token i spreads its attention over the tokens (each row
sums to 1; a decoder's rows are zero above the diagonal: it cannot look ahead).
`contextual_similarity` follows one word through the layers of two sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

import models
from explainers.memory import memoize
from explainers.text_input import clean_text
from models.errors import InputError

MAX_TOKENS = 128  # heatmaps beyond this are unreadable; longer input is truncated and flagged


@dataclass
class AttentionResult:
    model: str
    tokens: list[str]  # as the model sees them (readable form: leading-space marker shown as "▁")
    ids: list[int]
    special: list[bool]  # added by the tokenizer: [CLS], [SEP], <|endoftext|> ... (not [UNK])
    weights: np.ndarray  # (layers, heads, T, T), float32, rows sum to 1
    causal: bool
    truncated: bool  # the text had more than `limit` tokens
    limit: int
    n_input_tokens: int

    @property
    def layers(self) -> int:
        return self.weights.shape[0]

    @property
    def heads(self) -> int:
        return self.weights.shape[1]


def readable(tokenizer, ids: list[int]) -> list[str]:
    """Token strings a learner can read: byte-level BPE's 'Ġ' (space) becomes '▁', 'Ċ' newline '⏎'."""
    out = []
    for tok in tokenizer.convert_ids_to_tokens(ids):
        tok = tok.replace("Ġ", "▁").replace("Ċ", "⏎").replace("ĉ", "⇥")
        out.append(tok)
    return out


def special_ids(tokenizer) -> set[int]:
    """Ids of the tokens the tokenizer adds ([CLS], [SEP], <|endoftext|>, padding). [UNK] is not
    one of them: it stands for a piece of the text (an emoji, say) and stays visible."""
    tok = tokenizer
    structural = {tok.cls_token_id, tok.sep_token_id, tok.bos_token_id, tok.eos_token_id, tok.pad_token_id}
    return {i for i in tok.all_special_ids if i != tok.unk_token_id or i in structural}


def token_limit(bundle) -> int:
    cfg = bundle.model.config
    positions = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", 512)
    return int(min(MAX_TOKENS, positions))


def encode(bundle, text: str, limit: int) -> tuple[dict, bool, int]:
    tok = bundle.tokenizer
    full = tok(text, return_tensors="pt", truncation=False)
    n = full["input_ids"].shape[1]
    if n <= limit:
        return dict(full), False, n
    enc = tok(text, return_tensors="pt", truncation=True, max_length=limit)
    return dict(enc), True, n


@memoize(maxsize=32)
@torch.inference_mode()
def attend(text: str, model: str = "minilm") -> AttentionResult:
    """Attention weights of every layer and head for `text` on a registry encoder/decoder."""
    spec = models.spec(model)
    if spec.family not in ("encoder", "decoder"):
        raise InputError(f"{model!r} is a {spec.family} model; attention needs an encoder or a decoder.")
    text = clean_text(text)
    bundle = models.load(model)
    limit = token_limit(bundle)
    enc, truncated, n = encode(bundle, text, limit)
    out = bundle.model(**{k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")},
                       output_attentions=True)
    weights = torch.stack(out.attentions)[:, 0].float().numpy()  # (layers, heads, T, T)
    ids = enc["input_ids"][0].tolist()
    special = special_ids(bundle.tokenizer)
    return AttentionResult(model=model, tokens=readable(bundle.tokenizer, ids), ids=ids,
                           special=[i in special for i in ids], weights=weights,
                           causal=spec.family == "decoder", truncated=truncated, limit=limit, n_input_tokens=n)


@dataclass
class SimilarityResult:
    word: str
    similarities: np.ndarray  # (layers + 1,) cosine, embedding layer first
    tokens_a: list[str]  # the word's pieces in sentence a
    tokens_b: list[str]
    layer_names: list[str]
    occurrences: tuple[int, int] = (1, 1)  # how often the word occurs in a and in b (the first one is compared)


def occurrences(text: str, word: str) -> list[re.Match]:
    """Every whole-word occurrence of `word` in `text` (case-insensitive)."""
    return list(re.finditer(rf"(?<!\w){re.escape(word)}(?!\w)", text, flags=re.IGNORECASE))


def word_positions(bundle, text: str, word: str) -> tuple[torch.Tensor, list[int]]:
    """Token indices that cover the first whole-word occurrence of `word` in `text`."""
    found = occurrences(text, word)
    m = found[0] if found else None
    if not m:
        raise InputError(f"The word {word!r} does not occur in: {text[:80]!r}. Pick a word that is in both sentences.")
    enc = bundle.tokenizer(text, return_tensors="pt", return_offsets_mapping=True, truncation=True,
                           max_length=token_limit(bundle))
    offsets = enc.pop("offset_mapping")[0].tolist()
    pos = [i for i, (s, e) in enumerate(offsets) if e > s and s < m.end() and e > m.start()]
    if not pos:
        raise InputError(f"The word {word!r} falls beyond the first {token_limit(bundle)} tokens; shorten the sentence.")
    return enc, pos


@memoize(maxsize=32)
@torch.inference_mode()
def contextual_similarity(sentence_a: str, sentence_b: str, word: str, model: str = "minilm") -> SimilarityResult:
    """Cosine similarity of `word`'s vector in sentence a vs sentence b, at every layer
    (embedding layer first). The same word in two contexts starts identical-ish and drifts
    apart as attention mixes in its neighbours."""
    spec = models.spec(model)
    if spec.family not in ("encoder", "decoder"):
        raise InputError(f"{model!r} is a {spec.family} model; pick an encoder or a decoder.")
    sentence_a, sentence_b = clean_text(sentence_a, "first sentence"), clean_text(sentence_b, "second sentence")
    word = clean_text(word, "word", max_chars=50, example="bank").strip()
    bundle = models.load(model)
    vecs, pieces = [], []
    for text in (sentence_a, sentence_b):
        enc, pos = word_positions(bundle, text, word)
        out = bundle.model(**{k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")},
                           output_hidden_states=True)
        hidden = torch.stack(out.hidden_states)[:, 0]  # (layers + 1, T, D)
        vecs.append(hidden[:, pos].mean(dim=1))  # (layers + 1, D): mean over the word's pieces
        pieces.append(readable(bundle.tokenizer, enc["input_ids"][0, pos].tolist()))
    sims = torch.nn.functional.cosine_similarity(vecs[0], vecs[1], dim=-1).numpy()  # (layers + 1,)
    names = ["embeddings"] + [f"layer {i}" for i in range(1, len(sims))]
    counts = (len(occurrences(sentence_a, word)), len(occurrences(sentence_b, word)))
    return SimilarityResult(word, sims, pieces[0], pieces[1], names, counts)
