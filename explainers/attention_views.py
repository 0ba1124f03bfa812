"""Views of attention, as HTML drawn from arrays (no matplotlib per request): token chips, ONE
scrubber holding every layer x head heatmap with its token labels (the all-heads grid of a layer
sits under that layer's "average" frame). The "same word" line chart is in positions_views.py,
bertviz's interactive views in bertviz_views.py.

Numbering on the page and in the API: layers 1..L; heads 1..H, and head 0 = the average over
the layer's heads. Every view is rendered once per (text, model, hide_special) and cached, so
thirty students pressing the same example cost one forward pass and one rendering.
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass

import numpy as np

from explainers import charts, frames
from explainers.attention import AttentionResult, attend
from explainers.memory import memoize
from models.errors import InputError

MAP_PX = 440  # side of a big heatmap (cells are whole pixels, so it is at most this)
GRID_PX = 240  # most a small map in the all-heads grid may take
CELL_MAX = 36
GRID_LABEL_MIN_CELL = 11  # below this a small map's labels would overlap: it shows none

# Scoped to the component (gr.HTML css_template). A map is a CSS grid: corner, column labels,
# row labels, image; one cell of the label tracks = one token = `--cell` pixels of the image.
CSS = """
.at-map {display:inline-grid;align-items:end;gap:2px;margin:4px 0}
.at-cols, .at-rows {overflow:hidden;font-size:var(--fs);line-height:var(--cell);font-family:ui-monospace,monospace}
.at-cols {max-height:8em;display:flex;align-items:flex-end}
.at-cols::before {display:block;white-space:pre;writing-mode:vertical-rl;transform:rotate(180deg)}
.at-rows {max-width:9em;text-align:right;padding-right:3px}
.at-rows::before {white-space:pre}
.at-map img {image-rendering:pixelated;display:block}
.at-corner {font-size:11px;color:var(--body-text-color-subdued);align-self:end;text-align:right;padding-right:3px}
.at-legend {display:flex;align-items:center;gap:6px;font-size:13px;margin:4px 0}
.at-legend i {display:inline-block;width:140px;height:12px;border:1px solid #999;
  background:linear-gradient(to right, #440154, #3b528b, #21918c, #5ec962, #fde725)}
.at-grid {display:flex;flex-wrap:wrap;gap:10px 18px;margin-top:6px}
.at-grid figure {margin:0;text-align:center}
.at-goto {font-size:13px;padding:1px 8px;border:1px solid #999;border-radius:6px;background:#fff;color:#111;
  margin-top:2px;cursor:pointer}
.at-cap {font-size:14px;margin:4px 0;max-width:60em}
table.at-vals {border-collapse:collapse;font-size:13px;margin-top:6px}
table.at-vals th, table.at-vals td {padding:1px 8px;border-bottom:1px solid #ddd;text-align:right}
"""

# Clicking "enlarge" under a small map moves the Head slider there: in the browser, no server call.
GOTO_JS = """
element.addEventListener('click', (e) => {
  const g = e.target.closest ? e.target.closest('[data-goto-head]') : null;
  if (!g) return;
  const r = g.closest('[data-scrubber]').querySelector('input[data-scrub][data-label="Head"]');
  r.value = g.dataset.gotoHead;
  r.dispatchEvent(new Event('input', {bubbles: true}));
  r.focus();
});
"""


def token_chips_html(result: AttentionResult) -> str:
    """The tokens as coloured chips with their ids; special tokens outlined."""
    chips = []
    for i, (tok, tid, sp) in enumerate(zip(result.tokens, result.ids, result.special)):
        hue = (i * 47) % 360
        style = ("border:2px dashed #666;background:#fff" if sp else f"background:hsl({hue},70%,88%)")
        chips.append(f"<span class='tok' style='{style}' title='position {i + 1}, id {tid}'>"
                     f"<b>{html.escape(tok)}</b><sub>{tid}</sub></span>")
    note = (f"<p class='warn'>Showing the first {result.limit} of {result.n_input_tokens} tokens "
            f"(the limit for this view).</p>" if result.truncated else "")
    return (f"<div class='chips'>{''.join(chips)}</div>"
            f"<p class='caption'>{len(result.tokens)} tokens for <b>{html.escape(result.model)}</b>. "
            f"Dashed chips are special tokens the model adds; the small number is the token id.</p>{note}")


# ---- which cells are shown -------------------------------------------------------------------

def shown_positions(result: AttentionResult, hide_special: bool) -> np.ndarray:
    """Token positions drawn in the maps: all, or all but the special tokens (never none)."""
    keep = np.flatnonzero(~np.asarray(result.special, dtype=bool)) if hide_special else np.arange(len(result.tokens))
    return keep if keep.size else np.arange(len(result.tokens))


def check_layer_head(result: AttentionResult, layer: int, head: int) -> None:
    if not 1 <= layer <= result.layers:
        raise InputError(f"layer must be between 1 and {result.layers} (layers are numbered from 1), got {layer}.")
    if not 0 <= head <= result.heads:
        raise InputError(f"head must be between 0 (the average of all heads) and {result.heads}, got {head}.")


def head_weights(result: AttentionResult, layer: int, head: int) -> np.ndarray:
    """(T, T) map of one head, 1-based; head 0 = the mean over the layer's heads."""
    check_layer_head(result, layer, head)
    w = result.weights[layer - 1]  # (heads, T, T)
    return w.mean(axis=0) if head == 0 else w[head - 1]


def structured_start(result: AttentionResult, keep: np.ndarray) -> tuple[int, int]:
    """The (layer, head) to open on: the head whose shown words look most sharply at one other
    shown word (mean over rows of the largest off-diagonal weight). The last layer's average,
    where every row leans on [CLS] / [SEP], shows almost nothing."""
    if keep.size < 3:
        return result.layers, 0
    w = result.weights[:, :, keep][:, :, :, keep]  # (layers, heads, n, n)
    off = w * (1.0 - np.eye(keep.size, dtype=w.dtype))
    score = off.max(axis=-1).mean(axis=-1)  # (layers, heads)
    layer, head = np.unravel_index(int(score.argmax()), score.shape)
    return int(layer) + 1, int(head) + 1


# ---- drawing ---------------------------------------------------------------------------------

def _strongest(w: np.ndarray, tokens: list[str], n: int = 3) -> str:
    flat = np.argsort(w, axis=None)[::-1][:n]
    pairs = [np.unravel_index(int(i), w.shape) for i in flat]
    return "; ".join(f"{tokens[i]} to {tokens[j]} {w[i, j]:.2f}" for i, j in pairs)


def label_style(uid: str, tokens: list[str]) -> str:
    """The token labels of every map of one run, written ONCE as CSS generated content: each map
    only carries two empty spans, so 150 labelled maps cost no more than one list of tokens.
    Maps are `aria-hidden` labels around an image whose alt text names the strongest links."""
    text = frames.css_lines(tokens)
    return f"<style>.{uid} .at-rows::before, .{uid} .at-cols::before {{content:{text}}}</style>"


def labelled_map(w: np.ndarray, n_tokens: int, side: int, vmax: float, alt: str, labels: bool = True,
                 corner: bool = True, pics: frames.Pictures | None = None) -> str:
    """One heatmap image with the tokens beside its rows and above its columns (the text comes
    from `label_style`, which the enclosing block must include). With `pics` (a scrubber's
    pictures) the map is encoded once by the scrubber instead of as its own PNG here."""
    n = n_tokens
    cell = int(max(1, min(CELL_MAX, side // max(n, 1))))
    px = cell * n
    img = (f'<img src="{frames.heat_uri(w, 0.0, max(vmax, 1e-6), pics=pics)}" width="{px}" height="{px}" '
           f'alt="{html.escape(alt, quote=True)}">')
    if not labels:
        return f'<span class="at-map">{img}</span>'
    fs = int(max(7, min(14, cell - 2)))
    return (f'<span class="at-map" style="--cell:{cell}px;--fs:{fs}px;grid-template-columns:auto {px}px">'
            + ('<span class="at-corner" aria-hidden="true">looks at &rarr;<br>&darr; token</span>' if corner
               else '<span></span>') +
            f'<span class="at-cols" aria-hidden="true" style="width:{px}px"></span>'
            f'<span class="at-rows" aria-hidden="true" style="height:{px}px"></span>{img}</span>')


def legend(vmax: float) -> str:
    return f'<div class="at-legend" aria-hidden="true"><span>0</span><i></i><span>{charts.plain(vmax, 2)}</span></div>'


def _notes(result: AttentionResult, keep: np.ndarray) -> str:
    out = []
    if keep.size < len(result.tokens):
        out.append("Special tokens are hidden: a row's weights on the words shown add up to less than 1 "
                   "(the rest goes to [CLS], [SEP] and the like).")
    if result.causal:
        out.append("A decoder cannot look ahead: everything above the diagonal is 0 (the causal mask).")
    return " ".join(out)


def _block(uid: str, tokens: list[str], inner: str) -> str:
    return f'<div class="{uid}">{label_style(uid, tokens)}{inner}</div>'


def _heatmap_frame(result: AttentionResult, keep: np.ndarray, layer: int, head: int,
                   pics: frames.Pictures | None = None) -> str:
    w = head_weights(result, layer, head)[np.ix_(keep, keep)]  # (n, n)
    what = f"average of all {result.heads} heads" if head == 0 else f"head {head} of {result.heads}"
    title = f"Layer {layer} of {result.layers}, {what}"
    tokens = [result.tokens[i] for i in keep]
    vmax = float(w.max())
    alt = f"Attention heatmap, {title}. Strongest: {_strongest(w, tokens)}."
    return (f'<p class="at-cap"><b>{html.escape(title)}</b></p>'
            f'{labelled_map(w, len(tokens), MAP_PX, vmax, alt, pics=pics)}{legend(vmax)}')


def _grid_frame(result: AttentionResult, keep: np.ndarray, layer: int, goto: bool = True,
                pics: frames.Pictures | None = None) -> str:
    tokens = [result.tokens[i] for i in keep]
    ws = result.weights[layer - 1][:, keep][:, :, keep]  # (heads, n, n)
    vmax = float(ws.max())
    side = int(min(GRID_PX, max(120, 13 * len(tokens))))
    labels = side // max(len(tokens), 1) >= GRID_LABEL_MIN_CELL
    cells = []
    for h in range(1, result.heads + 1):
        alt = f"Layer {layer}, head {h}. Strongest: {_strongest(ws[h - 1], tokens, 2)}."
        cap = (f'<button type="button" class="at-goto" data-goto-head="{h}">head {h}: enlarge</button>' if goto
               else f"head {h}")
        cells.append(f'<figure>{labelled_map(ws[h - 1], len(tokens), side, vmax, alt, labels, corner=False, pics=pics)}'
                     f'<figcaption>{cap}</figcaption></figure>')
    note = "" if labels else " Too many tokens to label every small map: enlarge one to read its labels."
    return (f'<p class="at-cap"><b>All {result.heads} heads of layer {layer}</b>, on one colour scale '
            f'(0 to {charts.plain(vmax, 2)}).{note}</p><div class="at-grid">{"".join(cells)}</div>')


_ids = itertools.count()


def _uid() -> str:
    return f"at{next(_ids)}"


def heatmap_html(result: AttentionResult, layer: int, head: int, hide_special: bool = True) -> str:
    """The big map of one layer and head (head 0 = average of the heads), labelled, with its
    colour legend. This is what the `heatmap` API endpoint returns."""
    check_layer_head(result, layer, head)
    keep = shown_positions(result, hide_special)
    return _block(_uid(), [result.tokens[i] for i in keep],
                  f'<p class="at-cap">{EXPLAIN_MAP} {_notes(result, keep)}</p>{_heatmap_frame(result, keep, layer, head)}')


def heads_grid_html(result: AttentionResult, layer: int, hide_special: bool = True) -> str:
    """Every head of one layer as small labelled maps on one colour scale (the layer's maximum)."""
    check_layer_head(result, layer, 0)
    keep = shown_positions(result, hide_special)
    return _block(_uid(), [result.tokens[i] for i in keep], _grid_frame(result, keep, layer, goto=False))


EXPLAIN_MAP = ("Each row is a token; the colours in its row show how much it looks at each token (column). "
               "Bright = much, dark = little.")


@dataclass(frozen=True)
class AttentionViews:
    tokens: str  # token chips
    scrubber: str  # every layer x head map, switched in the browser
    start: tuple[int, int]  # (layer, head) the scrubber opens on
    frames: int


def attention_scrubber(result: AttentionResult, hide_special: bool = True) -> tuple[str, tuple[int, int], int]:
    """ONE scrubber: Layer (1..L) x Head (0 = average, 1..H). A head's frame is its big map; the
    average frame also holds the all-heads grid of that layer, each small map with an "enlarge"
    button that moves the Head slider (in the browser)."""
    keep = shown_positions(result, hide_special)
    start = structured_start(result, keep)
    pics = frames.Pictures()  # every map is encoded once, by the scrubber (a PNG or a tile of a sheet)
    grids = {layer: _grid_frame(result, keep, layer, pics=pics) for layer in range(1, result.layers + 1)}
    frame_html = {(layer, head): _heatmap_frame(result, keep, layer, head, pics) + (grids[layer] if head == 0 else "")
                  for layer in range(1, result.layers + 1) for head in range(result.heads + 1)}
    axes = [frames.Axis("Layer", 1, result.layers, start[0], note=f"of {result.layers}"),
            frames.Axis("Head", 0, result.heads, start[1],
                        note=f"of {result.heads}; 0 = average of all heads, with every head of the layer below")]
    opened = (f" Opened on layer {start[0]}, head {start[1]}: the head whose words look most sharply at one "
              f"other word." if start[1] else "")
    header = (f'<p class="at-cap">{EXPLAIN_MAP} {_notes(result, keep)}{opened} Move the sliders (or use the arrow '
              f'keys) to see every layer and head: nothing is recomputed.</p>')
    uid = _uid()
    body = frames.scrubber(axes, frame_html, header=header, pics=pics)
    return _block(uid, [result.tokens[i] for i in keep], body), start, len(frame_html)


@memoize(maxsize=32)
def attention_views(text: str, model: str = "minilm", hide_special: bool = True) -> AttentionViews:
    """Everything the Attention tab shows for one run, rendered once."""
    r = attend(text, model)
    html_, start, n = attention_scrubber(r, bool(hide_special))
    return AttentionViews(token_chips_html(r), html_, start, n)
