"""Views of a translation (explainers.translation): the output with its confidence, ONE scrubber over
the decoding steps x layers x heads holding all three kinds of attention of the original
Transformer (the encoder's, the decoder's causal self-attention, the cross-attention filling in
row by row), the failure table, and cross-attention two ways (the translator's alignment beside
tiny-t2i's word maps).

Numbering on the page and in the API: steps 1..T (step j writes output character j); layers 1..L
and heads 1..H, with 0 = the average.
"""

from __future__ import annotations

import html
import itertools
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from explainers import frames
from explainers.t2i_spec import TextToImageResult, word_maps
from explainers.translation import FAILURES, UNSURE, TranslationResult, head_mean, translate
from models.dates import FORMATS, TARGET_FIELDS

_ids = itertools.count()  # unique classes for the labels of each view
CELL = 18  # pixels per matrix cell (characters are the tokens: they fit one cell)
BLANK = (236, 236, 236)  # rows not computed yet (later decoding steps)
METRICS = Path(__file__).resolve().parent.parent / "assets" / "models" / "tiny-dates" / "metrics.json"

# Scoped to the component (gr.HTML css_template). A matrix is a CSS grid: corner, column labels,
# row labels, image; one label = one cell of the image.
CSS = """
.tr-out {font-family:ui-monospace,monospace;font-size:22px;display:flex;gap:3px;flex-wrap:wrap;margin:6px 0}
.tr-out span {border:1px solid #bbb;border-radius:4px;padding:0 4px;min-width:1ch;text-align:center}
.tr-out span.tr-now {outline:3px solid #d55e00}
.tr-out span.tr-later {color:#999;border-style:dashed}
.tr-row {display:flex;flex-wrap:wrap;gap:14px 28px;align-items:flex-start}
.tr-mat {display:inline-grid;gap:2px;align-items:end}
.tr-mat > span:first-child {min-width:1px}
.tr-mat img {image-rendering:pixelated;display:block}
.tr-cols, .tr-rows {font-family:ui-monospace,monospace;font-size:13px;line-height:18px;overflow:hidden}
.tr-cols::before {display:block;white-space:pre;writing-mode:vertical-lr;text-orientation:upright;height:1.4em}
.tr-rows::before {white-space:pre;display:block;text-align:right;padding-right:3px}
.tr-fig figcaption {font-size:13px;max-width:26em}
.tr-fig {margin:0}
.tr-cand {list-style:none;padding:0;margin:0;font-size:13px;font-variant-numeric:tabular-nums}
.tr-cand li {display:flex;align-items:center;gap:6px}
.tr-cand b {font-family:ui-monospace,monospace;width:1.2em;text-align:center}
.tr-cand i {display:inline-block;height:11px;background:#0072b2;border-radius:2px}
.tr-cand li:first-child b {outline:2px solid #d55e00}
.tr-legend {font-size:12px;color:var(--body-text-color-subdued)}
"""


def _shown(ch: str) -> str:
    return {" ": "\u2423", "</s>": "\u2205", "<s>": "\u25b8"}.get(ch, ch)  # space ␣, end ∅, start ▸


def _where(r: TranslationResult, k: int) -> str:
    s, e = r.source_spans[k]
    if s == e:
        return "the end token"
    return f"'{r.text[s:e]}' (character {s + 1} of the date)"


def _heat(values: np.ndarray, vmax: float, rows_done: int | None, pics: frames.Pictures) -> str:
    """A matrix as a PNG (viridis, 0..vmax); rows from `rows_done` on are grey: not computed yet."""
    idx = np.clip(values / max(vmax, 1e-9) * 255, 0, 255).round().astype(np.uint8)
    rgb = frames.lut(frames.CMAP)[idx].copy()
    if rows_done is not None:
        rgb[rows_done:] = BLANK
    return frames.png_uri(rgb, pics)


def matrix_style(uid: str, kinds: dict[str, tuple[list[str], list[str]]]) -> str:
    """What every matrix of one run shares, written once: for each kind ({kind: (row labels, column
    labels)}) its size and its labels (CSS generated content); each matrix then carries only its
    picture and empty label spans."""
    rules = []
    for kind, (rows, cols) in kinds.items():
        w, h = CELL * len(cols), CELL * len(rows)
        k = f".{uid} .tr-{kind}"
        rules.append(f"{k} .tr-mat{{grid-template-columns:auto {w}px}} {k} img{{width:{w}px;height:{h}px}} "
                     f"{k} .tr-cols{{width:{w}px}} {k} .tr-rows{{height:{h}px}} "
                     f"{k} .tr-cols::before{{content:{frames.css_lines([_shown(t) for t in cols])}}} "
                     f"{k} .tr-rows::before{{content:{frames.css_lines([_shown(t) for t in rows])}}}")
    return f"<style>{' '.join(rules)}</style>"


