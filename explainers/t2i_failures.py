"""How the diffusion family fails, measured on tiny-t2i, and one failure fixed through cross-attention.

- `paraphrases(digit, colour, background, seed)`: one meaning said PARAPHRASES ways, the same seed for
  each: what the readers see in each picture, how often the pictures agree with each other and with
  the meaning (prompt sensitivity).
- `artifacts(digit, colour, background, guidance, seeds)`: many seeds of one prompt, each picture
  scored by measurement, not by eye: tiny-vit's confidence in the asked digit (read on the stroke,
  cropped as MNIST is) and the distance of the measured colours from the asked ones; a picture is an
  artifact when the ViT gives the digit less than VIT_OK or a colour is off by more than COLOUR_OK.
- `out_of_world(prompt, seed)`: what it draws for prompts outside its training (two digits, a cat).
- `excite_compare(prompt, words, seed)`: Attend-and-Excite (models/t2i_sampler.py) on the neglected
  word: the plain run and the excited run from the same noise, each word's peak attention over the
  first half of the steps, the readings and the time.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import models
from explainers import text_to_image as t2i
from explainers import vision
from explainers.memory import memoize
from explainers.t2i_spec import (
    DEFAULT_GUIDANCE,
    DEFAULT_MODEL,
    DEFAULT_STEPS,
    MAX_GUIDANCE,
    MAX_SEED,
    prompt_words,
    words_of,
)
from explainers.text_input import check_number
from models.digits import DIGIT_WORDS
from models.errors import InputError
from models.t2i_reader import NAMES, Reading, read, read_image
from models.t2i_sampler import EXCITE_FRACTION, peak_attention
from models.text_image_data import EVAL_TEMPLATES, TEMPLATES

PARAPHRASES = (*TEMPLATES[:4], *EVAL_TEMPLATES)  # four phrasings it was trained on, four it never saw
VIT_OK = 0.5  # below: the digit is broken or a different one
COLOUR_OK = 0.25  # RGB distance; two training colours are at least 0.5 apart
MAX_ARTIFACT_SEEDS = 16
OUT_OF_WORLD = ("two digits, a 3 and a 4", "a cat", "a red apple on a table", "the letter A in blue on yellow",
                "a 12 on a white background")
MEASURED = Path(models.spec(DEFAULT_MODEL).path) / "failures.json"  # training/eval_t2i_failures.py


def check_meaning(digit, colour, background) -> tuple[int, str, str]:
    d = check_number(digit, "digit", 0, 9, integer=True)
    for what, c in (("colour", colour), ("background", background)):
        if c not in NAMES:
            raise InputError(f"The {what} must be one of {', '.join(NAMES)}, not {str(c)[:20]!r}.")
    if colour == background:
        raise InputError(f"The digit and the background are both {colour}: pick two colours.")
    return d, colour, background


def draw(prompts: list[str], seeds: list[int], guidance: float = DEFAULT_GUIDANCE, steps: int = DEFAULT_STEPS) -> np.ndarray:
    """One picture per (prompt, seed), all in one batch, nothing recorded: (N, H, W, 3)."""
    bundle = models.load(DEFAULT_MODEL)
    enc = [t2i.encode_prompt(p) for p in prompts]
    empty = t2i.encode_prompt("")
    n = len(prompts)
    uncond = (empty.states.expand(n, -1, -1), torch.ones(n, empty.states.shape[1]))
    out = t2i.sample(bundle, t2i.pad_prompts(enc), uncond, t2i.start_noise(bundle, seeds), steps, guidance)
    return t2i.decode(bundle, out["final"])


def vit_confidence(r: Reading, digit: int) -> float:
    """tiny-vit's probability for `digit` on the picture's stroke (0 when there is no stroke to read)."""
    try:
        return float(vision.classify(r.stroke, centre=False).probs[digit])
    except InputError:
        return 0.0


@dataclass(frozen=True)
class Paraphrases:
    meaning: tuple[int, str, str]
    seed: int
    prompts: tuple[str, ...]
    images: np.ndarray  # (P, H, W, 3)
    readings: tuple[tuple[int, str, str], ...]
    agreement: float  # share of the pictures that agree with the most common reading
    right: float  # share that show the meaning asked


def paraphrases(digit, colour, background, seed=0) -> Paraphrases:
    """One meaning, PARAPHRASES ways, the same seed (see the module docstring)."""
    return _paraphrases(*check_meaning(digit, colour, background), check_number(seed, "seed", 0, MAX_SEED, integer=True))


@memoize(maxsize=16)
def _paraphrases(digit: int, colour: str, background: str, seed: int) -> Paraphrases:
    prompts = tuple(t.format(d=digit, f=colour, b=background) for t in PARAPHRASES)
    images = draw(list(prompts), [seed] * len(prompts))
    readings = tuple((r.digit, r.digit_colour, r.background) for r in map(read, images))
    common = max(set(readings), key=readings.count)
    return Paraphrases((digit, colour, background), seed, prompts, images, readings,
                       readings.count(common) / len(readings), readings.count((digit, colour, background)) / len(readings))


@dataclass(frozen=True)
class Artifacts:
    prompt: str
    meaning: tuple[int, str, str]
    guidance: float
    seeds: tuple[int, ...]
    images: np.ndarray  # (N, H, W, 3)
    vit: np.ndarray  # (N,) tiny-vit's confidence in the asked digit
    colour_distance: np.ndarray  # (N,)
    artifact: np.ndarray  # (N,) bool

    @property
    def rate(self) -> float:
        return float(self.artifact.mean())

    def worst(self, k: int = 4) -> list[int]:
        """Indices of the k worst pictures: lowest ViT confidence, then the largest colour error."""
        return sorted(range(len(self.seeds)), key=lambda i: (self.vit[i] - self.colour_distance[i]))[:k]


def artifacts(digit, colour, background, guidance=DEFAULT_GUIDANCE, seeds=12) -> Artifacts:
    d, c, b = check_meaning(digit, colour, background)
    g = float(check_number(guidance, "guidance", 0, MAX_GUIDANCE))
    n = check_number(seeds, "seeds", 2, MAX_ARTIFACT_SEEDS, integer=True)
    return _artifacts(d, c, b, g, n)


@memoize(maxsize=16)
def _artifacts(digit: int, colour: str, background: str, guidance: float, n: int) -> Artifacts:
    prompt = TEMPLATES[1].format(d=digit, f=colour, b=background)
    seeds = tuple(range(n))
    images = draw([prompt] * n, list(seeds), guidance)
    readings = [read(im) for im in images]
    vit = np.array([vit_confidence(r, digit) for r in readings])
    dist = np.array([r.colour_distance(colour, background) for r in readings])
    return Artifacts(prompt, (digit, colour, background), guidance, seeds, images, vit, dist,
                     (vit < VIT_OK) | (dist > COLOUR_OK))


@dataclass(frozen=True)
class OutOfWorld:
    prompt: str
    seed: int
    images: np.ndarray  # (4, H, W, 3), seeds seed..seed+3
    readings: tuple[tuple[int, str, str], ...]
    unknown: tuple[str, ...]  # words no training caption uses


@memoize(maxsize=16)
def _out_of_world(prompt: str, seed: int) -> OutOfWorld:
    images = draw([prompt] * 4, [seed + i for i in range(4)])
    tokens = t2i.encode_prompt(prompt).tokens
    return OutOfWorld(prompt, seed, images, tuple(read_image(im) for im in images), tuple(t2i.rare_words(tokens)))


def out_of_world(prompt, seed=0) -> OutOfWorld:
    prompt = t2i.check_prompt(prompt)
    if not prompt:
        raise InputError("Type a prompt, e.g. 'a cat'.")
    return _out_of_world(prompt, check_number(seed, "seed", 0, MAX_SEED, integer=True))


# ---- Attend-and-Excite ------------------------------------------------------------------------

def subject_words(prompt: str) -> list[str]:
    """The words of a prompt that name what the picture should show: a digit (9 or nine) or a colour."""
    keep = set(NAMES) | set(DIGIT_WORDS) | {str(d) for d in range(10)}
    return [w for w in dict.fromkeys(prompt_words(prompt)) if w in keep]


def word_peaks(r, words: list[str]) -> np.ndarray:
    """(words,) each word's peak attention (A&E's measure, models.t2i_sampler.peak_attention) averaged over
    the excited share of the steps, from the run's own recorded cross-attention."""
    groups = {w.lower(): idx for w, idx in words_of(r.tokens)}
    cross = torch.tensor(r.cross_attention)  # (steps, L, h, w)
    k = max(1, int(round(r.steps * EXCITE_FRACTION)))
    c = cross[:k].flatten(2).transpose(1, 2)  # (k, queries, L)
    return peak_attention(c, torch.ones(k, c.shape[-1]), [groups[w] for w in words]).mean(0).numpy()


