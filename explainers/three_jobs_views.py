"""Views of `explainers.three_jobs`: three columns (GPT, ViT, DiT), one row per question.

Matrices are PNG images drawn from arrays (a colormap lookup, crisp pixels); numbers are table
cells, so a screen reader gets every figure. Everything is in one HTML block: no slider, nothing
to fetch later.
"""

from __future__ import annotations

import html

import numpy as np

from explainers import charts, frames
from explainers.three_jobs import Job, ThreeJobs

PART_NAMES = {  # what each named part of a block does, in words
    "ln_1": "LayerNorm", "ln_2": "LayerNorm", "attn": "causal self-attention", "mlp": "feed-forward (MLP)",
    "layernorm_before": "LayerNorm", "layernorm_after": "LayerNorm", "attention": "full self-attention",
    "norm1": "LayerNorm (scaled by t)", "norm2": "LayerNorm (scaled by t)", "attn1": "full self-attention",
    "attn2": "cross-attention to words", "ff": "feed-forward (MLP)", "scale_shift_table": "timestep scale/shift (adaLN)",
}
ORDER = {"layernorm_before": 0, "attention": 1, "layernorm_after": 2, "mlp": 3}  # ViT's modules are declared out of order
MASK_TEXT = {
    "gpt": "causal: each token sees itself and the tokens before it, never after (it is predicting what comes next)",
    "vit": "full: every token sees every token (a picture has no before and after)",
    "dit": "full self-attention between latent patches, plus cross-attention: every patch reads every word",
}

CSS = """
.tj-table {border-collapse:collapse;width:100%;table-layout:fixed}
.tj-table th, .tj-table td {border-bottom:1px solid var(--border-color-primary);padding:6px 8px;vertical-align:top;text-align:left}
.tj-table thead th {font-size:16px}
.tj-table tbody th {width:11em;font-weight:600}
.tj-toks {display:flex;flex-wrap:wrap;gap:2px;font-family:ui-monospace,monospace;font-size:12px}
.tj-toks span {border:1px solid var(--border-color-primary);border-radius:4px;padding:0 3px}
.tj-toks img {border:1px solid #888}
.tj-parts {margin:4px 0 0 0;padding-left:1.1em;font-size:13px}
.tj-figs {display:flex;flex-wrap:wrap;gap:6px}
.tj-wrap {overflow-x:auto}
"""
STYLE = f"<style>{CSS}</style>"


def _tokens_cell(j: Job) -> str:
    if j.key == "gpt":
        chips = "".join(f"<span role='listitem'>{html.escape(t)}</span>" for t in j.tokens)
        return f"<b>{len(j.tokens)} word tokens</b><div class='tj-toks' role='list'>{chips}</div>"
    if j.key == "vit":
        thumbs = "".join(frames.img_tag(frames.rgb_uri(p), f"patch {i + 1}", 14) for i, p in enumerate(j.token_images))
        return (f"<b>1 CLS + {len(j.tokens) - 1} patch tokens</b> (4x4 pixels each, read row by row)"
                f"<div class='tj-toks'><span>CLS</span>{thumbs}</div>")
    words = "".join(f"<span>{html.escape(t)}</span>" for t in j.cross_tokens)
    side = int(round(np.sqrt(len(j.tokens))))
    return (f"<b>{len(j.tokens)} latent-patch tokens</b> ({side}x{side} grid of 2x2 patches of the 4-channel latent)"
            f"<br>reading <b>{len(j.cross_tokens)} word tokens</b> through cross-attention:"
            f"<div class='tj-toks'>{words}</div>")


def _matrix(values: np.ndarray, alt: str, caption: str, vmax: float | None = None, width: int = 150) -> str:
    rows, cols = values.shape
    w = width if cols >= rows else max(40, int(width * cols / rows))
    return frames.figure_tag(frames.heat_uri(values, 0.0, vmax), caption, alt, w)


def _mask_cell(j: Job) -> str:
    t = j.mask.shape[0]
    allowed = int(j.mask.sum())
    figs = [_matrix(j.mask, f"{j.title}: attention mask, {t} by {t}, {allowed:,} of {t * t:,} pairs allowed",
                    f"self: {allowed:,} of {t * t:,} pairs", 1.0)]
    if j.cross_mask is not None:
        n, L = j.cross_mask.shape
        figs.append(_matrix(j.cross_mask, f"cross-attention mask, {n} patches by {L} words, all allowed",
                            f"cross: {n} x {L}", 1.0, 150))
    return (f"<div class='tj-figs'>{''.join(figs)}</div><div class='caption'>{html.escape(MASK_TEXT[j.key])}. "
            "Rows: the token looking; columns: the token looked at; yellow = allowed.</div>")


