"""Views of next-token prediction, as HTML drawn in the browser (no matplotlib per request):
the probabilities before and after the sampling controls on ONE shared axis, generation as one
scrubber (every step's context and bars), the forward passes with and without the KV cache, the
logit lens as a table, and the training checkpoints as bars on one scale.

Layers are numbered as everywhere in the app: 0 = the token embeddings, then 1..L.
"""

from __future__ import annotations

import html

import numpy as np

from explainers import charts, frames
from explainers.charts import OKABE_BLUE, OKABE_VERMILLION
from explainers.generation import GenerationResult, Step, generate
from explainers.logit_lens import LensResult
from explainers.memory import memoize
from explainers.next_token import NextTokenResult, Sampling
from explainers.training_progress import ProgressResult
from models.errors import InputError

MAX_ROWS = 25

# Scoped to the component (gr.HTML css_template).
CSS = """
table.nt-bars {border-collapse:collapse;width:100%;max-width:760px;font-size:14px}
table.nt-bars caption {text-align:left;font-weight:600;padding:2px 0 6px}
table.nt-bars th, table.nt-bars td, .nt-ckpts th, .nt-ckpts td {padding:1px 6px;border:none}
table.nt-bars tbody tr, .nt-ckpts tbody tr {border-bottom:1px solid #eee}
table.nt-bars, .nt-ckpts table {border:none}
.nt-ckpts table.fv-bars td:nth-child(2) {width:55%}
table.nt-bars thead th {font-weight:600;text-align:left;border-bottom:1px solid #ccc}
table.nt-bars tbody th {text-align:right;font-weight:normal;white-space:pre;font-family:ui-monospace,monospace}
table.nt-bars td.nt-cell {width:36%;background:repeating-linear-gradient(to right, transparent 0,
  transparent calc(25% - 1px), #e6e6e6 calc(25% - 1px), #e6e6e6 25%)}
.nt-bar {display:inline-block;height:14px;border-radius:2px;vertical-align:middle}
.nt-model {background:#0072b2}
.nt-after {background:#d55e00}
.nt-num {font-variant-numeric:tabular-nums;white-space:nowrap;text-align:right;width:5em}
tr.nt-cut th, tr.nt-cut td {color:var(--body-text-color-subdued)}
tr.nt-cut .nt-model {background:#b8b8b8}
tr.nt-chosen th {font-weight:700}
tr.nt-chosen {outline:2px solid #d55e00;outline-offset:-1px}
tfoot td {font-size:12px;color:var(--body-text-color-subdued)}
.nt-axis {display:flex;justify-content:space-between}
.nt-context {white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:14px;border:1px solid #ddd;
  border-radius:6px;padding:8px;max-width:760px}
.nt-context .nt-prompt {color:var(--body-text-color-subdued)}
.nt-context mark {background:#fdd2b3;border:2px solid #d55e00;border-radius:4px;padding:0 2px;color:#111}
table.nt-lens {border-collapse:collapse;font-size:13px}
table.nt-lens th, table.nt-lens td {padding:3px 8px;border:1px solid #fff;text-align:center}
table.nt-lens th[scope=row] {text-align:right;font-weight:normal;background:none;color:inherit}
.nt-lens .tok {font-family:ui-monospace,monospace;background:none;padding:0;font-size:13px;color:inherit}
.nt-ckpts {display:flex;flex-wrap:wrap;gap:12px 24px}
.nt-ckpts > div {min-width:220px;flex:1;max-width:320px}
"""


def visible(token: str) -> str:
    """Whitespace made visible, quoted so a bare space still shows."""
    return "'" + token.replace(" ", "▁").replace("\n", "⏎").replace("\t", "⇥") + "'"


def knobs(s: Sampling) -> str:
    if s.temperature == 0:
        return "greedy (temperature 0): only the top token"
    return f"temperature {s.temperature:g}, top-k {s.top_k or 'off'}, top-p {s.top_p:g}"


def _pct(v: float) -> str:
    return f"{v:.1%}" if v >= 0.001 else ("<0.1%" if v > 0 else "0%")


