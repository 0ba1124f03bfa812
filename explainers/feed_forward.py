"""The feed-forward layer (MLP) of one Transformer block, on one token's vector.

After attention has mixed information between tokens, every block passes each token's vector,
on its own, through a small two-layer network: widen (192 -> 768 in tiny-gpt), a GELU, narrow
back, and add the result to the vector (the residual stream). `feed_forward` records, for one
token in one block of a GPT-2-style decoder: the vector before the MLP, what the MLP adds, the
vector after, the most active hidden units, and what the model would predict from the vector
before and after (the logit lens).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

import models
from explainers.attention import readable
from explainers.logit_lens import final_norm
from explainers.memory import memoize
from explainers.next_token import check_decoder, context_limit, encode_left
from explainers.text_input import PLAY_EXAMPLE, check_number, clean_text

TOP_UNITS = 10
TOP_TOKENS = 5


@dataclass(frozen=True)
class FeedForwardResult:
    model: str
    tokens: list[str]  # the context, readable
    position: int  # 0-based position of the token looked at
    layer: int  # 1-based block number, as everywhere in the app
    layers: int
    before: np.ndarray  # (D,) residual stream entering the MLP (after this block's attention)
    added: np.ndarray  # (D,) what the MLP adds
    after: np.ndarray  # (D,) before + added
    hidden: np.ndarray  # (4D,) the MLP's hidden activations (after GELU)
    top_units: np.ndarray  # (TOP_UNITS,) indices of the most active hidden units
    top_values: np.ndarray  # (TOP_UNITS,)
    lens_before: list[tuple[str, float]]  # top next tokens read from `before`
    lens_after: list[tuple[str, float]]  # top next tokens read from `after`
    lens_shift: list[tuple[str, float]]  # tokens whose probability the MLP raised most, with the change
    cosine: float  # cosine(before, after)
    norm_ratio: float  # |added| / |before|
    alone_error: float  # max |MLP(ln_2(before)) - added| when the token is run alone: 0 = no mixing


def _top(tok, probs: torch.Tensor, k: int) -> list[tuple[str, float]]:
    p, i = probs.topk(k)
    return list(zip(readable(tok, i.tolist()), p.tolist()))


@memoize(maxsize=32)
@torch.inference_mode()
def feed_forward(text: str, layer: int = 3, position: int = -1, model: str = "tiny-gpt") -> FeedForwardResult:
    """What block `layer`'s MLP does to the token at `position` (-1 = the last token)."""
    check_decoder(model)
    text = clean_text(text, example=PLAY_EXAMPLE)
    bundle = models.load(model)
    m, tok = bundle.model, bundle.tokenizer
    blocks = m.transformer.h
    layer = check_number(layer, "layer", 1, len(blocks), integer=True)
    ids, _ = encode_left(bundle, text, context_limit(bundle))  # (1, T)
    T = ids.shape[1]
    position = check_number(position, "position", -T, T - 1, integer=True) % T
    block = blocks[layer - 1]
    seen: dict[str, torch.Tensor] = {}
    hooks = [
        block.ln_2.register_forward_hook(lambda mod, inp, out: seen.__setitem__("before", inp[0][0, position])),
        block.mlp.act.register_forward_hook(lambda mod, inp, out: seen.__setitem__("hidden", out[0, position])),
        block.mlp.register_forward_hook(lambda mod, inp, out: seen.__setitem__("added", out[0, position])),
    ]
    try:
        m(input_ids=ids)
    finally:
        for h in hooks:
            h.remove()
    before, added, hidden = seen["before"], seen["added"], seen["hidden"]  # (D,), (D,), (4D,)
    after = before + added
    alone = block.mlp(block.ln_2(before[None]))[0]  # the MLP on this one vector, no other token present
    head, norm = m.get_output_embeddings(), final_norm(m)
    pb = head(norm(before[None]))[0].softmax(-1)  # (V,)
    pa = head(norm(after[None]))[0].softmax(-1)  # (V,)
    shift = pa - pb
    sv, si = shift.topk(TOP_TOKENS)
    tv, ti = hidden.topk(TOP_UNITS)
    return FeedForwardResult(
        model=model, tokens=readable(tok, ids[0].tolist()), position=int(position), layer=int(layer),
        layers=len(blocks), before=before.numpy().copy(), added=added.numpy().copy(), after=after.numpy().copy(),
        hidden=hidden.numpy().copy(), top_units=ti.numpy(), top_values=tv.numpy(),
        lens_before=_top(tok, pb, TOP_TOKENS), lens_after=_top(tok, pa, TOP_TOKENS),
        lens_shift=list(zip(readable(tok, si.tolist()), sv.tolist())),
        cosine=float(torch.nn.functional.cosine_similarity(before, after, dim=0)),
        norm_ratio=float(added.norm() / before.norm().clamp_min(1e-12)),
        alone_error=float((alone - added).abs().max()))
