"""Write the Vision tab's example pictures (assets/examples/vision/): held-out digits and a mouse sketch.

    python -m training.write_vision_examples
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from models.digits import held_out_mask, mnist_digits

ROOT = Path(__file__).resolve().parent.parent


def write_examples(out=None) -> list:
    """The tab's example pictures: held-out digits (never trained on, 28x28) and a synthetic
    mouse sketch (dark strokes on a white 280x280 canvas, like the Sketchpad's)."""
    out = Path(out or ROOT / "assets" / "examples" / "vision")
    out.mkdir(parents=True, exist_ok=True)
    x, y = mnist_digits()
    held = held_out_mask(len(x))
    written = []
    for d in (2, 5, 8):
        i = int(np.flatnonzero(held & (y == d))[0])
        written.append(out / f"heldout-{d}.png")
        Image.fromarray((x[i] * 255).round().astype(np.uint8)).save(written[-1])
    canvas = Image.new("RGB", (280, 280), "white")
    pen = ImageDraw.Draw(canvas)
    for line in [((170, 40), (70, 170)), ((70, 170), (210, 170)), ((170, 40), (170, 250))]:  # a "4"
        pen.line(line, fill="black", width=18, joint="curve")
    written.append(out / "sketch-4.png")
    canvas.save(written[-1])
    return written


if __name__ == "__main__":
    print("\n".join(map(str, write_examples())))