def _rows(r: NextTokenResult | Step, highlight: int | None, max_rows: int) -> list[int]:
    rows = min(len(r.ids), max_rows)
    idx = list(range(rows))
    if highlight is not None and highlight in r.ids and r.ids.index(highlight) >= rows:
        idx[-1] = r.ids.index(highlight)  # the chosen token stays visible even when unlikely
    return idx


NICE = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0)  # axis ends whose quarters are round numbers


def bars_vmax(r: NextTokenResult | Step) -> float:
    """The end of the shared axis: the smallest round number above both columns' largest bar."""
    top = float(max(np.max(r.before), np.max(r.after)))
    return next(v for v in NICE if v >= top - 1e-9)


def next_token_bars(r: NextTokenResult | Step, highlight: int | None = None, vmax: float | None = None,
                    title: str = "", max_rows: int = MAX_ROWS) -> str:
    """The model's probabilities and those after the sampling controls, side by side on ONE
    shared axis (a full bar = `vmax`), so a flatter or sharper distribution shows as shorter or
    longer bars. Tokens cut by top-k / top-p are greyed and say "cut" (no bar, no number);
    `highlight` (a token id, e.g. the one drawn) is outlined. A table: screen readers get numbers."""
    top = float(vmax if vmax is not None else bars_vmax(r))
    body = []
    for i in _rows(r, highlight, max_rows):
        b, a, kept = float(r.before[i]), float(r.after[i]), bool(r.kept[i])
        cls = " class='nt-chosen'" if highlight is not None and r.ids[i] == highlight else \
            ("" if kept else " class='nt-cut'")
        wb, wa = 100 * b / top, 100 * a / top
        after = (f"<td class='nt-cell'><span class='nt-bar nt-after' style='width:{wa:.1f}%'></span></td>"
                 f"<td class='nt-num'>{_pct(a)}</td>" if kept else
                 "<td class='nt-cell'></td><td class='nt-num'>cut</td>")
        mark = " ◀ drawn" if highlight is not None and r.ids[i] == highlight else ""
        body.append(f"<tr{cls}><th scope='row'>{html.escape(visible(r.tokens[i]), quote=False)}{mark}</th>"
                    f"<td class='nt-cell'><span class='nt-bar nt-model' style='width:{wb:.1f}%'></span></td>"
                    f"<td class='nt-num'>{_pct(b)}</td>{after}</tr>")
    ticks = "".join(f"<span>{charts.plain(100 * top * q)}%</span>" for q in (0, 0.25, 0.5, 0.75, 1.0))
    axis = f"<div class='nt-axis' aria-hidden='true'>{ticks}</div>"
    cap = html.escape(title or "Next-token probabilities")
    return (f"<table class='nt-bars'><caption>{cap}</caption><thead><tr><th scope='col'>candidate next token</th>"
            f"<th scope='col' colspan='2'>the model (softmax of its logits)</th>"
            f"<th scope='col' colspan='2'>drawn from: {html.escape(knobs(r.sampling))}</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody><tfoot><tr><td>one scale for both columns</td><td>{axis}</td><td></td>"
            f"<td>{axis}</td><td></td></tr></tfoot></table>")


def sampling_caption(r: NextTokenResult) -> str:
    """Markdown: what the model favours and how much the controls keep."""
    kept = r.probs_before[r.probs_after > 0].sum()
    trunc = (f" The text was longer than the model's context, so only its last {len(r.context)} tokens were used."
             if r.truncated else "")
    return (f"After **{len(r.context)}** context tokens, **{r.model}** gives `{r.tokens[0]}` the highest "
            f"probability (**{r.before[0]:.1%}**). The sampling controls keep **{r.n_kept:,}** of "
            f"{len(r.probs_before):,} tokens, which held {kept:.1%} of the probability before rescaling; grey rows "
            f"are cut. Both columns share one scale. `▁` is a space, `⏎` a new line.{trunc}")


# ---- generation ------------------------------------------------------------------------------