def _matrix(uri: str, kind: str, caption: str, alt: str) -> str:
    """A matrix picture with its row and column labels (sized and labelled by `matrix_style`)."""
    return (f'<figure class="tr-fig tr-{kind}"><div class="tr-mat"><span></span><span class="tr-cols" aria-hidden="true">'
            f'</span><span class="tr-rows" aria-hidden="true"></span><img src="{uri}" alt="{html.escape(alt, quote=True)}">'
            f'</div><figcaption>{caption}</figcaption></figure>')


def output_chips(r: TranslationResult, now: int | None = None) -> str:
    """The output characters; `now` marks the one being written and greys those after it."""
    out = []
    for j, ch in enumerate(r.target_tokens):
        if now is not None and j > now:
            out.append('<span class="tr-later">·</span>')
        else:
            out.append(f'<span{" class=tr-now" if j == now else ""}>{html.escape(ch)}</span>')
    return f'<div class="tr-out" aria-label="Output: {html.escape(r.output)}">{"".join(out)}</div>'


def _candidates(r: TranslationResult, j: int) -> str:
    """The likeliest characters for output position j, as compact bars (a list: screen readers read the numbers)."""
    rows = "".join(f'<li><b>{html.escape(_shown(t))}</b><i style="width:{60 * p:.0f}px"></i>{p:.1%}</li>'
                   for t, p in zip(r.top_tokens[j], r.top_probs[j]))
    return f'<ol class="tr-cand" aria-label="Candidates for character {j + 1}">{rows}</ol>'


def summary(r: TranslationResult) -> str:
    """Markdown: the output, whether it is a real date, and how sure the model was."""
    if not r.target_tokens:
        return f"**{r.text.strip()}** → (nothing: the model ended at once)"
    j = r.least_sure
    lines = [f"**{html.escape(r.text.strip())}** → **`{r.output}`**"]
    if not r.is_iso:
        lines.append("The output is not in the form YYYY-MM-DD: the model never learned to write anything "
                     "else, so this input is far from what it saw in training.")
    elif not r.real_date:
        lines.append(f"`{r.output}` does not exist in the calendar: the model writes what the characters say, "
                     "it has no calendar to check against.")
    else:
        lines.append("A real date.")
    alts = ", ".join(f"'{t}' {p:.0%}" for t, p in zip(r.top_tokens[j][1:3], r.top_probs[j][1:3]))
    sure = (f"Least sure: character {j + 1} ('{r.target_tokens[j]}', {r.confidence[j]:.1%}; "
            f"next best {alts}).")
    if r.confidence[j] < UNSURE:
        sure = "⚠ The model hesitated. " + sure
    lines.append(f"{sure} Whole answer: {r.sequence_probability:.1%} likely under the model. "
                 f"{len(r.target_tokens)} decoder passes, one per character ({1000 * r.seconds:.0f} ms with every "
                 "attention recorded).")
    return "  \n".join(lines)


def _field_of(j: int) -> str:
    f = TARGET_FIELDS[j] if j < len(TARGET_FIELDS) else ""
    return f"the {f}'s" if f else "a separator,"


MATRICES = ("<b>Cross-attention</b> (first): rows = output characters, columns = source characters; a row "
            "fills in at each step: the alignment. <b>Decoder self-attention</b> (second): causal, each output "
            "position sees only the start token and what is already written. <b>Encoder self-attention</b> "
            "(third): every source character looks at every other (no mask), computed once before decoding.")


def _uid() -> str:
    return f"tr{next(_ids)}"


