"""Views for the side-by-side tab, drawn from arrays and in the browser (no matplotlib per
request): both models' forward passes as one scrubber, the per-pass time and FLOPs as SVG
charts, a filmstrip, the summary tables, the attention-cost curves, the steps trade-off, and an
image cut into patch tokens."""

from __future__ import annotations

import html

import numpy as np

from explainers.charts import OKABE_BLUE, OKABE_VERMILLION, line_svg
from explainers.compare import AttentionCost, RaceResult, patches, race
from explainers.frames import Axis, figure_tag, rgb_uri, scrubber
from explainers.memory import memoize
from explainers.step_counts import StepsTradeoff

ROW = 'style="display:flex;flex-wrap:wrap;gap:8px 16px;align-items:flex-start"'

STATIC_ROWS = [  # (aspect, transformers, diffusion, which live row backs it up)
    ("Primary domain", "Language, code, structured sequences", "Images, video, audio", None),
    ("Core mechanism", "Self-attention over token sequences", "Iterative denoising of noise", "FLOPs per pass"),
    ("Output method", "Autoregressive: token by token", "Iterative refinement: many steps over the whole output",
     "What one pass produces"),
    ("Training data", "Text corpora, code (here: 35 Shakespeare plays)", "Image datasets (here: 5,000 MNIST digits)", None),
    ("Strengths", "Context understanding, reasoning, structured output", "High-quality visual generation", None),
    ("Limitations", "Attention over a whole sequence grows with the square of its length (Attention cost, below); "
     "hallucination", "Slow generation (many passes); less control over fine details; prompt sensitivity",
     "Total time"),
    ("Key papers", "Attention Is All You Need (Vaswani et al., 2017)",
     "Denoising Diffusion Probabilistic Models (Ho et al., 2020); latent diffusion (Rombach et al., 2022)", None),
    ("Example systems", "GPT-4, Claude, Gemini, LLaMA", "DALL-E, Midjourney, Stable Diffusion", None),
]


def pass_frame(r: RaceResult, i: int) -> str:
    """Forward pass i (1-based) of both: the text so far (new token highlighted), and the
    diffusion model's current image and its clean-image prediction."""
    g = r.gpt[min(i, len(r.gpt)) - 1]
    prev = r.text_prompt if g.index == 1 else r.gpt[g.index - 2].output
    new = g.output[len(prev):] if g.output.startswith(prev) else ""
    done = "" if i <= len(r.gpt) else f" (finished after {len(r.gpt)} passes)"
    text_html = (f"<div class='race-text' style='flex:1 1 320px'><b>Transformer, pass {g.index}{done}</b>"
                 f"<pre style='white-space:pre-wrap;font-size:15px'>{html.escape(prev)}<mark>{html.escape(new)}</mark>"
                 "</pre></div>")
    u = r.unet[min(i, len(r.unet)) - 1]
    udone = "" if i <= len(r.unet) else f" (finished after {len(r.unet)} passes)"
    figs = (figure_tag(rgb_uri(r.x_t[u.index]), f"Diffusion, pass {u.index}{udone}: the image x_t",
                       f"Pass {u.index}: the diffusion model's whole image after this pass", 196) +
            figure_tag(rgb_uri(u.output), "its predicted clean image",
                       f"Pass {u.index}: the diffusion model's guess of the finished digit", 196))
    return f"<div {ROW}>{text_html}<div id='race-image'>{figs}</div></div>"


def pass_view(r: RaceResult) -> str:
    """Every forward pass of both models, one scrubber (the shared pass slider)."""
    n = max(len(r.gpt), len(r.unet))
    frames = {(i,): pass_frame(r, i) for i in range(1, n + 1)}
    header = ("<p class='fv-note'>Drag the Forward pass slider or use the arrow keys: the text grows left to right "
              "while the digit sharpens everywhere at once. Every pass is already in the page.</p>")
    return scrubber([Axis("Forward pass", 1, n, n, "(shared by both models)")], frames, header=header, play=True)


