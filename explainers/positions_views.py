"""Views of one word's vectors: by position (explainers.positions: the numbers, a similarity curve and
two heat images) and by context (the same word in two sentences, layer by layer)."""

from __future__ import annotations

import html

import numpy as np

from explainers import charts, frames
from explainers.attention import SimilarityResult
from explainers.charts import OKABE_BLUE, OKABE_VERMILLION
from explainers.positions import PositionResult, same_word


def strip_image(v: np.ndarray, cols: int = 16) -> np.ndarray:
    """(D,) -> (D / cols, cols) so a long vector fits a small picture."""
    d = len(v) - len(v) % cols
    return np.asarray(v[:d]).reshape(-1, cols)


def position_view(r: PositionResult) -> str:
    a, b = r.positions
    lim = float(max(np.abs(r.vector_a).max(), np.abs(r.vector_b).max()))
    pics = "".join(
        frames.figure_tag(frames.heat_uri(strip_image(v), -lim, lim, frames.DIVERGING), cap, alt, 160)
        for v, cap, alt in (
            (r.vector_a, f"'{r.token}' at position {a}",
             f"The {len(r.vector_a)} numbers of '{r.token}' at position {a}, blue negative, red positive"),
            (r.vector_b, f"'{r.token}' at position {b}",
             f"The same token at position {b}: the pattern differs, cosine similarity {r.cosine:.2f}"),
            (r.vector_b - r.vector_a, "the difference",
             f"Position {b} minus position {a}: what the position embeddings change")))
    xs = np.arange(len(r.cosine_curve))
    chart = charts.line_svg([dict(label=f"'{r.token}' at {a} vs at p", x=xs, y=r.cosine_curve, color=OKABE_BLUE, dots=False)],
                            xlabel="position p", ylabel="cosine similarity",
                            title=f"'{r.token}' at position {a} vs the same token at every position",
                            width=440, height=220, points=[(b, r.cosine, OKABE_VERMILLION)], vline=a)
    sim = frames.figure_tag(frames.heat_uri(r.position_similarity, -1, 1, frames.DIVERGING),
                            f"position vs position (first {len(xs)})",
                            f"Cosine similarity between the position vectors of positions 0 to {len(xs) - 1}: "
                            "a bright diagonal band, so nearby positions get similar vectors", 200)
    mat = frames.figure_tag(frames.heat_uri(r.matrix.T, cmap=frames.DIVERGING), "the position embedding table",
                            f"The position embedding matrix: {len(xs)} positions (across) by {r.matrix.shape[1]} "
                            "numbers (down)", 260)
    split = (f" '{r.word}' splits into several tokens; its first token '{r.token}' is used." if r.split else "")
    norm = " (then a LayerNorm, as minilm does)" if r.model == "minilm" else ""
    return (f'<div class="lv-pos"><p><b>{html.escape(r.model)}</b>: token <code>{html.escape(r.token)}</code> '
            f"+ position embedding{norm}. Without positions both vectors would be identical (cosine 1.00); with "
            f"them, position {a} vs {b} gives cosine <b>{r.cosine:.3f}</b>.{html.escape(split)}</p>"
            f'<div style="display:flex;flex-wrap:wrap;gap:8px 16px">{pics}</div>{chart}'
            f'<div style="display:flex;flex-wrap:wrap;gap:8px 16px">{sim}{mat}</div>'
            f'<p class="caption">The model has {r.n_positions} positions; the pictures show the first {len(xs)}. '
            "Colour scale RdBu: blue negative, white zero, red positive.</p></div>")


def positions_html(word: str = "the", position_a: int = 1, position_b: int = 6, model: str = "tiny-gpt") -> str:
    """API-friendly: compute and render in one call."""
    return position_view(same_word(word, position_a, position_b, model))


# ---- the same word in two contexts ------------------------------------------------------------

def similarity_html(sim: SimilarityResult, control: SimilarityResult | None, sentence_a: str, sentence_b: str,
                    sentence_c: str = "") -> str:
    """Cosine similarity of the word's vectors per layer (0 = embeddings), zoomed to the data,
    with a same-meaning control line (A vs C) when given, and the numbers as a table."""
    layers = np.arange(len(sim.similarities))
    series = [dict(label="A vs B", x=layers, y=sim.similarities, color=OKABE_BLUE, dots=True)]
    if control is not None:
        series.append(dict(label="A vs C (control)", x=layers, y=control.similarities, color=OKABE_VERMILLION,
                           dash=True, dots=True))
    ys = np.concatenate([s["y"] for s in series])
    pad = max(0.02, 0.1 * float(ys.max() - ys.min()))
    ylim = (max(-1.0, float(ys.min()) - pad), min(1.0, float(ys.max()) + pad))
    ticks = [(int(i), "emb" if i == 0 else str(int(i))) for i in layers]
    chart = charts.line_svg(series, xlabel="layer (0 = embeddings, before any attention)",
                            ylabel="cosine similarity", title=f"'{sim.word}' in A vs in B, layer by layer",
                            width=520, height=260, ylim=ylim, xticks=ticks)
    head = "".join(f"<th scope='col'>{'emb' if i == 0 else i}</th>" for i in layers)
    rows = [f"<tr><th scope='row'>{html.escape(s['label'])}</th>"
            + "".join(f"<td>{v:.3f}</td>" for v in s["y"]) + "</tr>" for s in series]
    sents = [("A", sentence_a), ("B", sentence_b)] + ([("C", sentence_c)] if control is not None else [])
    legend_ = "<br>".join(f"<b>{k}</b>: {html.escape(s[:120])}" for k, s in sents)
    twice = [f"{n} times in {k}" for k, n in zip("AB", sim.occurrences) if n > 1]
    if twice:
        legend_ += (f"<br><span class='warn'>'{html.escape(sim.word)}' occurs {' and '.join(twice)}: the first "
                    "occurrence in each sentence is compared.</span>")
    return (f'<div class="at-cap">{legend_}</div>{chart}'
            f'<table class="at-vals"><caption class="caption">Cosine similarity per layer (the y axis is zoomed '
            f'to the data)</caption><thead><tr><th scope="col">layer</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')
