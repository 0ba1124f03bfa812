"""Small matplotlib helpers shared by the explainers (no pyplot state: figures are plain
`Figure` objects, so nothing accumulates in a long-running server)."""

from __future__ import annotations

from matplotlib.figure import Figure

CMAP = "viridis"  # perceptually uniform and colour-blind safe
MUTED = "#bbbbbb"


def figure(w: float = 6.0, h: float = 4.0, **kw) -> Figure:
    return Figure(figsize=(w, h), dpi=100, layout="constrained", **kw)