def _whole_ticks(n: int) -> list[tuple[int, str]]:
    """Whole pass numbers only (an axis that counts passes has no pass 2.5)."""
    step = max(1, -(-n // 8))
    return [(i, str(i)) for i in range(1, n + 1, step)]


def timeline_html(r: RaceResult) -> str:
    """Cumulative time and FLOPs per pass, both models, as SVG charts drawn by the browser."""
    g, u = r.gpt, r.unet
    ticks = _whole_ticks(max(len(g), len(u), len(r.gpt_no_cache_flops)))
    time_chart = line_svg(
        [dict(label="transformer (tiny-gpt)", x=[p.index for p in g], y=np.cumsum([p.seconds for p in g]), color=OKABE_BLUE,
              dots=True),
         dict(label="diffusion (tiny-ddpm)", x=[p.index for p in u], y=np.cumsum([p.seconds for p in u]), color=OKABE_VERMILLION,
              dots=True)],
        "forward pass", "cumulative seconds", title="Time, measured live", width=470, xticks=ticks)
    flops_chart = line_svg(
        [dict(label="transformer, KV cache", x=[p.index for p in g], y=[p.flops / 1e6 for p in g], color=OKABE_BLUE, dots=True),
         dict(label="transformer, no cache", x=list(range(1, len(r.gpt_no_cache_flops) + 1)),
              y=np.array(r.gpt_no_cache_flops) / 1e6, color=OKABE_BLUE, dash=True),
         dict(label="diffusion (tiny-ddpm)", x=[p.index for p in u], y=[p.flops / 1e6 for p in u], color=OKABE_VERMILLION,
              dots=True)],
        "forward pass", "MFLOPs in this pass (log)", title="FLOPs per pass (FlopCounterMode)", logy=True, width=470,
        xticks=ticks)
    return f"<div {ROW}>{time_chart}{flops_chart}</div>"


def filmstrip_html(r: RaceResult, frames: int = 8) -> str:
    """Text growing vs image sharpening, at the same pass numbers (an HTML table)."""
    n = max(len(r.gpt), len(r.unet))
    idx = np.unique(np.linspace(1, n, frames).round().astype(int))
    cells = []
    for i in idx:
        words = r.gpt[min(i, len(r.gpt)) - 1].output[len(r.text_prompt):].replace("\n", " / ").strip()
        words = "..." + words[-18:] if len(words) > 18 else words
        img = figure_tag(rgb_uri(r.x_t[min(i, len(r.unet))]), f"pass {i}", f"Pass {i}: the diffusion image x_t", 84)
        cells.append(f"<td style='vertical-align:top;text-align:center'>{img}<br><code style='font-size:13px'>"
                     f"{html.escape(words)}</code></td>")
    return ("<table class='compare'><caption style='text-align:left'>Same pass numbers: the image x_t sharpens "
            "everywhere at once; below it, the last words the transformer has written so far</caption>"
            f"<tr>{''.join(cells)}</tr></table>")


def summary_html(r: RaceResult) -> str:
    live = {row: (t, d) for row, t, d in r.summary}
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(t)}</td><td>{html.escape(d)}</td></tr>"
                   for k, t, d in r.summary)
    static = []
    for aspect, t, d, backing in STATIC_ROWS:
        mt = md = ""  # each family's measured figure goes in its own column
        if backing and backing in live:
            lt, ld = live[backing]
            mt = f"<br><small>measured here: {html.escape(lt)}</small>"
            md = f"<br><small>measured here: {html.escape(ld)}</small>"
        static.append(f"<tr><th>{aspect}</th><td>{html.escape(t)}{mt}</td><td>{html.escape(d)}{md}</td></tr>")
    head = "<tr><th></th><th>Transformers</th><th>Diffusion models</th></tr>"
    return (f"<h4>Measured just now</h4><table class='compare'>{head}{rows}</table>"
            f"<h4>The two families in general (live figures beside the rows they back up)</h4>"
            f"<table class='compare'>{head}{''.join(static)}</table>")


def attention_cost_html(c: AttentionCost) -> str:
    """FLOPs and time vs sequence length on log-log axes (SVG), attention against the rest."""
    n = np.array(c.lengths, dtype=float)
    fit = c.attention_flops[-1] * (n / n[-1]) ** 2
    flops = line_svg(
        [dict(label=f"attention: slope {c.exponent:.2f}", x=n, y=np.array(c.attention_flops) / 1e6, color=OKABE_VERMILLION,
              dots=True),
         dict(label="everything else", x=n, y=np.array(c.other_flops) / 1e6, color=OKABE_BLUE, dots=True),
         dict(label="exactly quadratic", x=n, y=fit / 1e6, color="#777777", dash=True)],
        "sequence length (tokens, log)", "MFLOPs per pass (log)", title="FLOPs (exact count)", logx=True, logy=True,
        width=470, height=260)
    secs = line_svg(
        [dict(label=f"attention: slope {c.time_exponent:.2f}", x=n, y=np.array(c.attention_seconds) * 1e3,
              color=OKABE_VERMILLION, dots=True),
         dict(label="whole forward pass", x=n, y=np.array(c.total_seconds) * 1e3, color=OKABE_BLUE, dots=True)],
        "sequence length (tokens, log)", "milliseconds (median, log)", title="Time (measured, noisy)", logx=True,
        logy=True, width=470, height=260)
    return (f"<p><b>{html.escape(c.model)}: doubling the length multiplies attention FLOPs by "
            f"{2 ** c.exponent:.1f}</b></p><div {ROW}>{flops}{secs}</div>")


