"""Charts for the views: bar tables and line charts as inline SVG (drawn by the browser, no image),
with their numbers as screen-reader tables, and numbers written as people write them (`plain`).

A chart repeated in every frame of a scrubber (`line_svg(shared=True)`) marks its unchanging part
so that `explainers.frames.scrubber` ships it once (`STATIC_END` ends that part)."""

from __future__ import annotations

import functools
import hashlib
import html
from collections.abc import Mapping, Sequence

import numpy as np

STATIC_END = "<!--/fv-static-->"
OKABE_BLUE, OKABE_VERMILLION = "#0072b2", "#d55e00"  # Okabe-Ito: the two colours of every comparison (colour-blind safe)


def bars_html(labels: Sequence[str], values: Sequence[float], highlight: int | None = None,
              vmax: float | None = None, fmt: str = "{:.0%}", title: str = "", muted: Sequence[bool] = ()) -> str:
    """A horizontal bar chart in plain HTML/CSS (a table, so screen readers get the numbers)."""
    vals = np.asarray(values, dtype=float)
    top = float(vmax if vmax is not None else max(vals.max(initial=0.0), 1e-12))
    rows = []
    for i, (lab, v) in enumerate(zip(labels, vals)):
        cls = " fv-hi" if i == highlight else (" fv-mute" if i < len(muted) and muted[i] else "")
        w = 100 * max(0.0, v) / top
        rows.append(f'<tr class="fv-row{cls}"><th scope="row">{html.escape(str(lab))}</th>'
                    f'<td><span class="fv-bar" style="width:{w:.1f}%"></span></td><td class="fv-num">{fmt.format(v)}</td></tr>')
    cap = f"<caption>{html.escape(title)}</caption>" if title else ""
    return f'<table class="fv-bars">{cap}<tbody>{"".join(rows)}</tbody></table>'


def plain(v: float, digits: int = 3) -> str:
    """A number as people write it: 0.00004, 0.52, 12.5, 2,147,483,648 (never 2.4e-09)."""
    v = float(v)
    if v == 0 or not np.isfinite(v):
        return "0" if v == 0 else str(v)
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    mag = int(np.floor(np.log10(abs(v))))
    decimals = max(0, digits - 1 - mag)
    return f"{v:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{v:.0f}"


def _ticks(lo: float, hi: float, log: bool) -> list[float]:
    if log:
        return [10.0 ** k for k in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
                if lo * 0.999 <= 10.0 ** k <= hi * 1.001]
    raw = (hi - lo) / 4 or 1.0
    mag = 10 ** np.floor(np.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [float(v) for v in np.arange(np.ceil(lo / step) * step, hi + step * 1e-6, step)]


def line_svg(series: Sequence[Mapping], xlabel: str, ylabel: str, title: str = "", logx: bool = False,
             logy: bool = False, width: int = 440, height: int = 230, points: Sequence[tuple] = (),
             vline: float | None = None, ylim: tuple[float, float] | None = None,
             xticks: Sequence[tuple[float, str]] | None = None, table: bool = True, shared: bool = False) -> str:
    """A small line chart as inline SVG (drawn by the browser, no image). series: dicts with
    label, x, y, color and optional dash / dots. points: (x, y, color) markers; vline: a dotted
    vertical line; xticks: explicit (x, label) ticks, e.g. whole layer numbers (no 2.5 on an axis
    that counts). Labelled axes, a legend, and an accessible name that says what is drawn.
    table: append the numbers as a screen-reader table (`data_table`); False for a chart repeated in
    every frame of a scrubber with the same curves, whose table the view then carries once.
    shared: for such a repeated chart, mark its unchanging part (axes, curves, legend; not the title,
    markers or line) so that `scrubber` ships it once and every frame draws it with <use>."""
    xs = np.concatenate([np.asarray(s["x"], float) for s in series])
    ys = np.concatenate([np.asarray(s["y"], float) for s in series] + [np.array([p[1] for p in points], float)])
    if logy:
        ys = ys[ys > 0]
    x0, x1 = float(xs.min()), float(xs.max())
    y0, y1 = ylim if ylim else (float(ys.min()), float(ys.max()))
    if y1 <= y0:
        y1 = y0 + 1.0
    left, right, top, bottom = 58, 12, 24 if title else 10, 40
    pw, ph = width - left - right, height - top - bottom
    key = (width, height, left, top, pw, ph, x0, x1, y0, y1, logx, logy, xlabel, ylabel,
           None if xticks is None else tuple((float(v), str(lab)) for v, lab in xticks),
           tuple((s["label"], s["color"], bool(s.get("dash")), bool(s.get("dots")),
                  np.asarray(s["x"], float).tobytes(), np.asarray(s["y"], float).tobytes()) for s in series))
    X, Y = _chart_scales(*key[:12])
    out = [f'<svg class="fv-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="{html.escape(title or ylabel, quote=True)}: {html.escape(ylabel)} '
           f'against {html.escape(xlabel)}" style="font:11px system-ui,sans-serif;fill:currentColor">']
    if title:
        out.append(f'<text x="{left}" y="14" font-weight="600" font-size="12">{html.escape(title)}</text>')
    static = _chart_body(key)  # the same curves in every frame of a scrubber: drawn once
    if shared:
        uid = "fvc-" + hashlib.sha1(f"{width}x{height}{static}".encode()).hexdigest()[:12]
        static = f'<g id="{uid}" class="fv-static">{static}</g>{STATIC_END}'
    out.append(static)
    if vline is not None:
        x = float(X(vline))
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}" stroke="#444" stroke-dasharray="2 2"/>')
    out += [f'<circle cx="{float(X(a)):.1f}" cy="{float(Y(b)):.1f}" r="5" fill="{c}" stroke="#fff"/>'
            for a, b, c in points]
    out.append("</svg>")
    return "".join(out) + (data_table(series, xlabel, ylabel, title) if table else "")


