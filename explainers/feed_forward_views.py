"""Views of explainers.feed_forward: one token's vector before/after the MLP, its busiest
hidden units, and the logit-lens reading before and after (HTML, tables for screen readers)."""

from __future__ import annotations

import html

import numpy as np

from explainers import charts, frames
from explainers.feed_forward import FeedForwardResult, feed_forward
from explainers.positions_views import strip_image


def _lens_table(rows: list[tuple[str, float]], title: str, fmt: str = "{:.1%}") -> str:
    return charts.bars_html([t for t, _ in rows], [p for _, p in rows], highlight=0, fmt=fmt, title=title, vmax=1.0
                            if fmt == "{:.1%}" else None)


def feed_forward_view(r: FeedForwardResult) -> str:
    tok = r.tokens[r.position]
    lim = float(max(np.abs(r.before).max(), np.abs(r.after).max()))
    pics = "".join(
        frames.figure_tag(frames.heat_uri(strip_image(v), -lim, lim, frames.DIVERGING), cap, alt, 150)
        for v, cap, alt in (
            (r.before, "before the MLP", f"'{tok}' entering block {r.layer}'s feed-forward layer"),
            (r.added, "what the MLP adds", f"The MLP's output: {r.norm_ratio:.0%} of the size of the vector it read"),
            (r.after, "after (before + added)", f"'{tok}' after the feed-forward layer: cosine {r.cosine:.3f} with before")))
    units = charts.bars_html([f"unit {int(u)}" for u in r.top_units], r.top_values, fmt="{:.2f}",
                             title=f"The {len(r.top_units)} most active of {len(r.hidden)} hidden units (after GELU)")
    n_on = int((r.hidden > 0.1).sum())
    lens = (f'<div style="display:flex;flex-wrap:wrap;gap:8px 24px">'
            f'{_lens_table(r.lens_before, "Next token read from the vector before")}'
            f'{_lens_table(r.lens_after, "... and after the MLP")}'
            f'{charts.bars_html([t for t, _ in r.lens_shift], [p for _, p in r.lens_shift], fmt="+{:.1%}", title="Raised most by the MLP")}'
            "</div>")
    ctx = " ".join(f"<b>[{html.escape(t)}]</b>" if i == r.position else html.escape(t) for i, t in enumerate(r.tokens))
    return (f'<div class="lv-ffn"><p class="caption">{r.model}, block {r.layer} of {r.layers}, token {r.position} '
            f"of the context: {ctx}</p>"
            f'<div style="display:flex;flex-wrap:wrap;gap:8px 16px">{pics}</div>'
            f"<p>The MLP widens the {len(r.before)} numbers to {len(r.hidden)} hidden units ({n_on} of them clearly "
            f"on, above 0.1), then narrows back and <i>adds</i> the result: the vector changes by {r.norm_ratio:.0%} of "
            f"its size (cosine {r.cosine:.3f} with before). Run on this one vector with no other token present it "
            f"gives the same output (largest difference {r.alone_error:.1e}): the feed-forward layer never mixes "
            f"tokens, that is attention's job.</p>{units}{lens}</div>")


def feed_forward_html(text: str, layer: int = 3, position: int = -1, model: str = "tiny-gpt") -> str:
    """API-friendly: compute and render in one call."""
    return feed_forward_view(feed_forward(text, layer, position, model))