def steps_html(s: StepsTradeoff) -> str:
    """The same seed at each step count, with the time it took, and how far each image is from
    the most-steps one (so the learner sees where fewer steps start to cost)."""
    ref = s.images[-1]
    figs = []
    for n, img, sec, t in zip(s.steps, s.images, s.seconds, s.first_timestep):
        diff = float(np.abs(img - ref).mean())
        figs.append(figure_tag(rgb_uri(img), f"{n} step{'s' if n > 1 else ''} from t = {t}: {sec:.2f} s, differs "
                               f"from {s.steps[-1]} steps by {diff:.3f}", f"The digit after {n} DDIM steps", 140))
    chart = line_svg([dict(label="seconds", x=s.steps, y=s.seconds, color=OKABE_VERMILLION, dots=True)], "DDIM steps",
                     "seconds", title="Time grows linearly with the steps", width=320, height=200)
    late = [(n, t) for n, t in zip(s.steps, s.first_timestep) if t < 900]
    note = ""
    if late:
        runs = ", ".join(f"t = {t} for {n} step{'s' if n > 1 else ''}" for n, t in late)
        note = ("<p class='caption'>Why the fewest steps fail here: every run starts from pure noise, but DDIM spaces "
                f"its steps from t = 0 upwards ('leading' spacing), so the first step of a short run is taken at a "
                f"low timestep ({runs}): the model is told its start is less noisy than it is and removes too "
                "little noise. Samplers now often use 'trailing' spacing, whose first step is always t = 999.</p>")
    return f"<div {ROW}>{''.join(figs)}{chart}</div>{note}"


def _grey_rgb(img: np.ndarray) -> np.ndarray:
    return np.repeat(np.clip(img, 0, 1)[..., None], 3, axis=-1)


def patches_html(image: np.ndarray, patch: int = 4) -> str:
    """An image, its grid of patches pulled apart, and the patches as a sequence (HTML images)."""
    seq = patches(image, patch)  # (N, p, p)
    side = image.shape[0] // patch
    grid = _grey_rgb(image).repeat(4, 0).repeat(4, 1)  # 4x, so one-pixel grid lines fit between pixels
    for k in range(1, side):
        grid[k * patch * 4, :] = grid[:, k * patch * 4] = (0.84, 0.37, 0.0)  # vermillion lines
    gap = np.full((side * (patch + 1), side * (patch + 1)), 0.4)  # patches pulled apart by a grey gap
    for k, pt in enumerate(seq):
        r, c = divmod(k, side)
        gap[r * (patch + 1): r * (patch + 1) + patch, c * (patch + 1): c * (patch + 1) + patch] = pt
    strip = np.concatenate([np.pad(p, ((0, 0), (0, 1)), constant_values=0.4) for p in seq], axis=1)  # (p, N*(p+1))
    rows = 4
    per = int(np.ceil(len(seq) / rows)) * (patch + 1)
    strip = np.pad(strip, ((0, 0), (0, rows * per - strip.shape[1])), constant_values=0.4)
    lines = np.concatenate([np.pad(strip[:, r * per:(r + 1) * per], ((0, 1), (0, 0)), constant_values=0.4)
                            for r in range(rows)])
    figs = [figure_tag(rgb_uri(grid), f"{image.shape[0]}x{image.shape[1]} image, {patch}x{patch} patches",
                       f"A handwritten digit with a grid of {patch} by {patch} pixel patches drawn over it", 196),
            figure_tag(rgb_uri(gap), f"= {len(seq)} patch tokens", f"The digit's {len(seq)} patches pulled apart", 196),
            figure_tag(rgb_uri(lines), "read left to right, row by row: a sequence a Transformer can attend over",
                       f"The {len(seq)} patches laid out as a sequence, in reading order", 4 * lines.shape[1])]
    return f"<div {ROW}>{''.join(figs)}</div>"


@memoize(maxsize=8)
def race_views(text_prompt: str, image_prompt: str, new_tokens: int, steps: int, seed: int) -> tuple[str, str, str, str]:
    """(pass scrubber, timeline charts, filmstrip, summary tables) of a race, rendered once per
    result: the race itself is cached too, so identical requests cost one run and one rendering."""
    r = race(text_prompt, image_prompt, new_tokens, steps, seed)
    return pass_view(r), timeline_html(r), filmstrip_html(r), summary_html(r)
