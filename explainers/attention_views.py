"""Pictures of attention: token chips, heatmaps, an all-heads grid, the "same word" plot,
and bertviz's interactive head/model views packaged to run fully offline."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from explainers.attention import AttentionResult, SimilarityResult
from explainers.plots import ACCENT, CMAP, MAIN, figure

BERTVIZ_MAX_TOKENS = 40  # bertviz's payload grows with layers x heads x T^2


def token_chips_html(result: AttentionResult) -> str:
    """The tokens as coloured chips with their ids; special tokens outlined."""
    chips = []
    for i, (tok, tid, sp) in enumerate(zip(result.tokens, result.ids, result.special)):
        hue = (i * 47) % 360
        style = ("border:2px dashed #666;background:#fff" if sp else f"background:hsl({hue},70%,88%)")
        chips.append(f"<span class='tok' style='{style}' title='position {i}, id {tid}'>"
                     f"<b>{html.escape(tok)}</b><sub>{tid}</sub></span>")
    note = (f"<p class='warn'>Showing the first {result.limit} of {result.n_input_tokens} tokens "
            f"(the limit for this view).</p>" if result.truncated else "")
    return (f"<div class='chips'>{''.join(chips)}</div>"
            f"<p class='caption'>{len(result.tokens)} tokens for <b>{html.escape(result.model)}</b>. "
            f"Dashed chips are special tokens the model adds; the small number is the token id.</p>{note}")


def _check_layer_head(result: AttentionResult, layer: int, head: int | None) -> None:
    if not 0 <= layer < result.layers:
        raise ValueError(f"layer must be between 0 and {result.layers - 1}, got {layer}.")
    if head is not None and not 0 <= head < result.heads:
        raise ValueError(f"head must be between 0 and {result.heads - 1}, got {head}.")


def attention_heatmap(result: AttentionResult, layer: int, head: int | None):
    """Heatmap of one head (or the average over heads when head is None)."""
    _check_layer_head(result, layer, head)
    w = result.weights[layer].mean(axis=0) if head is None else result.weights[layer, head]  # (T, T)
    t = len(result.tokens)
    size = min(11.0, 3.0 + 0.28 * t)
    fig = figure(size + 1.2, size)
    ax = fig.add_subplot()
    im = ax.imshow(w, cmap=CMAP, vmin=0, vmax=max(1e-6, float(w.max())))
    ax.set_xticks(range(t), result.tokens, rotation=90, fontsize=8 if t < 40 else 6)
    ax.set_yticks(range(t), result.tokens, fontsize=8 if t < 40 else 6)
    ax.set_xlabel("attends to (key)")
    ax.set_ylabel("token (query)")
    what = "average over heads" if head is None else f"head {head}"
    mask = " - causal: nothing above the diagonal" if result.causal else ""
    ax.set_title(f"{result.model}: layer {layer}, {what}{mask}", fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8, label="attention weight (each row sums to 1)")
    return fig


def all_heads_grid(result: AttentionResult, layer: int):
    """Every head of one layer, small multiples with a shared colour scale."""
    _check_layer_head(result, layer, None)
    heads = result.heads
    cols = min(6, heads)
    rows = int(np.ceil(heads / cols))
    fig = figure(2.2 * cols, 2.3 * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False)
    for h, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if h >= heads:
            ax.axis("off")
            continue
        ax.imshow(result.weights[layer, h], cmap=CMAP, vmin=0, vmax=1)
        ax.set_title(f"head {h}", fontsize=9)
    fig.suptitle(f"{result.model}, layer {layer}: all {heads} heads (rows = query tokens, columns = keys)",
                 fontsize=10)
    return fig


def similarity_plot(sim: SimilarityResult, sentence_a: str, sentence_b: str):
    fig = figure(7, 3.8)
    ax = fig.add_subplot()
    x = np.arange(len(sim.similarities))
    ax.plot(x, sim.similarities, marker="o", color=MAIN, label=f"'{sim.word}' in A vs in B")
    ax.set_xticks(x, sim.layer_names, rotation=30, fontsize=8)
    ax.set_ylabel("cosine similarity")
    ax.set_xlabel("layer (0 = token embedding + position, before any attention)")
    ax.set_ylim(min(0.0, float(sim.similarities.min()) - 0.05), 1.02)
    ax.axhline(1.0, color=ACCENT, lw=0.8, ls=":")
    ax.grid(alpha=0.3)
    ax.set_title(f"How alike is '{sim.word}' in the two sentences, layer by layer?", fontsize=10)
    ax.legend(loc="lower left", fontsize=8, title=f"A: {sentence_a[:45]}\nB: {sentence_b[:45]}", title_fontsize=7)
    return fig


# ---- bertviz, offline ---------------------------------------------------------------------

@lru_cache(maxsize=1)
def _local_js() -> str:
    """d3 v5 (from mpld3) and jQuery (from xstatic-jquery), plus a 10-line stand-in for
    require.js: bertviz only calls `require.config` and `requirejs([...], callback)`."""
    import mpld3
    import xstatic.pkg.jquery as jq

    d3 = (Path(mpld3.__file__).parent / "js" / "d3.v5.min.js").read_text(encoding="utf-8")
    jquery = (Path(jq.BASE_DIR) / "jquery.min.js").read_text(encoding="utf-8")
    shim = """
window.requirejs = window.require = function (deps, callback) {
  var found = {jquery: window.jQuery, d3: window.d3};
  callback.apply(null, deps.map(function (d) { return found[d]; }));
};
window.require.config = window.requirejs.config = function () {};
"""
    return f"<script>{d3}</script>\n<script>{jquery}</script>\n<script>{shim}</script>"


def bertviz_html(result: AttentionResult, view: str = "head", max_tokens: int = BERTVIZ_MAX_TOKENS) -> str:
    """bertviz's head view or model view as an `<iframe srcdoc>` that needs no network."""
    import torch
    from bertviz import head_view, model_view

    if view not in ("head", "model"):
        raise ValueError(f"view must be 'head' or 'model', not {view!r}")
    t = min(len(result.tokens), max_tokens)
    att = [torch.from_numpy(result.weights[i, :, :t, :t]).unsqueeze(0) for i in range(result.layers)]
    fn = head_view if view == "head" else model_view
    page = fn(att, result.tokens[:t], html_action="return").data
    start = page.index("<script src=")
    page = page[: start] + page[page.index("</script>", start) + len("</script>"):]
    page = re.sub(r"require\.config\(\{.*?\}\);", "", page, count=1, flags=re.DOTALL)  # CDN paths: unused
    doc = (f"<!doctype html><html><head><meta charset='utf-8'>{_local_js()}</head>"
           f"<body style='background:#fff;margin:8px'>{page}</body></html>")
    height = 620 if view == "head" else 140 + 100 * result.layers
    note = (f"<p class='caption'>Showing the first {t} of {len(result.tokens)} tokens in this interactive view.</p>"
            if t < len(result.tokens) else "")
    hint = ("Hover over a token to see where it looks; click a colour square to show or hide a head."
            if view == "head" else "Each small square is one head (rows = layers). Click one to enlarge it.")
    return (f"<p class='caption'>{hint}</p>{note}"
            f"<iframe class='bertviz' title='bertviz {view} view' sandbox='allow-scripts' "
            f"style='width:100%;height:{height}px;border:1px solid #ddd;border-radius:6px' "
            f"srcdoc=\"{html.escape(doc, quote=True)}\"></iframe>")