def _chart_scales(width, height, left, top, pw, ph, x0, x1, y0, y1, logx, logy):
    """The data -> pixel maps (X, Y) of a chart's plot area."""
    fx = (lambda v: np.log10(v)) if logx else (lambda v: v)
    fy = (lambda v: np.log10(np.maximum(v, 1e-300))) if logy else (lambda v: v)
    ax0, ax1, ay0, ay1 = fx(x0), fx(x1), fy(y0), fy(y1)
    X = lambda v: left + (fx(np.asarray(v, float)) - ax0) / max(ax1 - ax0, 1e-12) * pw  # noqa: E731
    Y = lambda v: top + ph - (fy(np.asarray(v, float)) - ay0) / max(ay1 - ay0, 1e-12) * ph  # noqa: E731
    return X, Y


@functools.lru_cache(maxsize=64)
def _chart_body(key: tuple) -> str:
    """A chart's frame, grid, ticks, axis labels, curves and legend (everything but its title and
    markers), from `line_svg`'s key; a scrubber's 51 frames draw the same one (11 -> 2 ms a view)."""
    width, height, left, top, pw, ph, x0, x1, y0, y1, logx, logy, xlabel, ylabel, xticks, series = key
    X, Y = _chart_scales(*key[:12])
    out = [f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    for v in _ticks(y0, y1, logy):
        y = float(Y(v))
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#888" stroke-opacity="0.3"/>'
                   f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{plain(v)}</text>')
    for v, lab in (xticks if xticks is not None else [(t, plain(t)) for t in _ticks(x0, x1, logx)]):
        x = float(X(v))
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + ph}" y2="{top + ph + 4}" stroke="#999"/>'
                   f'<text x="{x:.1f}" y="{top + ph + 15}" text-anchor="middle">{html.escape(str(lab))}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle">{html.escape(xlabel)}</text>'
               f'<text transform="translate(12 {top + ph / 2}) rotate(-90)" text-anchor="middle">'
               f'{html.escape(ylabel)}</text>')
    for i, (label, color, dashed, dots, xb, yb) in enumerate(series):
        x, y = np.frombuffer(xb), np.frombuffer(yb)
        keep = (y > 0) if logy else np.isfinite(y)
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(X(x[keep]), Y(np.clip(y[keep], y0, y1))))
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        if dots:
            out += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{color}"/>' for a, b in zip(X(x[keep]), Y(y[keep]))]
        ly = top + 12 + 14 * i
        out.append(f'<line x1="{left + pw - 150}" x2="{left + pw - 132}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{color}" stroke-width="2"{dash}/><text x="{left + pw - 128}" y="{ly}">'
                   f'{html.escape(label)}</text>')
    return "".join(out)


def data_table(series: Sequence[Mapping], xlabel: str, ylabel: str, title: str, max_rows: int = 40) -> str:
    """The chart's numbers as a table that only screen readers see (at most max_rows per series)."""
    rows = []
    for s in series:
        x, y = np.asarray(s["x"], float), np.asarray(s["y"], float)
        keep = np.unique(np.linspace(0, len(x) - 1, min(len(x), max_rows)).round().astype(int)) if len(x) else []
        rows += [f"<tr><td>{html.escape(str(s.get('label', '')))}</td><td>{plain(x[i])}</td><td>{plain(y[i])}</td></tr>"
                 for i in keep]
    cap = html.escape(f"{title or ylabel}: the data")
    return (f'<table class="sr-only"><caption>{cap}</caption><thead><tr><th scope="col">series</th>'
            f'<th scope="col">{html.escape(xlabel)}</th><th scope="col">{html.escape(ylabel)}</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')
