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
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from explainers.charts import STATIC_END
from models.text_image_data import article  # noqa: F401 - the views' 'a'/'an' ("an 8"), one rule with the captions'

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


_STATIC = re.compile(r'<g id="(fvc-[0-9a-f]+)" class="fv-static">(.*?)</g>' + re.escape(STATIC_END), re.S)


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
