"""Decoding an encoder-decoder Transformer (tiny-dates): greedy, one output token per decoder pass,
then one teacher-forced pass that records every attention of the finished translation.

    ids, probs = greedy(model, input_ids, attention_mask, max_new_tokens=11)
    att = attentions(model, input_ids, attention_mask, ids)   # encoder, decoder self, cross
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@torch.no_grad()
def greedy(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, max_new_tokens: int):
    """(batch, T) output ids (start token dropped, padded with pad after the end token) and
    (batch, T, vocab) softmax of every step. The encoder runs once; each step is one decoder pass
    over the prefix (tiny model, short outputs: no cache needed)."""
    cfg = model.config
    enc = model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask)
    b = input_ids.shape[0]
    out = torch.full((b, 1), cfg.decoder_start_token_id, dtype=torch.long)
    done = torch.zeros(b, dtype=torch.bool)
    probs = []
    for _ in range(max_new_tokens):
        logits = model(encoder_outputs=enc, attention_mask=attention_mask, decoder_input_ids=out).logits[:, -1]
        p = logits.float().softmax(-1)
        nxt = p.argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, cfg.pad_token_id), nxt)
        probs.append(p)
        out = torch.cat([out, nxt[:, None]], 1)
        done |= nxt == cfg.eos_token_id
        if bool(done.all()):
            break
    return out[:, 1:], torch.stack(probs, 1)


@dataclass(frozen=True)
class Attentions:
    """Every attention of one translation. L = layers, H = heads, S = source tokens, T = decoder
    inputs (the start token, then the output tokens: row j is used while writing output token j)."""

    encoder: np.ndarray  # (L, H, S, S)
    decoder: np.ndarray  # (L, H, T, T), causal
    cross: np.ndarray  # (L, H, T, S)
    probs: np.ndarray  # (T, vocab): the next-token distribution at each decoder input


@torch.no_grad()
def attentions(model, input_ids: torch.Tensor, output_ids: list[int]) -> Attentions:
    """One pass with the finished output as the decoder's input: the same weights greedy used."""
    dec = torch.tensor([[model.config.decoder_start_token_id, *output_ids]], dtype=torch.long)
    o = model(input_ids=input_ids, decoder_input_ids=dec, output_attentions=True)

    def stack(layers):
        return torch.stack([a[0] for a in layers]).float().numpy()

    return Attentions(stack(o.encoder_attentions), stack(o.decoder_attentions), stack(o.cross_attentions),
                      o.logits[0].float().softmax(-1).numpy())