def steps_view(r: TranslationResult) -> str:
    """Decoding step (1..T) x layer (0 = mean, 1..L) x head (0 = mean, 1..H): the output so far, the
    candidates for the character being written, and the three attention matrices."""
    if not r.target_tokens:
        return '<p class="caption">The model wrote nothing: no step to show.</p>'
    T, L, H = len(r.target_tokens), r.layers, r.heads
    uid = _uid()
    pics = frames.Pictures()
    items = {}
    for j, layer, head in itertools.product(range(T), range(L + 1), range(H + 1)):
        lay, hd = (None if layer == 0 else layer - 1), (None if head == 0 else head - 1)
        which = ("all layers" if layer == 0 else f"layer {layer}") + (", all heads" if head == 0 else f", head {head}")
        cross, enc, dec = (head_mean(a, lay, hd) for a in (r.cross_attention, r.encoder_attention,
                                                            r.decoder_attention))
        k = int(cross[j].argmax())
        ch = html.escape(r.target_tokens[j])
        bars = _candidates(r, j)
        items[(j + 1, layer, head)] = (
            output_chips(r, j)
            + f'<p class="tr-legend">Writing \'{ch}\' ({_field_of(j)} character), {which}: the decoder reads '
              f"{html.escape(_where(r, k))} most ({cross[j, k]:.0%}).</p>"
            + f'<div class="tr-row"><div>{bars}</div>'
            + _matrix(_heat(cross, float(cross.max()), j + 1, pics), "cross", "Cross-attention",
                      f"Cross-attention, {which}")
            + _matrix(_heat(dec, float(dec.max()), j + 1, pics), "dec", "Decoder self-attention",
                      f"Decoder self-attention, {which}")
            + _matrix(_heat(enc, float(enc.max()), None, pics), "enc", "Encoder self-attention",
                      f"Encoder self-attention, {which}")
            + "</div>")
    src, tgt, dec_in = list(r.source_tokens), list(r.target_tokens), list(r.decoder_inputs)
    header = (matrix_style(uid, {"cross": (tgt, src), "enc": (src, src), "dec": (dec_in, dec_in)})
              + f'<p class="tr-legend">{MATRICES} Bright = more attention (viridis, each matrix scaled to its own '
                "peak); grey rows: steps not written yet. \u2423 = a space, \u25b8 = the start token, \u2205 = the end token.</p>")
    axes = [frames.Axis("Step", 1, T, 1, "writes output character n"),
            frames.Axis("Layer", 0, L, 0, "0 = average of all layers"),
            frames.Axis("Head", 0, H, 0, "0 = average of all heads")]
    return f'<div class="{uid}">{frames.scrubber(axes, items, header=header, play=True, pics=pics)}</div>'


def alignment_figure(r: TranslationResult, layer: int | None = None, head: int | None = None) -> str:
    """The full alignment matrix of one layer and head (None = mean), labelled."""
    a = r.alignment(layer, head)
    which = ("mean of all layers" if layer is None else f"layer {layer + 1}") + \
        (", all heads" if head is None else f", head {head + 1}")
    uid = _uid()
    body = _matrix(_heat(a, float(a.max()), None, None), "cross",
                   f"The translator's cross-attention ({which}): one row per output character.",
                   f"Alignment matrix, {which}")
    style = matrix_style(uid, {"cross": (list(r.target_tokens), list(r.source_tokens))})
    return f'<div class="{uid}">{style}{body}</div>'


@lru_cache(maxsize=1)
def metrics() -> dict:
    """The measured figures of tiny-dates (training/eval_tiny_dates.py writes them)."""
    return json.loads(METRICS.read_text()) if METRICS.exists() else {}


def card_table() -> str:
    """Markdown: exact match per format and the alignment figure, from the model card's measurement."""
    m = metrics()
    if not m:
        return "*(The model's figures are not measured yet: run `python -m training.eval_tiny_dates`.)*"
    rows = "\n".join(f"| `{FORMATS[f]}` | {v:.1%} |" for f, v in m["exact_by_format"].items())
    al = m["alignment"]
    return (f"Measured on {m['test_dates']:,} dates it never saw (half in the held-out years ending in 7): "
            f"**{m['exact_match']:.2%} exactly right**.\n\n| format | exact match |\n|---|---|\n{rows}\n\n"
            f"Alignment: in layer {al['best_layer']}, head {al['best_head']}, {al['best']:.0%} of the year, month "
            f"and day characters are written while attending most to a character of the same field in the "
            f"source (the mean of all heads: {al['mean_of_heads']:.0%}).")