@dataclass(frozen=True)
class ExciteComparison:
    prompt: str
    seed: int
    words: tuple[str, ...]  # the subject words of the prompt
    excited: tuple[str, ...]  # the ones raised
    plain: object  # TextToImageResult
    excite: object  # TextToImageResult
    peaks_plain: np.ndarray  # (words,)
    peaks_excited: np.ndarray  # (words,)
    reading_plain: tuple[int, str, str]
    reading_excited: tuple[int, str, str]
    seconds_plain: float
    seconds_excited: float


def neglected(prompt: str, seed: int) -> str:
    """The subject word the plain run attends to least (A&E's 'neglected' token)."""
    words = subject_words(prompt)
    if not words:
        raise InputError("The prompt names no digit or colour to excite; try 'a red 3 on a blue background'.")
    plain = t2i.generate(prompt, seed=seed)
    return words[int(np.argmin(word_peaks(plain, words)))]


def excite_compare(prompt, words=None, seed=0) -> ExciteComparison:
    """Plain vs excited from the same noise; words None or empty: the neglected subject word."""
    prompt = t2i.check_prompt(prompt)
    seed = check_number(seed, "seed", 0, MAX_SEED, integer=True)
    s = t2i.validate(prompt, seed=seed, excite=words)  # the words checked against the prompt
    excited = s.excite or (neglected(prompt, seed),)
    return _excite_compare(prompt, excited, seed)


