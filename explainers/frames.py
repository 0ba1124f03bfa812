"""Fast views: arrays -> tiny PNG data URIs, and "scrubbers" that carry every frame of a run.

A run is computed once on the server; its view is one HTML block holding every frame its
sliders can show (all steps, all layers x heads, ...). The browser switches frames on its own
(a native `<input type=range>` and a few lines of JS in `ui.common.SCRUB_JS`), so moving a
slider makes no server call, works from the keyboard, and is announced by screen readers.

Images are drawn from arrays with a colormap lookup (no matplotlib figure per request) and
shipped at their native size; CSS scales them up with crisp pixels.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import io
import itertools
import re
import tempfile
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.text_image_data import article  # noqa: F401 - the views' 'a'/'an' ("an 8"), one rule with the captions'

GIF_DIR = Path(tempfile.gettempdir()) / "explainer-gifs"
GIF_KEEP = 16  # older GIFs are deleted: the folder stays bounded however long the server runs
_gif_lock = threading.Lock()
CMAP = "viridis"  # perceptually uniform, colour-blind safe
DIVERGING = "RdBu_r"
_ids = itertools.count()  # unique element ids for the labels of each scrubber


@functools.lru_cache(maxsize=8)
def lut(name: str) -> np.ndarray:
    """(256, 3) uint8 colour table of a matplotlib colormap (the only matplotlib use here)."""
    from matplotlib import colormaps

    return (colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


_PENDING = "fv-pending:"


class Pictures:
    """The pictures of one scrubber, kept as arrays while its frames are built.

    Pass it to `png_uri` / `rgb_uri` / `heat_uri` (they return a placeholder) and to `scrubber`,
    which encodes each picture once: as a PNG in the frame shown first, or as a tile of a shared
    sheet (`sprite_sheets`). No PNG is made and decoded again per hidden picture (a 50-step denoise
    view: 357 pictures, 155 -> 44 ms)."""

    def __init__(self):
        self.arrays: list[np.ndarray] = []

    def add(self, img: np.ndarray) -> str:
        self.arrays.append(np.ascontiguousarray(img))
        return f"{_PENDING}{len(self.arrays) - 1}"


def png_uri(img: np.ndarray, pics: Pictures | None = None) -> str:
    """(H, W) or (H, W, 3) uint8 -> 'data:image/png;base64,...' (a placeholder when `pics` collects
    the pictures of a scrubber, which resolves it)."""
    return pics.add(img) if pics is not None else _encode_png(img)


def _encode_png(img: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img)).save(buf, format="PNG", optimize=False, compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def rgb_uri(img: np.ndarray, pics: Pictures | None = None) -> str:
    """(H, W, 3) floats in [0, 1] (or (H, W) grey) -> PNG data URI."""
    return png_uri((np.clip(np.asarray(img, dtype=np.float32), 0, 1) * 255).round().astype(np.uint8), pics)


def heat_uri(values: np.ndarray, vmin: float | None = None, vmax: float | None = None, cmap: str = CMAP,
             pics: Pictures | None = None) -> str:
    """(H, W) values -> colormapped PNG data URI (vmin/vmax default to the data's range)."""
    v = np.asarray(values, dtype=np.float32)
    lo = float(np.nanmin(v)) if vmin is None else vmin
    hi = float(np.nanmax(v)) if vmax is None else vmax
    idx = np.clip((v - lo) / max(hi - lo, 1e-12) * 255, 0, 255).round().astype(np.uint8)
    return png_uri(lut(cmap)[idx], pics)


def colour_scale(cmap: str, low: str, high: str, width: int = 160) -> str:
    """A colour bar for a map: the colormap from left to right, labelled at both ends."""
    stops = ", ".join(f"rgb({r},{g},{b}) {k * 100 / 8:.0f}%" for k, (r, g, b) in enumerate(lut(cmap)[::32].tolist() + [lut(cmap)[-1].tolist()]))
    return (f'<span class="fv-scale"><span>{html.escape(low)}</span><span aria-hidden="true" style="display:inline-block;'
            f'width:{width}px;height:10px;background:linear-gradient(to right, {stops})"></span>'
            f'<span>{html.escape(high)}</span></span>')


def img_tag(uri: str, alt: str, width: int = 160, extra: str = "", cls: str = "") -> str:
    """A picture drawn from an array: crisp pixels (class fv-px, ui/common.py's CSS), height from its width."""
    return f'<img src="{uri}" alt="{html.escape(alt, quote=True)}" width="{width}" class="fv-px{" " + cls if cls else ""}" {extra}>'



def figure_tag(uri: str, caption: str, alt: str, width: int = 160) -> str:
    return (f'<figure class="fv-fig" style="max-width:{max(width, 110)}px">{img_tag(uri, alt, width)}'
            f'<figcaption>{html.escape(caption)}</figcaption></figure>')


def css_lines(lines: Sequence[str]) -> str:
    r"""Labels as one CSS string, one per line ('\A'), safe inside <style> (no '<', no quotes): the
    labels of every map of a run are written once as generated content (`content:` of a ::before)."""
    def esc(t: str) -> str:
        return "".join(ch if ch.isalnum() or ch in " .,;:!?-_()[]#@&%+=~^|/*" else f"\\{ord(ch):x} " for ch in t)
    return '"' + "\\A ".join(esc(t) for t in lines) + '"'


@dataclass(frozen=True)
class Axis:
    """One slider of a scrubber: its accessible name and its integer range."""

    name: str  # e.g. "Step", shown as the label and used as the accessible name
    lo: int
    hi: int
    start: int
    note: str = ""  # shown after the value, e.g. "(0 = pure noise)"
    values: tuple[int, ...] = ()  # optional: the number each position stands for (e.g. t = 0, 10, ..., 999)


def scrubber(axes: Sequence[Axis], frames: Mapping[tuple[int, ...], str], header: str = "", footer: str = "",
             play: bool = False, pics: Pictures | None = None) -> str:
    """One HTML block with a native range input per axis and one hidden <div> per frame.

    frames: {(value of axis 0, value of axis 1, ...): inner HTML}. The frame whose key matches
    the sliders is shown; the JS in `ui.common.SCRUB_JS` does the switching in the browser.
    """
    if not axes:
        raise ValueError("a scrubber needs at least one axis")
    start = tuple(a.start for a in axes)
    if start not in frames:
        raise ValueError(f"no frame for the starting position {start}")
    uid = f"fv{next(_ids)}"
    controls = []
    for i, a in enumerate(axes):
        rid = f"{uid}-{i}"
        if a.values and len(a.values) != a.hi - a.lo + 1:
            raise ValueError(f"axis {a.name!r}: {len(a.values)} values for {a.hi - a.lo + 1} positions")
        shown = a.values[a.start - a.lo] if a.values else a.start
        vals = f' data-values="{",".join(map(str, a.values))}"' if a.values else ""
        controls.append(
            f'<span class="fv-ctl"><label for="{rid}">{html.escape(a.name)}</label>'
            f'<input id="{rid}" type="range" data-scrub min="{a.lo}" max="{a.hi}" step="1" value="{a.start}" '
            f'aria-valuetext="{html.escape(a.name)} {shown}" data-label="{html.escape(a.name)}"{vals}>'
            f'<output for="{rid}" aria-hidden="true">{shown}</output>'
            f'<span class="fv-note">{html.escape(a.note)}</span></span>')
    if play:
        controls.append('<button type="button" class="fv-play" data-play aria-label="Play through the steps">'
                        '&#9654; Play</button>')
    if any("<img" in v for v in frames.values()):  # Save PNG draws a frame's pictures: only where there are some
        controls.append('<button type="button" class="fv-play" data-save aria-label="Save PNG of the view shown">'
                        'Save PNG</button>')
    frames, sheets = sprite_sheets(frames, start, pics)
    header, footer = _resolve_pending(header, pics), _resolve_pending(footer, pics)  # pictures outside the frames: PNGs
    frames, charts = shared_charts(frames)
    body = "".join(
        f'<div data-frame="{"-".join(map(str, k))}"{"" if k == start else " hidden"}>{v}</div>'
        for k, v in frames.items())
    return (f'<div class="fv-scrubber" data-scrubber>{header}<div class="fv-controls">{"".join(controls)}</div>'
            f'<div class="fv-frames" aria-live="polite">{body}</div>{sheets}{charts}{footer}</div>')


_STATIC_END = "<!--/fv-static-->"
_STATIC = re.compile(r'<g id="(fvc-[0-9a-f]+)" class="fv-static">(.*?)</g>' + re.escape(_STATIC_END), re.S)


def shared_charts(frames: Mapping[tuple[int, ...], str]) -> tuple[dict, str]:
    """A chart repeated in every frame (`line_svg(shared=True)`: the same axes and curves, only its
    marker moving) is shipped once, in a hidden <defs>, and each frame draws it with <use>: the
    50-step denoise's schedule charts go from 152 KB to a few. Returns (frames, the <defs> block)."""
    defs: dict[str, str] = {}

    def use(m: re.Match) -> str:
        defs.setdefault(m.group(1), m.group(2))
        return f'<use href="#{m.group(1)}"/>'

    out = {k: _STATIC.sub(use, v) for k, v in frames.items()}
    if not defs:
        return out, ""
    groups = "".join(f'<g id="{uid}">{body}</g>' for uid, body in defs.items())
    return out, (f'<svg width="0" height="0" style="position:absolute" aria-hidden="true" focusable="false">'
                 f'<defs>{groups}</defs></svg>')


def _resolve_pending(html_: str, pics: Pictures | None) -> str:
    """Placeholders of `pics` in this HTML -> their PNG data URIs."""
    pending = pics.arrays if pics is not None else None
    return _PENDING_ANY.sub(lambda m: _encode_png(pending[int(m.group(1))]), html_) if pending else html_


_PNG_SRC = re.compile(r'src="(data:image/png;base64,[A-Za-z0-9+/=]+|' + _PENDING + r'\d+)"')
_PENDING_ANY = re.compile(_PENDING + r"(\d+)")
SHEET_WIDTH = 2048  # pixels per sheet row (browsers decode far wider images; this keeps sheets square-ish)


def sprite_sheets(frames: Mapping[tuple[int, ...], str], start: tuple[int, ...],
                  pics: Pictures | None = None) -> tuple[dict, str]:
    """Pack the pictures of every hidden frame into a few shared images (one per picture size).

    A run's frames hold hundreds of tiny pictures (a 50-step denoise: 357 of 28x28 pixels). As one
    PNG each, every picture pays its own header and compresses alone; packed side by side into a
    lossless WebP sheet they take about 2.5x fewer bytes (440 -> 180 KB for that denoise), so a class's
    answers leave the server sooner and the browser parses less. The frame shown first keeps its
    own pictures, so the view appears without any script; the others carry data-sheet / data-tile,
    and `ui.common.SCRUB_JS` cuts a picture out of its sheet (a canvas) the first time its frame is
    shown. Returns (frames with those references, the sheets' hidden <img> tags)."""
    from PIL import Image

    pending = pics.arrays if pics is not None else []
    index: dict[str, tuple[int, int]] = {}  # picture (a data URI or a pending one's placeholder) -> (sheet, tile)
    seen: dict[bytes, tuple[int, int]] = {}  # the same pixels twice share a tile
    tiles: dict[tuple, list[np.ndarray]] = {}  # (h, w, mode) -> pictures
    for k, v in frames.items():
        if k == start:
            continue
        for src in _PNG_SRC.findall(v):
            if src in index:
                continue
            if src.startswith(_PENDING):
                a = pending[int(src[len(_PENDING):])]
                mode = "L" if a.ndim == 2 else {3: "RGB", 4: "RGBA"}[a.shape[2]]
            else:
                img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
                img = img.convert("RGBA" if "A" in img.mode or img.mode == "P" else "RGB" if img.mode != "L" else "L")
                a, mode = np.asarray(img), img.mode
            shape = (a.shape[0], a.shape[1], mode)
            digest = a.tobytes() + repr(shape).encode()
            if digest not in seen:
                group = tiles.setdefault(shape, [])
                seen[digest] = (list(tiles).index(shape), len(group))
                group.append(a)
            index[src] = seen[digest]
    if not index:
        return {k: _resolve_pending(v, pics) for k, v in frames.items()}, ""
    tags = []
    for g, ((h, w, mode), tiles_of_size) in enumerate(tiles.items()):
        per_row = max(1, min(len(tiles_of_size), SHEET_WIDTH // w))
        rows = -(-len(tiles_of_size) // per_row)
        sheet = np.zeros((rows * h, per_row * w) + tiles_of_size[0].shape[2:], np.uint8)
        for i, a in enumerate(tiles_of_size):
            r, c = divmod(i, per_row)
            sheet[r * h:(r + 1) * h, c * w:(c + 1) * w] = a
        buf = io.BytesIO()
        Image.fromarray(sheet).save(buf, format="WEBP", lossless=True, quality=0, method=0)
        uri = "data:image/webp;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        tags.append(f'<img hidden alt="" data-sheet="{g}" data-tw="{w}" data-th="{h}" data-cols="{per_row}" '
                    f'data-mode="{mode}" src="{uri}">')

    def swap(m: re.Match) -> str:
        g, i = index[m.group(1)]
        return f'data-sheet-ref="{g}" data-tile="{i}"'

    out = {k: _resolve_pending(v, pics) if k == start else _PNG_SRC.sub(swap, v) for k, v in frames.items()}
    return out, "".join(tags)


_SHEET = re.compile(r'<img hidden alt="" data-sheet="(\d+)" data-tw="(\d+)" data-th="(\d+)" data-cols="(\d+)" '
                    r'data-mode="(\w+)" src="data:image/webp;base64,([A-Za-z0-9+/=]+)">')
_REF = re.compile(r'data-sheet-ref="(\d+)" data-tile="(\d+)"')


def unpack(view: str) -> str:
    """A scrubber's HTML with every packed picture back as its own PNG data URI (what the browser
    does as frames are shown): for API clients that read the frames' pictures."""
    from PIL import Image

    sheets = {}
    for g, w, h, cols, mode, b64 in _SHEET.findall(view):
        img = Image.open(io.BytesIO(base64.b64decode(b64))).convert(mode)  # WebP keeps grey as RGB
        sheets[g] = (np.asarray(img), int(w), int(h), int(cols))

    def tile(m: re.Match) -> str:
        sheet, w, h, cols = sheets[m.group(1)]
        r, c = divmod(int(m.group(2)), cols)
        return f'src="{png_uri(sheet[r * h:(r + 1) * h, c * w:(c + 1) * w])}"'

    return _SHEET.sub("", _REF.sub(tile, view))


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
        static = f'<g id="{uid}" class="fv-static">{static}</g>{_STATIC_END}'
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


def gif_path(name: str) -> Path | None:
    """The path of an animation already written under this name (touched: kept longest), or None."""
    path = GIF_DIR / f"{name}.gif"
    with _gif_lock:
        if path.is_file():
            path.touch()
            return path
    return None


def write_gif(name: str, images: Sequence, durations: Sequence[int]) -> str:
    """Write PIL images as an animated GIF (looping) into the bounded temp folder; returns its path.

    Encoded outside the folder's lock (the lock only guards the clean-up and the rename), so a
    class's GIFs are written side by side, and without PIL's palette pass (`optimize`): a 50-step
    denoise GIF takes 13 ms instead of 35 ms for 12% more bytes, and its pictures are the same."""
    path = GIF_DIR / f"{name}.gif"
    GIF_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{uuid.uuid4().hex[:8]}.tmp")
    images[0].save(tmp, format="GIF", save_all=True, append_images=list(images[1:]), duration=list(durations),
                   loop=0, optimize=False)
    with _gif_lock:
        old = sorted(GIF_DIR.glob("*.gif"), key=lambda p: p.stat().st_mtime)
        for p in old[: max(0, len(old) - GIF_KEEP + 1)]:
            p.unlink(missing_ok=True)
        tmp.replace(path)
    return str(path)
