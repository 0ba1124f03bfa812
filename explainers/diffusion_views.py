"""Pictures of diffusion: the noise schedule, a filmstrip of the reverse process, one step
side by side (x_t, predicted noise, predicted x0), the guidance panel, prompt-to-class bars,
the forward process under two schedules, and an animated GIF of a whole run."""

from __future__ import annotations

import tempfile
import threading
import uuid
from pathlib import Path

import numpy as np

from explainers import noising
from explainers.denoising import DIGIT_WORDS, MARGIN, NOISE_RANGE, THRESHOLD, DenoiseResult, step_info
from explainers.plots import ACCENT, MAIN, MUTED, figure

GIF_DIR = Path(tempfile.gettempdir()) / "explainer-gifs"
GIF_KEEP = 16  # older GIFs are deleted: the folder stays bounded however long the server runs
GIF_MAX_FRAMES = 100
_gif_lock = threading.Lock()


def _show(ax, img: np.ndarray, title: str = "", cmap: str = "gray", **kw) -> None:
    """An (H, W, C) image in [0, 1] on an axis without ticks."""
    ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap=cmap, vmin=kw.pop("vmin", 0), vmax=kw.pop("vmax", 1),
              interpolation="nearest", **kw)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def schedule_plot(alphas_cumprod: np.ndarray, t: int | None = None, title: str = "Noise schedule"):
    """alpha-bar_t (signal left) and SNR_t = alpha-bar / (1 - alpha-bar) on a log axis, with
    a marker at step t."""
    ab = np.asarray(alphas_cumprod, dtype=np.float64)  # (T,)
    snr = ab / np.clip(1 - ab, 1e-12, None)
    steps = np.arange(len(ab))
    fig = figure(5.2, 3.3)
    ax = fig.add_subplot()
    ax.semilogy(steps, ab, color=MAIN, label="alpha-bar_t (share of the image left)")
    ax.semilogy(steps, snr, color=ACCENT, ls="--", label="SNR_t = alpha-bar / (1 - alpha-bar)")
    ax.axhline(1.0, color=MUTED, lw=0.8)
    if t is not None:
        ax.plot([t], [ab[t]], "o", color=MAIN, ms=8)
        ax.plot([t], [snr[t]], "o", color=ACCENT, ms=8)
        ax.axvline(t, color="#444", lw=0.8, ls=":")
        ax.set_title(f"{title}: t = {t}, alpha-bar = {ab[t]:.3g}, SNR = {snr[t]:.3g}", fontsize=10)
    else:
        ax.set_title(title, fontsize=10)
    ax.set_xlabel("timestep t (0 = clean, 999 = pure noise)")
    ax.set_ylabel("value (log scale)")
    ax.set_yticks([10.0 ** k for k in range(-4, 5, 2)], [f"{10.0 ** k:g}" for k in range(-4, 5, 2)])
    ax.minorticks_off()  # plain labels: log-axis mathtext labels made this plot 5x slower to draw
    ax.set_xlim(0, len(ab) - 1)
    ax.legend(fontsize=8, loc="lower left")
    return fig


def filmstrip(result: DenoiseResult, n: int = 10):
    """~n evenly spaced steps of the run: x_t on top, the predicted clean image below (one
    sample); for a batch, one row of x_t per sample."""
    idx = np.unique(np.linspace(0, result.steps, n).round().astype(int))
    rows = ([("x_t", b) for b in range(result.batch)] if result.batch > 1 else [("x_t", 0), ("x0_pred", 0)])
    fig = figure(1.25 * len(idx) + 0.8, 1.35 * len(rows) + 0.5)
    axes = fig.subplots(len(rows), len(idx), squeeze=False)
    for r, (name, b) in enumerate(rows):
        frames = result.images(name, b)
        for c, i in enumerate(idx):
            j = min(i, len(frames) - 1)
            title = (f"step {i}\nt={result.timesteps[min(i, result.steps - 1)]}" if i < result.steps
                     else f"step {i}\ndone") if r == 0 else ""
            _show(axes[r, c], frames[j], title)
        label = {"x_t": "x_t", "x0_pred": "predicted x0"}[name] + (f" #{b}" if result.batch > 1 else "")
        axes[r, 0].set_ylabel(label, fontsize=9)
    fig.suptitle(f"{result.model}, {result.scheduler.upper()} {result.steps} steps: from noise (left) to image (right)",
                 fontsize=10)
    return fig


