"""The logit lens: what each layer would predict if the model stopped there.

Every block adds to the *residual stream*, a vector per token. Pushing a layer's vector for the
last token through the model's own final layer norm and output head gives a next-token
distribution "so far". Early layers mostly guess frequent tokens; the answer sharpens as the
layers stack up. The last row is exactly the model's real prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

import models
from explainers.attention import readable
from explainers.memory import memoize
from explainers.next_token import check_decoder, context_limit, encode_left
from explainers.text_input import PLAY_EXAMPLE, check_number, clean_text
from models.errors import InputError

MAX_TOP_K = 10


@dataclass
class LensResult:
    model: str
    context: list[str]  # readable tokens the model saw
    layer_names: list[str]  # "0 (embeddings)", "1", ..., "L": layers numbered as everywhere in the app
    tokens: list[list[str]]  # (layers + 1) x k readable top tokens, most likely first
    ids: np.ndarray  # (layers + 1, k)
    probs: np.ndarray  # (layers + 1, k)
    final_token: str  # the model's real top prediction
    final_token_probs: np.ndarray  # (layers + 1,) probability each layer gives it
    distributions: np.ndarray  # (layers + 1, V) the full per-layer distributions
    truncated: bool


def final_norm(model) -> torch.nn.Module:
    """The layer norm applied before the output head (GPT-2 family: transformer.ln_f)."""
    body = getattr(model, "transformer", None)
    if body is None or not hasattr(body, "ln_f"):
        raise InputError(f"The logit lens here supports GPT-2-style decoders, not {type(model).__name__}.")
    return body.ln_f


@memoize(maxsize=32)
@torch.inference_mode()
def lens(text: str, model: str = "tiny-gpt", top_k: int = 5) -> LensResult:
    """Top-k next tokens predicted from each layer's hidden state at the last position."""
    check_decoder(model)
    text = clean_text(text, example=PLAY_EXAMPLE)
    k = check_number(top_k, "top_k", 1, MAX_TOP_K, integer=True)
    bundle = models.load(model)
    ids, n = encode_left(bundle, text, context_limit(bundle))  # (1, T)
    out = bundle.model(input_ids=ids, output_hidden_states=True)
    hidden = torch.stack([h[0, -1] for h in out.hidden_states])  # (layers + 1, D), last position
    # HF GPT-2 appends the last hidden state *after* ln_f: normalise every other one here, not that one twice.
    normed = torch.cat([final_norm(bundle.model)(hidden[:-1]), hidden[-1:]])  # (layers + 1, D)
    logits = bundle.model.get_output_embeddings()(normed).float()  # (layers + 1, V)
    probs = logits.softmax(dim=-1)  # (layers + 1, V)
    top_p, top_i = probs.topk(k, dim=-1)  # (layers + 1, k)
    final = int(out.logits[0, -1].argmax())
    tok = bundle.tokenizer
    names = ["0 (embeddings)"] + [f"{i}" for i in range(1, probs.shape[0])]  # layers 1..L, as everywhere
    return LensResult(
        model=model, context=readable(tok, ids[0].tolist()), layer_names=names,
        tokens=[readable(tok, row) for row in top_i.tolist()], ids=top_i.numpy(), probs=top_p.numpy(),
        final_token=readable(tok, [final])[0], final_token_probs=probs[:, final].numpy(),
        distributions=probs.numpy(), truncated=n > ids.shape[1])

