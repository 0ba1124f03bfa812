"""Views of how a transformer fails (explainers.failures): the reliability diagram with its numbers,
and a continuation coloured by confidence with what it had seen in training marked."""

from __future__ import annotations

import html

import numpy as np

from explainers import frames
from explainers.charts import OKABE_BLUE, OKABE_VERMILLION
from explainers.failures import SEEN_RUN, Calibration, Remembered

CSS = """
.fl-tok {font-family:ui-monospace,monospace;font-size:14px;white-space:pre-wrap;line-height:1.9}
.fl-tok span {padding:1px 0;border-bottom:3px solid transparent}
.fl-tok span.fl-seen {border-bottom-color:#0072b2}
.fl-tok span.fl-new {border-bottom:3px dotted #d55e00}
.fl-tok .fl-prompt {color:var(--body-text-color-subdued)}
.fl-key {font-size:13px;display:flex;gap:18px;flex-wrap:wrap;margin:4px 0}
"""


def reliability_svg(c: Calibration, size: int = 320) -> str:
    """Bars: accuracy per confidence bin; the diagonal is perfect calibration; orange gaps show the
    distance to it. A table below carries the same numbers for screen readers."""
    pad, w = 44, size - 60
    x = lambda v: pad + v * w  # noqa: E731
    y = lambda v: 12 + (1 - v) * w  # noqa: E731
    bw = w / c.bins
    parts = [f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#888" stroke-dasharray="4 3"/>']
    for i in range(c.bins):
        if c.counts[i] == 0:
            continue
        x0 = x(i / c.bins)
        parts.append(f'<rect x="{x0 + 1:.1f}" y="{y(c.accuracy[i]):.1f}" width="{bw - 2:.1f}" '
                     f'height="{y(0) - y(c.accuracy[i]):.1f}" fill="{OKABE_BLUE}"/>')
        lo, hi = sorted((c.accuracy[i], c.confidence[i]))
        parts.append(f'<rect x="{x0 + 1:.1f}" y="{y(hi):.1f}" width="{bw - 2:.1f}" height="{y(lo) - y(hi):.1f}" '
                     f'fill="{OKABE_VERMILLION}" fill-opacity="0.35" stroke="{OKABE_VERMILLION}"/>')
    ticks = "".join(f'<text x="{x(t):.0f}" y="{y(0) + 14:.0f}" text-anchor="middle">{t:.1f}</text>'
                    f'<text x="{pad - 6}" y="{y(t) + 4:.0f}" text-anchor="end">{t:.1f}</text>' for t in (0, 0.5, 1))
    labels = (f'<text x="{x(0.5):.0f}" y="{size - 4}" text-anchor="middle">confidence (top-1 probability)</text>'
              f'<text x="12" y="{y(0.5):.0f}" text-anchor="middle" transform="rotate(-90 12 {y(0.5):.0f})">'
              "share right</text>")
    axes = f'<rect x="{x(0)}" y="{y(1)}" width="{w}" height="{w}" fill="none" stroke="#999"/>'
    return (f'<svg viewBox="0 0 {size} {size + 6}" width="{size}" role="img" aria-label="Reliability diagram: '
            f'ECE {c.ece:.3f}" style="font-size:11px;fill:currentColor">{axes}{"".join(parts)}{ticks}{labels}</svg>')


def calibration_table(c: Calibration) -> str:
    rows = "".join(f"<tr><td>{i / c.bins:.1f}-{(i + 1) / c.bins:.1f}</td><td>{c.counts[i]:,}</td>"
                   f"<td>{c.confidence[i]:.1%}</td><td>{c.accuracy[i]:.1%}</td></tr>"
                   for i in range(c.bins) if c.counts[i])
    return ('<table class="fv-bars"><caption>Per bin (empty bins left out)</caption><thead><tr><th>confidence</th>'
            f"<th>predictions</th><th>mean confidence</th><th>share right</th></tr></thead><tbody>{rows}</tbody></table>")


def calibration_view(c: Calibration) -> str:
    return f'<div style="display:flex;gap:24px;flex-wrap:wrap">{reliability_svg(c)}{calibration_table(c)}</div>'


def calibration_summary(c: Calibration) -> str:
    top = int(np.flatnonzero(c.counts)[-1])
    over = ("" if np.isnan(c.overconfident) else
            f" Of the predictions it made at least 90% sure, **{c.overconfident:.0%} were wrong**.")
    return (f"**{c.model}** made **{c.n:,}** next-token predictions on this text: right **{c.top1_accuracy:.0%}** "
            f"of the time, on average **{c.mean_confidence:.0%}** sure. Expected calibration error "
            f"**ECE = {c.ece:.3f}** (0 = its confidence is exactly how often it is right). In its surest bin "
            f"({top / c.bins:.1f}-{(top + 1) / c.bins:.1f}) it was right {c.accuracy[top]:.0%} of the time, "
            f"{c.confidence[top]:.0%} sure on average.{over}")


def remembered_view(r: Remembered) -> str:
    spans = []
    for t, p, s in zip(r.tokens, r.confidence, r.seen):
        shade = frames.lut("Greens")[int(40 + 180 * p)]
        colour = "#111" if p < 0.8 else "#fff"
        spans.append(f'<span class="{"fl-seen" if s else "fl-new"}" style="background:rgb{tuple(int(v) for v in shade)};'
                     f'color:{colour}" title="{p:.0%} sure; {"seen in training" if s else "invented"}">'
                     f"{html.escape(t)}</span>")
    key = ('<div class="fl-key"><span><b style="border-bottom:3px solid #0072b2">solid blue</b>: part of a stretch of '
           f'{SEEN_RUN}+ tokens found in the training plays</span><span><b style="border-bottom:3px dotted #d55e00">'
           "dotted orange</b>: invented (no such stretch)</span>"
           f'<span>background: how sure it was {frames.colour_scale("Greens", "0%", "100%", 100)}</span></div>')
    return (f'{key}<div class="fl-tok"><span class="fl-prompt">{html.escape(r.prompt)}</span>{"".join(spans)}</div>')


def remembered_summary(r: Remembered) -> str:
    seen, new = r.confidence[r.seen], r.confidence[~r.seen]
    parts = [f"**{r.seen_share:.0%}** of the {len(r.tokens)} tokens sit in stretches of {SEEN_RUN} or more tokens that "
             "appear in its training plays; the rest it put together itself."]
    if len(seen) and len(new):
        parts.append(f"Median confidence: {np.median(seen):.0%} on the seen stretches, {np.median(new):.0%} on the "
                     "invented ones.")
    parts.append("Nothing in the model checks whether a continuation is true: it writes what is likely after the "
                 "prompt, in the style it learned. Sycophancy (agreeing with the user) needs a chat-tuned model; one "
                 "this small cannot show it, so this page does not pretend to.")
    return " ".join(parts)
