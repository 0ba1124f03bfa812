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
from explainers.cache import bounded_cache
from explainers.next_token import check_decoder, context_limit, encode_left, visible
from explainers.plots import CMAP, figure
from explainers.text_input import check_number, clean_text

MAX_TOP_K = 10


@dataclass
class LensResult:
    model: str
    context: list[str]  # readable tokens the model saw
    layer_names: list[str]  # "embeddings", "block 1", ...
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
        raise ValueError(f"The logit lens here supports GPT-2-style decoders, not {type(model).__name__}.")
    return body.ln_f


@bounded_cache(maxsize=32)
@torch.inference_mode()
def lens(text: str, model: str = "tiny-gpt", top_k: int = 5) -> LensResult:
    """Top-k next tokens predicted from each layer's hidden state at the last position."""
    check_decoder(model)
    text = clean_text(text)
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
    names = ["embeddings"] + [f"block {i}" for i in range(1, probs.shape[0])]
    return LensResult(
        model=model, context=readable(tok, ids[0].tolist()), layer_names=names,
        tokens=[readable(tok, row) for row in top_i.tolist()], ids=top_i.numpy(), probs=top_p.numpy(),
        final_token=readable(tok, [final])[0], final_token_probs=probs[:, final].numpy(),
        distributions=probs.numpy(), truncated=n > ids.shape[1])


def lens_plot(r: LensResult):
    """Layers as rows (embeddings at the bottom, the output at the top), top tokens as cells,
    coloured and annotated with their probability."""
    layers, k = r.probs.shape
    fig = figure(1.9 * k + 3.0, 0.55 * layers + 1.6)
    ax_map, ax_line = fig.subplots(1, 2, width_ratios=[k, 1.2], sharey=True)
    im = ax_map.imshow(r.probs, cmap=CMAP, vmin=0, vmax=1, aspect="auto", origin="lower")
    for li in range(layers):
        for j in range(k):
            p = float(r.probs[li, j])
            ax_map.text(j, li, f"{visible(r.tokens[li][j])}\n{p:.0%}" if p >= 0.005 else visible(r.tokens[li][j]),
                        ha="center", va="center", fontsize=8, color="black" if p > 0.6 else "white")
    ax_map.set_xticks(range(k), [f"#{j + 1}" for j in range(k)])
    ax_map.set_yticks(range(layers), r.layer_names, fontsize=9)
    ax_map.set_xlabel("rank of the token at that layer")
    ax_map.set_ylabel("layer whose hidden state is read (bottom = input)")
    ax_map.set_title(f"{r.model}: top {k} next tokens predicted from each layer", fontsize=10)
    fig.colorbar(im, ax=ax_map, shrink=0.8, label="probability")
    ax_line.plot(r.final_token_probs, np.arange(layers), marker="o")
    ax_line.set_xlim(0, 1)
    ax_line.set_xlabel(f"P({visible(r.final_token)})")
    ax_line.set_title("final answer, layer by layer", fontsize=9)
    ax_line.grid(alpha=0.3)
    return fig