def step_html(r: GenerationResult, i: int, vmax: float | None = None) -> str:
    """Step i (1-based): the text so far with the drawn token outlined, and the bars it was drawn from."""
    if not 1 <= i <= len(r.steps):
        raise InputError(f"step must be between 1 and {len(r.steps)}, got {i}.")
    s = r.steps[i - 1]
    done = html.escape(s.context[len(r.prompt):] if s.context.startswith(r.prompt) else "")
    how = ("the most likely token" if s.chosen_rank == 1 else
           f"<span class='warn'>not the most likely: rank {s.chosen_rank}</span>, picked by sampling")
    return (f"<div class='nt-context'><span class='nt-prompt'>{html.escape(r.prompt)}</span>{done}"
            f"<mark>{html.escape(s.chosen_text) or '&nbsp;'}</mark></div>"
            f"<p class='caption'>Step {i} of {len(r.steps)}: grey = your prompt, then the tokens written so far; "
            f"the outlined token <b>{html.escape(s.chosen_token)}</b> was drawn with probability "
            f"{s.chosen_prob:.1%} ({s.chosen_prob_after:.1%} after the sampling controls): {how}.</p>"
            + next_token_bars(s, highlight=s.chosen_id, vmax=vmax, title=f"Step {i}: the distribution it was drawn from"))


def generation_scrubber(r: GenerationResult) -> str:
    """Every step's context and bars in ONE scrubber (Step 1..N, Play), on one shared axis."""
    vmax = max(bars_vmax(s) for s in r.steps)
    frame_html = {(i,): step_html(r, i, vmax) for i in range(1, len(r.steps) + 1)}
    axis = frames.Axis("Step", 1, len(r.steps), 1, note=f"of {len(r.steps)} (the model does not run again)")
    return frames.scrubber([axis], frame_html, play=True)


def generation_summary(r: GenerationResult) -> str:
    unlikely = sum(s.chosen_rank > 1 for s in r.steps)
    n = r.forward_passes
    note = f"\n\n<span class='warn'>{html.escape(r.note)}</span>" if r.note else ""
    return (f"**{n} forward passes** for {len(r.steps)} new tokens, {r.seconds:.2f} s in total "
            f"({1000 * r.seconds / n:.1f} ms per pass). With the KV cache the first pass read the "
            f"{r.prompt_tokens} prompt tokens and every later pass read **1** token: "
            f"{sum(r.tokens_per_pass)} tokens in all, instead of "
            f"{sum(r.prompt_tokens + k for k in range(n))} without it. "
            f"{unlikely} of the {len(r.steps)} drawn tokens were not the most likely one (seed {r.seed})."
            f"\n\n<div style='white-space:pre-wrap;border-left:3px solid #0072b2;padding-left:8px'>"
            f"{html.escape(r.text)}</div>{note}")


def passes_chart(result: GenerationResult, without_cache: GenerationResult | None = None) -> str:
    """Tokens fed to the model at each forward pass, with the KV cache (1 after the first) and
    without it (the whole growing context); measured when `without_cache` is given."""
    n = result.forward_passes
    x = np.arange(1, n + 1)
    other = (np.array(without_cache.tokens_per_pass) if without_cache is not None
             else result.prompt_tokens + np.arange(n))
    cached = np.array(result.tokens_per_pass if result.use_cache else [result.prompt_tokens] + [1] * (n - 1))
    how = "measured" if without_cache is not None else "what a loop without it feeds"
    series = [dict(label="without KV cache", x=x, y=other, color=OKABE_VERMILLION, dash=True),
              dict(label="with KV cache", x=x, y=cached, color=OKABE_BLUE, dots=True)]
    step = max(1, int(np.ceil(n / 10)))
    ticks = [(int(v), str(int(v))) for v in range(1, n + 1) if v == 1 or v % step == 0]
    chart = charts.line_svg(series, xlabel="forward pass (one per generated token)", ylabel="tokens fed",
                            title=f"{n} passes for {n} tokens", width=560, height=250,
                            ylim=(0.0, float(max(other.max(), cached.max())) * 1.1 + 1), xticks=ticks)
    return (f"{chart}<p class='caption'>Tokens read: {int(cached.sum()):,} with the cache, {int(other.sum()):,} "
            f"without ({how}). The cache saves re-reading the context, not passes.</p>")


def cached_generation_step(text, model, max_new_tokens, temperature, top_k, top_p, seed, step,
                           use_cache: bool = True) -> str:
    """One step's view, from a generation run earlier (never runs the model)."""
    from explainers.generation import cached_generation

    r = cached_generation(text, model, max_new_tokens, temperature, top_k, top_p, seed, use_cache)
    return step_html(r, int(step), max(bars_vmax(s) for s in r.steps))


