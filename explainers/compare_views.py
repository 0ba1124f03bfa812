"""Pictures for the side-by-side tab: the two timelines, the per-pass costs, the attention-cost
curves, the steps trade-off, and an image cut into patch tokens."""

from __future__ import annotations

import html

import numpy as np

from explainers.compare import AttentionCost, RaceResult, StepsTradeoff, patches
from explainers.plots import ACCENT, MAIN, figure

STATIC_ROWS = [  # (aspect, transformers, diffusion, which live row backs it up)
    ("Primary domain", "Language, code, structured sequences", "Images, video, audio", None),
    ("Core mechanism", "Self-attention over token sequences", "Iterative denoising of noise", "FLOPs per pass"),
    ("Output method", "Autoregressive: token by token", "Iterative refinement: many steps over the whole output",
     "What one pass produces"),
    ("Training data", "Text corpora, code (here: 35 Shakespeare plays)", "Image datasets (here: 5,000 MNIST digits)", None),
    ("Strengths", "Context understanding, reasoning, structured output", "High-quality visual generation", None),
    ("Limitations", "Attention cost grows with the square of the context; hallucination",
     "Slow generation (many passes); less control over fine details; prompt sensitivity", "Total time"),
    ("Key papers", "Attention Is All You Need (Vaswani et al., 2017)",
     "Denoising Diffusion Probabilistic Models (Ho et al., 2020); latent diffusion (Rombach et al., 2022)", None),
    ("Example systems", "GPT-4, Claude, Gemini, LLaMA", "DALL-E, Midjourney, Stable Diffusion", None),
]


def pass_view(r: RaceResult, i: int) -> tuple[str, np.ndarray, np.ndarray]:
    """Forward pass i (1-based) of both: the text so far (new token highlighted), and the
    diffusion model's current image and its clean-image prediction."""
    g = r.gpt[min(i, len(r.gpt)) - 1]
    prev = r.text_prompt if g.index == 1 else r.gpt[g.index - 2].output
    new = g.output[len(prev):] if g.output.startswith(prev) else ""
    done = "" if i <= len(r.gpt) else f" (finished after {len(r.gpt)} passes)"
    text_html = (f"<div class='race-text'><b>Transformer, pass {g.index}{done}</b><pre style='white-space:pre-wrap'>"
                 f"{html.escape(prev)}<mark>{html.escape(new)}</mark></pre></div>")
    u = r.unet[min(i, len(r.unet)) - 1]
    big = lambda img: np.kron(img, np.ones((8, 8)))  # noqa: E731 - nearest-neighbour 8x, so pixels stay visible
    return text_html, big(r.x_t[u.index]), big(u.output)


def timeline_plot(r: RaceResult):
    fig = figure(10, 3.4)
    a, b = fig.subplots(1, 2)
    for recs, color, name in ((r.gpt, MAIN, "transformer (tiny-gpt)"), (r.unet, ACCENT, "diffusion (tiny-ddpm)")):
        x = [p.index for p in recs]
        a.plot(x, np.cumsum([p.seconds for p in recs]), marker=".", color=color, label=name)
        b.plot(x, [p.flops / 1e6 for p in recs], marker=".", color=color, label=name)
    b.plot(range(1, len(r.gpt_no_cache_flops) + 1), np.array(r.gpt_no_cache_flops) / 1e6, ls="--", color=MAIN,
           label="transformer without KV cache")
    a.set(xlabel="forward pass", ylabel="cumulative time (s)", title="Time, measured live")
    b.set(xlabel="forward pass", ylabel="MFLOPs in this pass", title="FLOPs per pass (FlopCounterMode)", yscale="log")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def filmstrip(r: RaceResult, frames: int = 8):
    """Text growing vs image sharpening, at the same pass numbers."""
    n = max(len(r.gpt), len(r.unet))
    idx = np.unique(np.linspace(1, n, frames).round().astype(int))
    fig = figure(1.7 * len(idx), 2.9)
    axes = fig.subplots(1, len(idx), squeeze=False)[0]
    for ax, i in zip(axes, idx):
        ax.imshow(r.x_t[min(i, len(r.unet))], cmap="gray", vmin=0, vmax=1)
        words = r.gpt[min(i, len(r.gpt)) - 1].output[len(r.text_prompt):].replace("\n", " / ").strip()
        ax.set_title(f"pass {i}", fontsize=9)
        ax.set_xlabel("..." + words[-16:] if len(words) > 16 else words, fontsize=7, family="monospace")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Same pass numbers: the image x_t sharpens everywhere at once; below it, the last words the "
                 "transformer has written so far", fontsize=9)
    return fig