def _attention_cell(j: Job) -> str:
    a = j.attention
    strongest = np.unravel_index(np.argmax(a - np.eye(*a.shape) * a), a.shape)  # off-diagonal peak
    figs = [_matrix(a, f"{j.title}: attention computed, mean over layers and heads; the strongest off-diagonal "
                       f"link is {j.tokens[strongest[0]]} to {j.tokens[strongest[1]]} ({a[strongest]:.2f})",
                    "self-attention, measured", float(a.max()))]
    if j.cross_attention is not None:
        c = j.cross_attention
        share = c.mean(0)
        best = int(np.argmax(share))
        figs.append(_matrix(c, f"cross-attention measured: the patches read '{j.cross_tokens[best]}' most "
                               f"({share[best]:.0%} of their attention on average)", "cross-attention, measured",
                            float(c.max()), 150))
        extra = (f" On average a patch puts {share[best]:.0%} of its cross-attention on "
                 f"<b>{html.escape(j.cross_tokens[best])}</b>.")
    else:
        extra = ""
    return (f"<div class='tj-figs'>{''.join(figs)}</div><div class='caption'>Mean over all layers and heads; "
            f"each row sums to 1.{extra}</div>")


def _params_cell(j: Job) -> str:
    parts = sorted(((ORDER.get(n, i), n, p) for i, (n, p) in enumerate(j.block_parts) if n != "dropout"))
    items = "".join(f"<li>{html.escape(PART_NAMES.get(n, n))}: {p:,}</li>" for _, n, p in parts)
    share = j.blocks * j.block_parameters / j.parameters
    return (f"<b>{j.parameters:,}</b> in all; {j.blocks} blocks of <b>{j.block_parameters:,}</b> "
            f"({share:.0%} of the model). One block:<ol class='tj-parts'>{items}</ol>")


def _flops_cell(j: Job) -> str:
    per_token = j.flops / len(j.tokens)
    return (f"<b>{charts.plain(j.flops / 1e6)} M</b> per pass ({charts.plain(per_token / 1e6)} M per token); "
            f"one block: {charts.plain(j.block_flops / 1e6)} M ({j.block_flops / j.flops:.0%})")


def _output_cell(j: Job) -> str:
    if j.key == "gpt":
        return ("A probability for each of the 4,096 tokens that could come next (top 5):"
                + charts.bars_html(j.output_labels, j.output_probs, highlight=0, vmax=1.0))
    if j.key == "vit":
        top = int(np.argmax(j.output_probs))
        return (frames.figure_tag(frames.rgb_uri(j.input_image), "the digit read", "A held-out handwritten digit", 70)
                + f"A probability for each digit; it reads a <b>{top}</b>:"
                + charts.bars_html(j.output_labels, j.output_probs, highlight=top, vmax=1.0))
    return ("A prediction for every latent value (here turned into its guess of the clean image, decoded). "
            "Sampling repeats this pass about 25 times, each from a less noisy latent."
            + "<div class='tj-figs'>"
            + frames.figure_tag(frames.rgb_uri(j.input_image), "in: pure noise", "the starting noise, decoded", 90)
            + frames.figure_tag(frames.rgb_uri(j.output_image), "out: first guess", "the DiT's first guess of "
                                "the clean image, decoded: a blurry colour field", 90)
            + "</div>")


def three_jobs_html(r: ThreeJobs) -> str:
    jobs = r.jobs
    rows = [
        ("Tokens in", _tokens_cell),
        ("Who may look at whom (mask)", _mask_cell),
        ("Attention it computed", _attention_cell),
        ("Parameters", _params_cell),
        ("FLOPs, one forward pass", _flops_cell),
        ("Time, one pass", lambda j: f"<b>{j.seconds * 1000:.1f} ms</b> (median of 5, this machine, now)"),
        ("What one pass outputs", _output_cell),
    ]
    head = "".join(f"<th scope='col'>{html.escape(j.title)}<br><span class='caption'>{html.escape(j.model)}</span></th>"
                   for j in jobs)
    body = "".join(f"<tr><th scope='row'>{html.escape(name)}</th>" + "".join(f"<td>{cell(j)}</td>" for j in jobs)
                   + "</tr>" for name, cell in rows)
    return (f"{STYLE}<div class='tj-wrap'><table class='tj-table'><caption class='caption'>One forward pass of each "
            "embedded transformer, measured now. The block is the same in all three: LayerNorm, attention, add; "
            "LayerNorm, feed-forward, add. What differs is what the tokens are, who may attend to whom, and what "
            f"comes out.</caption><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table></div>")