def step_view(result: DenoiseResult, step: int, sample: int = 0):
    """One step side by side: the noisy input x_t, the noise the network sees in it, and the
    clean image that noise implies."""
    info = step_info(result, step)
    i = info["pred_index"]
    x_t = result.images("x_t", sample)[step]
    fig = figure(7.5, 2.9)
    axes = fig.subplots(1, 3)
    what = "final image x_0" if info["final"] else f"x_t (input, t = {info['t']})"
    _show(axes[0], x_t, what)
    last = " (last step)" if info["final"] else ""
    _show(axes[1], result.images("noise_pred", sample)[i], f"predicted noise{last}\n(grey = 0, +-{NOISE_RANGE:g} sigma)")
    _show(axes[2], result.images("x0_pred", sample)[i], f"predicted clean image x0{last}")
    fig.suptitle(f"step {step} of {result.steps}", fontsize=10)
    return fig


def guidance_panel(result: DenoiseResult, step: int, sample: int = 0):
    """Classifier-free guidance at one step: noise predicted without the label, with it,
    their difference (what the label adds) and the guided mix that was actually used."""
    info = step_info(result, step)
    i = info["pred_index"]
    fig = figure(8.5, 2.7)
    if not result.guided:
        ax = fig.add_subplot()
        ax.axis("off")
        why = ("no digit was chosen, so the run was unconditional" if result.label is None
               else f"guidance {result.guidance:g} needs only one prediction per step")
        ax.text(0.5, 0.5, f"No guidance panel: {why}.\nSet guidance above 1 with a digit prompt to compare "
                "the two predictions.", ha="center", va="center", fontsize=10, wrap=True)
        return fig
    axes = fig.subplots(1, 4)
    uncond = result.images("noise_uncond", sample)[i]
    cond = result.images("noise_cond", sample)[i]
    diff = (cond - uncond).mean(axis=-1) * 2 * NOISE_RANGE  # (H, W) back in noise units
    amp = max(1e-6, float(np.abs(diff).max()))
    _show(axes[0], uncond, "unconditional\n(label = none)")
    _show(axes[1], cond, f"conditional\n(label = {result.label})")
    axes[2].imshow(diff, cmap="PuOr", vmin=-amp, vmax=amp, interpolation="nearest")
    axes[2].set_xticks([])
    axes[2].set_yticks([])
    axes[2].set_title(f"what the label adds\n(orange -{amp:.2f} .. purple +{amp:.2f})", fontsize=9)
    _show(axes[3], result.images("noise_pred", sample)[i], f"guided: uncond +\n{result.guidance:g} x difference")
    fig.suptitle(f"Guidance at step {step} (t = {info['t']})", fontsize=10)
    return fig


