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
import html
import io
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

CMAP = "viridis"  # perceptually uniform, colour-blind safe
DIVERGING = "RdBu_r"
_ids = itertools.count()  # unique element ids for the labels of each scrubber


@functools.lru_cache(maxsize=8)
def _lut(name: str) -> np.ndarray:
    """(256, 3) uint8 colour table of a matplotlib colormap (the only matplotlib use here)."""
    from matplotlib import colormaps

    return (colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def png_uri(img: np.ndarray) -> str:
    """(H, W) or (H, W, 3) uint8 -> 'data:image/png;base64,...'."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img)).save(buf, format="PNG", optimize=False, compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def rgb_uri(img: np.ndarray) -> str:
    """(H, W, 3) floats in [0, 1] (or (H, W) grey) -> PNG data URI."""
    return png_uri((np.clip(np.asarray(img, dtype=np.float32), 0, 1) * 255).round().astype(np.uint8))


def heat_uri(values: np.ndarray, vmin: float | None = None, vmax: float | None = None, cmap: str = CMAP) -> str:
    """(H, W) values -> colormapped PNG data URI (vmin/vmax default to the data's range)."""
    v = np.asarray(values, dtype=np.float32)
    lo = float(np.nanmin(v)) if vmin is None else vmin
    hi = float(np.nanmax(v)) if vmax is None else vmax
    idx = np.clip((v - lo) / max(hi - lo, 1e-12) * 255, 0, 255).round().astype(np.uint8)
    return png_uri(_lut(cmap)[idx])


def img_tag(uri: str, alt: str, width: int = 160, extra: str = "") -> str:
    return (f'<img src="{uri}" alt="{html.escape(alt, quote=True)}" width="{width}" '
            f'style="image-rendering:pixelated;height:auto" {extra}>')


def figure_tag(uri: str, caption: str, alt: str, width: int = 160) -> str:
    return (f'<figure class="fv-fig">{img_tag(uri, alt, width)}'
            f'<figcaption>{html.escape(caption)}</figcaption></figure>')


@dataclass(frozen=True)
class Axis:
    """One slider of a scrubber: its accessible name and its integer range."""

    name: str  # e.g. "Step", shown as the label and used as the accessible name
    lo: int
    hi: int
    start: int
    note: str = ""  # shown after the value, e.g. "(0 = pure noise)"


def scrubber(axes: Sequence[Axis], frames: Mapping[tuple[int, ...], str], header: str = "", footer: str = "",
             play: bool = False) -> str:
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
        controls.append(
            f'<span class="fv-ctl"><label for="{rid}">{html.escape(a.name)}</label>'
            f'<input id="{rid}" type="range" data-scrub min="{a.lo}" max="{a.hi}" step="1" value="{a.start}" '
            f'aria-valuetext="{html.escape(a.name)} {a.start}" data-label="{html.escape(a.name)}">'
            f'<output for="{rid}" aria-hidden="true">{a.start}</output>'
            f'<span class="fv-note">{html.escape(a.note)}</span></span>')
    if play:
        controls.append('<button type="button" class="fv-play" data-play aria-label="Play through the steps">'
                        '&#9654; Play</button>')
    body = "".join(
        f'<div data-frame="{"-".join(map(str, k))}"{"" if k == start else " hidden"}>{v}</div>'
        for k, v in frames.items())
    return (f'<div class="fv-scrubber" data-scrubber>{header}<div class="fv-controls">{"".join(controls)}</div>'
            f'<div class="fv-frames" aria-live="polite">{body}</div>{footer}</div>')


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
