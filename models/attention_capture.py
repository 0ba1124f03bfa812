"""Record the attention probabilities a diffusers model computes, without changing its output.

Every diffusers `Attention` module hands its work to a processor. The default processor
(`AttnProcessor2_0`) calls `F.scaled_dot_product_attention`, which never exposes the
probabilities. `RecordingAttnProcessor` does the same computation the classic way (diffusers'
`AttnProcessor`: softmax(QK^T / sqrt(d)) V) and keeps softmax(QK^T / sqrt(d)) on the side.
Its output equals the default processor's (checked in tests/test_text_to_image.py, atol 1e-5).

    install_recorders(transformer)            # once, when the model is loaded
    with recording() as store:                # per request, thread-local: requests never mix
        transformer(...)
    store.maps["transformer_blocks.0.attn2"]   # list of (batch, heads, queries, keys), one per call

DAAM (Tang et al. 2023) reads text-to-image cross-attention this way: record, then average.
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from dataclasses import dataclass, field

import torch


@dataclass
class AttentionStore:
    """What the recording processors saw, by module name; `keep` chooses which batch rows to keep."""

    maps: dict[str, list[torch.Tensor]] = field(default_factory=lambda: defaultdict(list))
    keep: slice = field(default_factory=lambda: slice(None))  # e.g. the conditional half of a classifier-free-guidance batch
    enabled: bool = True
    detach: bool = True  # False: keep the autograd graph (Attend-and-Excite differentiates through the maps)

    def clear(self) -> None:
        self.maps.clear()


_active = threading.local()  # the store of the request running on this thread, if any


class RecordingAttnProcessor:
    """diffusers' classic attention computation, recording the probabilities it uses into the
    store of the current thread's `recording()` block (none: it records nothing)."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, attn, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None, *args, **kwargs):
        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)
        input_ndim = hidden_states.ndim
        if input_ndim == 4:
            b, c, h, w = hidden_states.shape
            hidden_states = hidden_states.view(b, c, h * w).transpose(1, 2)
        batch, seq_len, _ = hidden_states.shape if encoder_hidden_states is None else encoder_hidden_states.shape
        attention_mask = attn.prepare_attention_mask(attention_mask, seq_len, batch)
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        query = attn.to_q(hidden_states)
        if encoder_hidden_states is None:
            encoder_hidden_states = hidden_states
        elif attn.norm_cross:
            encoder_hidden_states = attn.norm_encoder_hidden_states(encoder_hidden_states)
        key, value = attn.to_k(encoder_hidden_states), attn.to_v(encoder_hidden_states)
        query, key, value = attn.head_to_batch_dim(query), attn.head_to_batch_dim(key), attn.head_to_batch_dim(value)
        probs = attn.get_attention_scores(query, key, attention_mask)  # (batch * heads, queries, keys)
        store = getattr(_active, "store", None)
        if store is not None and store.enabled:
            kept = probs.view(-1, attn.heads, *probs.shape[1:])[store.keep].float()
            store.maps[self.name].append(kept.detach() if store.detach else kept)
        hidden_states = attn.batch_to_head_dim(torch.bmm(probs, value))
        hidden_states = attn.to_out[1](attn.to_out[0](hidden_states))  # linear projection, dropout
        if input_ndim == 4:
            hidden_states = hidden_states.transpose(-1, -2).reshape(b, c, h, w)
        if attn.residual_connection:
            hidden_states = hidden_states + residual
        return hidden_states / attn.rescale_output_factor


def install_recorders(model) -> None:
    """Give every attention module of `model` a recording processor (idempotent)."""
    procs = model.attn_processors
    if not all(isinstance(p, RecordingAttnProcessor) for p in procs.values()):
        model.set_attn_processor({name: RecordingAttnProcessor(name.removesuffix(".processor")) for name in procs})


@contextlib.contextmanager
def recording(store: AttentionStore | None = None):
    """Record the attention of models with recorders installed, for calls made on this thread."""
    store = store or AttentionStore()
    previous = getattr(_active, "store", None)
    _active.store = store
    try:
        yield store
    finally:
        _active.store = previous
