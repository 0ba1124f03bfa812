"""Small matplotlib helpers shared by the explainers (no pyplot state: figures are plain
`Figure` objects, so nothing accumulates in a long-running server)."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

CMAP = "viridis"  # perceptually uniform and colour-blind safe
ACCENT = "#d55e00"  # Okabe-Ito vermillion
MAIN = "#0072b2"  # Okabe-Ito blue
MUTED = "#bbbbbb"


def figure(w: float = 6.0, h: float = 4.0, **kw) -> Figure:
    return Figure(figsize=(w, h), dpi=100, layout="constrained", **kw)


def to_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def to_image(fig: Figure) -> np.ndarray:
    """Render to an RGB uint8 array (H, W, 3)."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