def similarity_bars(prompt: str, label: int | None, similarities: np.ndarray | None):
    """Cosine similarity of the prompt to each digit class; the chosen class highlighted."""
    fig = figure(5.2, 2.8)
    ax = fig.add_subplot()
    if similarities is None:
        ax.axis("off")
        ax.text(0.5, 0.5, "No prompt matching for this run\n(empty prompt or an unconditional model).",
                ha="center", va="center", fontsize=10)
        return fig
    colors = [ACCENT if d == label else MAIN for d in range(10)]
    ax.bar(range(10), similarities, color=colors)
    ax.axhline(THRESHOLD, color="#444", ls="--", lw=0.8, label=f"threshold {THRESHOLD}")
    ax.set_xticks(range(10), [f"{d}\n{w}" for d, w in enumerate(DIGIT_WORDS)], fontsize=8)
    ax.set_ylim(min(0.0, float(similarities.min())), 1.05)
    ax.set_ylabel("cosine similarity")
    verdict = f"chose {label}" if label is not None else f"no clear digit (needs >= {THRESHOLD}, {MARGIN} ahead)"
    ax.set_title(f"{prompt[:40]!r} vs each digit: {verdict}", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    return fig


# ---- forward process ------------------------------------------------------------------------

def schedule_comparison(t: int | None = None):
    """alpha-bar_t of the linear and the cosine schedule, with markers at t."""
    fig = figure(5.2, 3.2)
    ax = fig.add_subplot()
    for name, color, ls in (("linear", MAIN, "-"), ("cosine", ACCENT, "--")):
        ab = noising.alphas_cumprod(name)
        ax.plot(np.arange(len(ab)), ab, color=color, ls=ls, label=f"{name}")
        if t is not None:
            ax.plot([t], [ab[t]], "o", color=color, ms=8)
    if t is not None:
        ax.axvline(t, color="#444", lw=0.8, ls=":")
    ax.set_xlabel("timestep t")
    ax.set_ylabel("alpha-bar_t (share of the image left)")
    ax.set_xlim(0, noising.T - 1)
    ax.set_ylim(0, 1.02)
    ax.set_title("Linear vs cosine schedule" + (f" at t = {t}" if t is not None else ""), fontsize=10)
    ax.legend(fontsize=8)
    return fig


def noising_side_by_side(image, t: int):
    """The clean image and x_t under both schedules at one t."""
    x0 = noising.load_image(image)  # (H, W, C)
    fig = figure(7.5, 2.5 * x0.shape[0] / x0.shape[1] + 0.7)
    axes = fig.subplots(1, 3)
    _show(axes[0], x0, "clean image x_0")
    for ax, name in zip(axes[1:], noising.SCHEDULES):
        x_t, ab = noising.noise_image(image, t, name)
        _show(ax, noising.to_display(x_t), f"{name}: x_t, t = {t}\nalpha-bar = {ab:.3g}")
    return fig


def noise_grid(image, steps: tuple[int, ...] = noising.GRID_STEPS):
    """x_t at several t (columns) for both schedules (rows), same noise throughout."""
    aspect = noising.load_image(image).shape[0] / noising.load_image(image).shape[1]
    fig = figure(1.3 * len(steps) + 0.8, 2 * 1.3 * aspect + 0.9)
    axes = fig.subplots(2, len(steps), squeeze=False)
    for r, name in enumerate(noising.SCHEDULES):
        for c, t in enumerate(steps):
            x_t, ab = noising.noise_image(image, t, name)
            _show(axes[r, c], noising.to_display(x_t), f"t={t}\nab={ab:.2g}" if r == 0 else f"ab={ab:.2g}")
        axes[r, 0].set_ylabel(name, fontsize=9)
    fig.suptitle("The forward process: the same image and noise, more noise to the right", fontsize=10)
    return fig


# ---- animation ------------------------------------------------------------------------------

def animation_gif(result: DenoiseResult, scale: int | None = None) -> str:
    """An animated GIF of the whole run (x_t | predicted x0, all samples in a row), written
    to a bounded temp folder; returns its path."""
    from PIL import Image

    h, w = result.x_t.shape[-3:-1]
    scale = scale or max(1, 128 // max(h, w))
    idx = np.unique(np.linspace(0, result.steps, min(GIF_MAX_FRAMES, result.steps + 1)).round().astype(int))
    frames = []
    for i in idx:
        tiles = []
        for b in range(result.batch):
            x0 = result.images("x0_pred", b)[min(i, result.steps - 1)]
            tiles.append(np.concatenate([result.images("x_t", b)[i], np.ones((h, 2, x0.shape[-1])), x0], axis=1))
        row = np.concatenate([np.concatenate([tile, np.ones((h, 4, tile.shape[-1]))], axis=1) for tile in tiles], axis=1)
        row = (row * 255).round().astype(np.uint8).repeat(scale, 0).repeat(scale, 1)  # (H*s, W*s, C)
        frames.append(Image.fromarray(row[..., 0] if row.shape[-1] == 1 else row).convert("P"))
    durations = [60] * (len(frames) - 1) + [1500]  # hold the final image
    with _gif_lock:
        GIF_DIR.mkdir(parents=True, exist_ok=True)
        old = sorted(GIF_DIR.glob("*.gif"), key=lambda p: p.stat().st_mtime)
        for p in old[: max(0, len(old) - GIF_KEEP + 1)]:
            p.unlink(missing_ok=True)
        path = GIF_DIR / f"denoise-{result.label if result.label is not None else 'any'}-{uuid.uuid4().hex[:8]}.gif"
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return str(path)