@memoize(maxsize=16, gate=False)  # the two runs inside take their own compute slots
def _excite_compare(prompt: str, excited: tuple[str, ...], seed: int) -> ExciteComparison:
    plain = t2i.generate(prompt, seed=seed)
    ex = t2i.generate(prompt, seed=seed, excite=list(excited))
    words = tuple(dict.fromkeys([*subject_words(prompt), *excited]))
    return ExciteComparison(prompt, seed, words, excited, plain, ex, word_peaks(plain, list(words)),
                            word_peaks(ex, list(words)), read_image(plain.image), read_image(ex.image),
                            plain.seconds, ex.seconds)


@functools.lru_cache(maxsize=1)
def measured() -> dict:
    """The shipped measurements (training/eval_t2i_failures.py), or {} when not measured."""
    return json.loads(MEASURED.read_text()) if MEASURED.exists() else {}


def lesson_example() -> tuple[str, int]:
    """(prompt, seed): the first of the measured failing prompts (training/eval_t2i_failures.py, phrased in a
    way training never used) whose plain picture was wrong and whose excited one was right; the page
    computes what exciting does to it. Before anything is measured: a prompt of that kind."""
    rows = measured().get("attend_and_excite", {}).get("rows", [])
    fixed = [r for r in rows if r["kind"] == "failing" and r["right_excited"]]
    return (fixed[0]["prompt"], int(fixed[0]["seed"])) if fixed else ("depict 1 in a blue hue, encircled by black", 5000)


LESSON_PROMPT, LESSON_SEED = lesson_example()