def failure_table() -> str:
    """Markdown: what the model does with inputs outside its training, measured (training/eval_tiny_dates.py)."""
    m = metrics()
    if not m:
        return ""
    ok = m["median_min_confidence"]
    rows = [f"| real dates in the learned formats | {m['exact_match']:.1%} right | {ok:.1%} | |"]
    for name, f in m["failures"].items():
        ex = f["examples"][0]
        rows.append(f"| {name} (e.g. `{FAILURES.get(name, ex['source'])}`) | {f['exact']:.0%} {f['exact_is']}, "
                    f"{f['real_date_share']:.0%} real dates | {f['median_min_confidence']:.1%} | "
                    f"`{ex['source']}` → `{ex['output']}` |")
    return ("It always answers. How sure it was, measured on 200 inputs of each kind (the median of each "
            "answer's least-sure character):\n\n| input | what it wrote | confidence | e.g. |\n|---|---|---|---|\n"
            + "\n".join(rows))


def two_ways(r: TranslationResult, im: TextToImageResult) -> str:
    """Cross-attention in two jobs: the translator's alignment (rows: output characters querying the
    source) beside tiny-t2i's word maps (each word's column of patch queries, summed over the steps)."""
    words, maps = word_maps(im.tokens, im.cross_attention.sum(0))  # (W, h, w)
    figs = []
    for w, m in zip(words, maps):
        figs.append(frames.figure_tag(frames.heat_uri(m, 0.0, float(m.max()) or 1.0, "inferno"), w,
                                      f"Patches that read '{w}' (summed over the steps)", 88))
    al = metrics().get("alignment", {})
    layer, head = al.get("best_layer", 1) - 1, al.get("best_head", 1) - 1
    j = next((i for i, f in enumerate(TARGET_FIELDS) if f == "month"), 0) if len(r.target_tokens) == 10 else 0
    k = r.strongest_source(j, layer, head)
    figs.insert(0, frames.figure_tag(frames.rgb_uri(im.image), "the image", f"The image made for '{im.prompt}'", 88))
    strongest_word = words[int(maps.reshape(len(maps), -1).mean(1).argmax())] if words else ""
    h, w = maps.shape[1:] if len(maps) else (0, 0)
    return (
        '<div class="tr-row"><div>'
        + alignment_figure(r, layer, head)
        + f'<p class="tr-legend"><b>Output tokens query source tokens.</b> Each of the {len(r.target_tokens)} '
          f"output characters asks, while it is written, which of the {len(r.source_tokens)} source characters "
          f"matter; a row sums to 1. Here (layer {layer + 1}, head {head + 1}: the best-aligned head) character "
          f"{j + 1} ('{html.escape(r.target_tokens[j])}') read {html.escape(_where(r, k))} most.</p></div><div>"
        + f'<div class="t2i-words" style="display:flex;flex-wrap:wrap;gap:6px">{"".join(figs)}</div>'
        + f'<p class="tr-legend"><b>Image patches query prompt words.</b> Each of the {h * w} latent patches asks, '
          f"at every denoising step, which of the prompt's tokens matter; a map is one word's column of that "
          f"matrix laid out as the {h} x {w} patches (bright = the patches that read it). Here '{html.escape(strongest_word)}' "
          "received the most attention overall.</p></div></div>")


def lesson_alignment(text: str) -> tuple[str, str]:
    """The lesson's alignment step: (view HTML, the measured finding). The view is the full alignment
    of the best-aligned head (from the model card) beside the mean of all heads."""
    r = translate(text)
    al = metrics().get("alignment", {})
    layer, head = al.get("best_layer", 1) - 1, al.get("best_head", 1) - 1
    month = [j for j, f in enumerate(TARGET_FIELDS) if f == "month"]
    read = ", ".join(f"'{r.target_tokens[j]}' read {_where(r, r.strongest_source(j, layer, head))}" for j in month)
    body = (f"<style>{CSS}</style>{output_chips(r)}<div class='tr-row'>{alignment_figure(r, layer, head)}"
            f"{alignment_figure(r)}</div>")
    share = f"; over {metrics()['test_dates']:,} unseen dates this head aligns {al['best']:.0%} of the year, " \
            "month and day characters with their own field" if al else ""
    return body, (f"'{r.text}' became {r.output}. In layer {layer + 1}, head {head + 1}, writing the month digits: "
                  f"{read}{share}.")


def lesson_no_calendar(text: str) -> tuple[str, str]:
    """The lesson's failure step: the translation of an impossible date, and the measured table."""
    r = translate(text)
    j = r.least_sure
    real = "a real date" if r.real_date else "a date that does not exist"
    return (f"<style>{CSS}</style>{output_chips(r)}{steps_view(r)}",
            f"It wrote {r.output} ({real}); its least sure character was number {j + 1} "
            f"('{r.target_tokens[j]}', {r.confidence[j]:.0%}).")