@memoize(maxsize=16)
def generation_views(text, model, max_new_tokens, temperature, top_k, top_p, seed) -> tuple[str, str, str]:
    """(summary markdown, step scrubber, passes chart) of one run, rendered once."""
    r = generate(text, model, max_new_tokens, temperature, top_k, top_p, seed, True)
    return generation_summary(r), generation_scrubber(r), passes_chart(r)


# ---- logit lens and training progress ------------------------------------------------------------

def _viridis(p: float) -> tuple[str, str]:
    """Background colour for a probability, and a text colour that stays readable on it."""
    from matplotlib import colormaps

    r, g, b, _ = colormaps[frames.CMAP](float(np.clip(p, 0, 1)))
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}", "#111" if lum > 0.45 else "#fff"


def lens_html(r: LensResult) -> str:
    """Layers as rows (the output at the top, the embeddings at the bottom), the top tokens of
    each as cells coloured by probability, and the probability of the final answer per layer."""
    layers, k = r.probs.shape
    head = "".join(f"<th scope='col'>#{j + 1}</th>" for j in range(k))
    rows = []
    for li in reversed(range(layers)):
        cells = []
        for j in range(k):
            p = float(r.probs[li, j])
            bg, fg = _viridis(p)
            cells.append(f"<td style='background:{bg};color:{fg}'><span class='tok'>"
                         f"{html.escape(visible(r.tokens[li][j]), quote=False)}</span><br>{_pct(p)}</td>")
        fp = float(r.final_token_probs[li])
        bar = (f"<td style='text-align:left;min-width:140px'><span class='nt-bar nt-after' "
               f"style='width:{100 * fp:.0f}px'></span> {_pct(fp)}</td>")
        rows.append(f"<tr><th scope='row'>{html.escape(r.layer_names[li])}</th>{''.join(cells)}{bar}</tr>")
    return (f"<table class='nt-lens'><caption class='caption'>{html.escape(r.model)}: the top {k} next tokens "
            f"read from each layer (top row = the model's real output). Colour = probability (dark = low, "
            f"yellow = high).</caption><thead><tr><th scope='col'>layer</th>{head}"
            f"<th scope='col'>P({html.escape(visible(r.final_token), quote=False)}), the final answer</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def progress_html(r: ProgressResult) -> str:
    """One bar chart per checkpoint, all on one scale, so step 0's flat guess is visibly tiny."""
    top = next(v for v in NICE if v >= float(r.probs.max()) - 1e-9)
    panels = [f"<div>{charts.bars_html([visible(t) for t in toks], ps, vmax=top, fmt='{:.1%}', title=label)}</div>"
              for label, toks, ps in zip(r.labels, r.tokens, r.probs)]
    return (f"<div class='nt-ckpts'>{''.join(panels)}</div><p class='caption'>One scale for every checkpoint "
            f"(a full bar = {top:.0%}). A uniform guess gives every token 1/{r.vocab_size:,} = "
            f"{1 / r.vocab_size:.3%}.</p>")


def checkpoint_table(r: ProgressResult) -> str:
    rows = "\n".join(f"| {label} | {html.escape(sample).replace(chr(10), ' ⏎ ').replace('|', '&#124;')} |"
                     for label, sample in zip(r.labels, r.samples))
    return "Greedy continuation (20 tokens) from each checkpoint:\n\n| checkpoint | continuation |\n|---|---|\n" + rows


def kv_table(fast: GenerationResult, slow: GenerationResult) -> str:
    same = "the same tokens" if [s.chosen_id for s in fast.steps] == [s.chosen_id for s in slow.steps] else \
        "almost the same tokens (tiny rounding differences can change a random draw)"
    return (f"| | forward passes | tokens read | time |\n|---|---|---|---|\n"
            f"| with KV cache | {fast.forward_passes} | {sum(fast.tokens_per_pass):,} | {fast.seconds:.2f} s |\n"
            f"| without | {slow.forward_passes} | {sum(slow.tokens_per_pass):,} | {slow.seconds:.2f} s |\n\n"
            f"Both runs wrote {same}. The cache saves re-reading the context, not passes: "
            f"one pass per token either way.")