def summary_html(r: RaceResult) -> str:
    live = {row: (t, d) for row, t, d in r.summary}
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(t)}</td><td>{html.escape(d)}</td></tr>"
                   for k, t, d in r.summary)
    static = []
    for aspect, t, d, backing in STATIC_ROWS:
        measured = ""
        if backing and backing in live:
            lt, ld = live[backing]
            measured = f"<br><small>measured: {html.escape(lt)} | {html.escape(ld)}</small>"
        static.append(f"<tr><th>{aspect}</th><td>{html.escape(t)}</td><td>{html.escape(d)}{measured}</td></tr>")
    head = "<tr><th></th><th>Transformers</th><th>Diffusion models</th></tr>"
    return (f"<h4>Measured just now</h4><table class='compare'>{head}{rows}</table>"
            f"<h4>The two families in general (live figures beside the rows they back up)</h4>"
            f"<table class='compare'>{head}{''.join(static)}</table>")


def attention_cost_plot(c: AttentionCost):
    n = np.array(c.lengths, dtype=float)
    fig = figure(10, 3.6)
    a, b = fig.subplots(1, 2)
    a.loglog(n, c.attention_flops, "o-", color=ACCENT, label=f"attention (Q K^T, weights x V): slope {c.exponent:.2f}")
    a.loglog(n, c.other_flops, "s-", color=MAIN, label="everything else (projections, MLP, head)")
    fit = c.attention_flops[-1] * (n / n[-1]) ** 2
    a.loglog(n, fit, ":", color="gray", label="exactly quadratic (slope 2)")
    a.set(xlabel="sequence length (tokens)", ylabel="FLOPs per forward pass", title="FLOPs (exact count)")
    b.loglog(n, c.attention_seconds, "o-", color=ACCENT, label=f"attention time: slope {c.time_exponent:.2f}")
    b.loglog(n, c.total_seconds, "s-", color=MAIN, label="whole forward pass")
    b.set(xlabel="sequence length (tokens)", ylabel="seconds (median)", title="Time (measured, noisy)")
    for ax in (a, b):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle(f"{c.model}: doubling the length multiplies attention FLOPs by {2 ** c.exponent:.1f}", fontsize=10)
    return fig


def steps_plot(s: StepsTradeoff):
    fig = figure(2.2 * len(s.steps) + 3, 2.8)
    axes = fig.subplots(1, len(s.steps) + 1, gridspec_kw=dict(width_ratios=[1] * len(s.steps) + [1.8]))
    for ax, n, img, sec in zip(axes, s.steps, s.images, s.seconds):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{n} steps\n{sec:.2f} s", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[-1].plot(s.steps, s.seconds, "o-", color=ACCENT)
    axes[-1].set(xlabel="DDIM steps", ylabel="seconds", title="time grows linearly with steps")
    axes[-1].grid(alpha=0.3)
    return fig


def patches_plot(image: np.ndarray, patch: int = 4):
    seq = patches(image, patch)  # (N, p, p)
    side = image.shape[0] // patch
    fig = figure(11, 3.4)
    grid = fig.add_gridspec(2, 3, width_ratios=[1, 1, 3.2], height_ratios=[1, 1])
    ax = fig.add_subplot(grid[:, 0])
    ax.imshow(image, cmap="gray", vmin=0, vmax=1)
    for k in range(1, side):
        ax.axhline(k * patch - 0.5, color=ACCENT, lw=0.6)
        ax.axvline(k * patch - 0.5, color=ACCENT, lw=0.6)
    ax.set_title(f"{image.shape[0]}x{image.shape[1]} image, {patch}x{patch} patches", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    ax2 = fig.add_subplot(grid[:, 1])
    gap = np.full((side * (patch + 1), side * (patch + 1)), 0.4)  # patches pulled apart by a grey gap
    for k, pt in enumerate(seq):
        r, c = divmod(k, side)
        gap[r * (patch + 1): r * (patch + 1) + patch, c * (patch + 1): c * (patch + 1) + patch] = pt
    ax2.imshow(gap, cmap="gray", vmin=0, vmax=1)
    ax2.set_title(f"= {len(seq)} patch tokens", fontsize=9)
    ax2.set_xticks([])
    ax2.set_yticks([])
    ax3 = fig.add_subplot(grid[:, 2])
    strip = np.concatenate([np.pad(p, ((0, 0), (0, 1)), constant_values=0.4) for p in seq], axis=1)  # (p, N*(p+1))
    rows = 4
    per = int(np.ceil(len(seq) / rows)) * (patch + 1)
    strip = np.pad(strip, ((0, 0), (0, rows * per - strip.shape[1])), constant_values=0.4)
    ax3.imshow(np.concatenate([np.pad(strip[:, r * per:(r + 1) * per], ((0, 1), (0, 0)), constant_values=0.4)
                               for r in range(rows)]), cmap="gray", vmin=0, vmax=1)
    ax3.set_title("read left to right, row by row: a sequence a Transformer can attend over", fontsize=9)
    ax3.set_xticks([])
    ax3.set_yticks([])
    return fig
