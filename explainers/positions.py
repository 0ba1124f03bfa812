"""Positional encoding, made visible: the same word at two positions enters the model as two
different vectors.

A Transformer reads all tokens at once, so nothing in attention itself knows their order. GPT-2
and BERT-style models add a learned *position embedding* (one vector per position) to each
token's embedding before the first layer. `same_word` takes one token, places it at two positions
and compares the two input vectors; `position_matrix` returns the whole table of position
vectors for a heat image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

import models
from explainers.attention import readable
from explainers.memory import memoize
from explainers.text_input import check_number, clean_text
from models.errors import InputError

MODELS = ("tiny-gpt", "minilm")
SHOWN_POSITIONS = 64  # the heat image and the similarity curve cover the first 64 positions


@dataclass(frozen=True)
class PositionResult:
    model: str
    word: str  # what the learner typed
    token: str  # the token used (the first one if the word splits)
    split: bool  # the word became several tokens; only the first is used
    positions: tuple[int, int]  # 0-based positions compared
    token_vector: np.ndarray  # (D,) the token's embedding, the same at every position
    vector_a: np.ndarray  # (D,) the input vector at positions[0]
    vector_b: np.ndarray  # (D,) the input vector at positions[1]
    cosine: float  # cosine similarity of vector_a and vector_b (1.0 = same direction)
    cosine_curve: np.ndarray  # (P,) cosine of the word at positions[0] vs the word at 0..P-1
    matrix: np.ndarray  # (P, D) position embeddings of the first P positions
    position_similarity: np.ndarray  # (P, P) cosine similarity between position vectors
    n_positions: int  # how many positions the model has in all


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a, b, dim=-1)


def _tables(model: str):
    """(token embedding table, position embedding table, combine) for a registry model.
    combine(token_vecs (N, D), pos_vecs (N, D)) -> the vectors the first layer receives."""
    m = models.load(model).model
    if hasattr(m, "transformer") and hasattr(m.transformer, "wpe"):  # GPT-2: token + position
        return m.transformer.wte.weight, m.transformer.wpe.weight, lambda t, p: t + p
    emb = getattr(m, "embeddings", None)
    if emb is not None and hasattr(emb, "position_embeddings"):  # BERT: LayerNorm(token + position + segment 0)
        seg = emb.token_type_embeddings.weight[0]
        return (emb.word_embeddings.weight, emb.position_embeddings.weight,
                lambda t, p: emb.LayerNorm(t + p + seg))
    raise InputError(f"{model!r} has no learned position embeddings to show.")


@memoize(maxsize=32)
@torch.inference_mode()
def same_word(word: str = "the", position_a: int = 1, position_b: int = 6, model: str = "tiny-gpt") -> PositionResult:
    """The input vectors of one token placed at two positions (0-based), and how alike they are."""
    if model not in MODELS:
        raise InputError(f"Positional encoding is shown for {', '.join(MODELS)}, not {str(model)[:40]!r}.")
    word = clean_text(word, "word", max_chars=40, example="the").strip()
    if not word:
        raise InputError("Type a word to place at two positions.")
    bundle = models.load(model)
    tok = bundle.tokenizer
    wte, wpe, combine = _tables(model)
    n_pos = wpe.shape[0]
    a = check_number(position_a, "position A", 0, n_pos - 1, integer=True)
    b = check_number(position_b, "position B", 0, n_pos - 1, integer=True)
    # GPT-2's BPE marks a word that follows a space with a leading space: " the" is the usual token.
    text = " " + word if model == "tiny-gpt" else word
    ids = tok.encode(text, add_special_tokens=False)
    if not ids:
        raise InputError(f"{word!r} gives no token.")
    tid = ids[0]
    p = min(SHOWN_POSITIONS, n_pos)
    t_vec = wte[tid]  # (D,)
    positions = torch.arange(p)
    curve_inputs = combine(t_vec.expand(p, -1), wpe[positions])  # (P, D)
    pair = combine(t_vec.expand(2, -1), wpe[torch.tensor([a, b])])  # (2, D)
    mat = wpe[:p]  # (P, D)
    pos_sim = _cos(mat[:, None, :], mat[None, :, :])  # (P, P)
    start = combine(t_vec[None], wpe[a][None])  # (1, D)
    return PositionResult(
        model=model, word=word, token=readable(tok, [tid])[0], split=len(ids) > 1, positions=(a, b),
        token_vector=t_vec.float().numpy().copy(), vector_a=pair[0].float().numpy(), vector_b=pair[1].float().numpy(),
        cosine=float(_cos(pair[0], pair[1])), cosine_curve=_cos(start, curve_inputs).float().numpy(),
        matrix=mat.float().numpy().copy(), position_similarity=pos_sim.float().numpy(), n_positions=int(n_pos))
