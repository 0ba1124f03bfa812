"""Text to image: the settings a run takes (limits, defaults, validation) and the result it returns.

One home for both text-to-image computations: the embedded latent DiT (explainers/text_to_image.py)
and Hub Stable Diffusion (explainers/text_to_image_sd.py) validate with `validate` and return a
`TextToImageResult`; the tab builds its sliders from the same constants.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import models
from explainers.text_input import check_length, check_number
from models.errors import InputError

DEFAULT_MODEL = "tiny-t2i"
DEFAULT_STEPS = 25
DEFAULT_GUIDANCE = 3.0  # best "all three right" in eval.json (3: 70.0%, 4: 69.5%, 5: 65.5%) and the best digit colour
DEFAULT_IMAGES = 4  # what the tab shows: seeds in a row
STEP_RANGE = (2, 100)
MAX_GUIDANCE = 15.0
MAX_SEED = 2**31 - 1
MAX_IMAGES = 8
MAX_PROMPT_CHARS = 500
SPECIAL = ("[CLS]", "[SEP]", "[PAD]")
MAX_EXCITED = 3  # words Attend-and-Excite may raise at once


@dataclass(frozen=True)
class Settings:
    """A validated text-to-image request: hashable, so identical requests share one run."""

    prompt: str = ""
    negative_prompt: str = ""
    steps: int = DEFAULT_STEPS
    guidance: float = DEFAULT_GUIDANCE
    seed: int = 0
    n_images: int = 1
    model: str = DEFAULT_MODEL
    excite: tuple[str, ...] = ()  # prompt words raised by Attend-and-Excite (lower case)

    @property
    def embedded(self) -> bool:
        return models.spec(self.model).source == "embedded"


def check_prompt(text: object, what: str = "prompt") -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise InputError(f"The {what} must be text, not {type(text).__name__}.")
    check_length(text, what, MAX_PROMPT_CHARS)
    return " ".join(text.split())


def check_model(model: object) -> str:
    if not isinstance(model, str) or models.spec(model).family != "text-to-image":
        raise InputError(f"{str(model)[:40]!r} is not a text-to-image model.")
    return model


def validate(prompt: object = "", steps: object = DEFAULT_STEPS, guidance: object = DEFAULT_GUIDANCE, seed: object = 0,
             negative_prompt: object = "", model: object = DEFAULT_MODEL, n_images: object = 1,
             excite: object = None) -> Settings:
    """Raw values from the page or the API -> Settings, or an InputError saying what to change."""
    prompt, model = check_prompt(prompt), check_model(model)
    return Settings(prompt=prompt, negative_prompt=check_prompt(negative_prompt, "negative prompt"),
                    steps=check_number(steps, "Steps", *STEP_RANGE, integer=True),
                    guidance=float(check_number(guidance, "Guidance", 0, MAX_GUIDANCE)),
                    seed=check_number(seed, "Seed", 0, MAX_SEED, integer=True),
                    n_images=check_number(n_images, "Images", 1, MAX_IMAGES, integer=True), model=model,
                    excite=check_excite(excite, prompt, model))


def prompt_words(prompt: str) -> list[str]:
    """The words of a prompt, lower case, as a student would name them (letters and digits)."""
    return re.findall(r"[a-z0-9]+", prompt.lower())


def check_excite(excite: object, prompt: str, model: str) -> tuple[str, ...]:
    """None, a list of words or one comma-separated string -> the words to excite, each a word of the prompt."""
    if excite is None or excite == "" or excite == []:
        return ()
    if isinstance(excite, str):
        excite = excite.split(",")
    if not isinstance(excite, (list, tuple)) or not all(isinstance(w, str) for w in excite):
        raise InputError("excite must be a list of words of the prompt, e.g. ['blue'].")
    words = tuple(dict.fromkeys(w.strip().lower() for w in excite if w.strip()))
    if not words:
        return ()
    if models.spec(model).source != "embedded":
        raise InputError(f"Attend-and-Excite works with the embedded model ({DEFAULT_MODEL}), not {model!r}.")
    if len(words) > MAX_EXCITED:
        raise InputError(f"Excite at most {MAX_EXCITED} words at once, not {len(words)}.")
    missing = [w for w in words if w not in prompt_words(prompt)]
    if missing:
        raise InputError(f"{', '.join(repr(w) for w in missing)} is not a word of the prompt; excite one of its own "
                         f"words ({', '.join(dict.fromkeys(prompt_words(prompt))) or 'the prompt is empty'}).")
    return words


def check_second_prompt(text: object, example: str) -> str:
    """The second prompt of a comparison: required."""
    text = check_prompt(text, "second prompt")
    if not text:
        raise InputError(f"Type the second prompt, e.g. {example!r}.")
    return text


@dataclass(frozen=True)
class TextToImageResult:
    """One run. Per-step arrays describe the first image (seed `seed`); `images` holds all."""

    model: str
    prompt: str
    negative_prompt: str
    steps: int
    guidance: float
    seed: int
    tokens: list[str]  # (L,) the prompt's tokens, special ones included
    truncated: bool
    rare_words: list[str]  # words of the prompt no training caption used
    image: np.ndarray  # (H, W, 3) in [0, 1]: the final decoded image of the first seed
    images: np.ndarray  # (n_images, H, W, 3): seeds seed, seed + 1, ...
    latents: np.ndarray  # (steps + 1, C, h, w): x_T (pure noise) first, the final latent last
    decoded: np.ndarray  # (steps + 1, H, W, 3): each latent through the preview decoder (the last: the final image)
    x0_decoded: np.ndarray  # (steps, H, W, 3): the clean image predicted at each step (full decoder; Hub SD: TAESD)
    x0_uncond: np.ndarray  # (steps, H, W, 3): ... from the unconditional (or negative-prompt) prediction (preview)
    x0_cond: np.ndarray  # (steps, H, W, 3): ... from the conditional prediction (preview)
    cross_attention: np.ndarray  # (steps, L, h, w): mean over layers and heads; sums to 1 over L
    cross_attention_heads: np.ndarray  # (steps, layers, heads, L, h, w) float16
    self_attention: np.ndarray  # (steps, h*w, h*w): mean over layers and heads; rows sum to 1
    timesteps: np.ndarray  # (steps,)
    seconds: float
    excite: tuple[str, ...] = ()  # the words Attend-and-Excite raised in this run (none: a plain run)
    rare_nearest: tuple[tuple[str, str, float], ...] = ()  # (rare word, nearest learned word, cosine similarity)
    read_as: tuple[tuple[str, str], ...] = ()  # (typed word, the word read in its place through WordNet), both prompts


def words_of(tokens: list[str], skip_special: bool = True) -> list[tuple[str, list[int]]]:
    """Word pieces ('pur', '##ple') merged into the words the model read: [(word, token indices)]."""
    groups: list[tuple[str, list[int]]] = []
    for i, tok in enumerate(tokens):
        if tok.startswith("##") and groups:
            groups[-1] = (groups[-1][0] + tok[2:], groups[-1][1] + [i])
        elif not (skip_special and tok in SPECIAL):
            groups.append((tok, [i]))
    return groups


def word_maps(tokens: list[str], maps: np.ndarray, skip_special: bool = True) -> tuple[list[str], np.ndarray]:
    """Merge word pieces into words: a word's map is the mean of its pieces' (DAAM).
    maps: (..., L, h, w) -> (words, (..., W, h, w))."""
    groups = words_of(tokens, skip_special)
    if not groups:
        return [], maps[..., :0, :, :]
    return [w for w, _ in groups], np.stack([maps[..., idx, :, :].mean(axis=-3) for _, idx in groups], axis=-3)


WORD_MAPS_TABLE = "word_maps.json"  # measured by training/measure_word_maps.py, shipped with the model
_KIND_PHRASES = {"digit": "the digit word", "digit colour": "the digit's colour word",
                 "background colour": "the background's colour word", "background": "'background'",
                 "a": "'a'", "on": "'on'"}


def shipped_table(model: str, name: str) -> dict | None:
    """A measurement shipped beside an embedded model's weights (a JSON file), or None (a Hub model, or not
    measured)."""
    spec = models.spec(model)
    path = Path(spec.path) / name if spec.source == "embedded" else None
    return json.loads(path.read_text()) if path is not None and path.is_file() else None


@functools.lru_cache(maxsize=4)
def word_map_table(model: str = DEFAULT_MODEL) -> dict | None:
    """The shipped measurement of where each kind of word is read, or None (a Hub model, or not measured)."""
    return shipped_table(model, WORD_MAPS_TABLE)


def word_map_finding(model: str = DEFAULT_MODEL) -> str:
    """What the word maps show, in words, written from the measured table (empty when there is none)."""
    t = word_map_table(model)
    if not t:
        return ""
    r = t["ratio"]
    parts = [f"{_KIND_PHRASES[k]} {v['median']:.1f}x" for k, v in r.items() if k in _KIND_PHRASES]
    text = (f"Measured over {t['prompts']} prompts like '{t['template'].format(f='red', d=3, b='blue')}' (per unit of "
            f"area, attention on the digit's strokes / on the background, median): {', '.join(parts)}. Above 1 a "
            "word is read more on the digit, below 1 more on the background.")
    bg = r.get("background colour")
    if bg and bg["median"] > 1:
        text += (f" The background's colour word is read more on the digit than on the background its colour "
                 f"fills ({bg['median']:.1f}x; in {bg['share_above_1']:.0%} of the prompts): a map shows where a "
                 "word is read, not where its colour lands.")
    return text


@functools.lru_cache(maxsize=4)
def unseen_word_evidence(model: str = DEFAULT_MODEL) -> str:
    """What the model card measured about words it never trained on, in one sentence written from the
    shipped evaluation (eval.json: each held-out size word's similarity to the nearest trained word for its
    size, and how often the picture had that size); empty when not measured."""
    lay = (shipped_table(model, "eval.json") or {}).get("layout", {})
    sim, hits = lay.get("size_word_similarity"), lay.get("held_out_words", {}).get("by_held_out_phrase", {})
    if not sim or not hits:
        return ""
    rows = sorted((max(s.values()), w, *hits[w]) for w, s in sim.items() if w in hits)  # by similarity
    parts = ", ".join(f"'{w}' ({near:.2f}) {right} of {asked}" for near, w, right, asked in rows)
    rates = [right / asked for _, _, right, asked in rows]
    trend = (": the closer a word is to a learned one, the more often it was followed"
             if all(a <= b for a, b in zip(rates, rates[1:])) else "")
    return ("Measured on size words it never trained on (similarity to the nearest learned size word; pictures "
            f"of the asked size): {parts}{trend}.")


READ_AS_TABLE = "eval_read_as.json"  # training/eval_tiny_t2i.py --read-as: unseen size words, alone and read as


@functools.lru_cache(maxsize=4)
def read_as_evidence(model: str = DEFAULT_MODEL) -> str:
    """What the shipped evaluation measured for size words no training caption uses, the model alone and
    read through the lexicon (one sentence), or empty when not measured."""
    table = (shipped_table(model, READ_AS_TABLE) or {}).get("read_as", {})
    rows = [table[k] for k in ("lexicon", "outside_lexicon") if k in table]
    if len(rows) < 2:
        return ""
    (lex, out) = rows
    pct = lambda x: f"{100 * x:.0f}%"  # noqa: E731
    text = (f"Measured on {lex['read_as']['n']} prompts with the dictionary's size words: the asked size "
            f"{pct(lex['read_as']['size'])} of the time read this way, {pct(lex['model_alone']['size'])} from the "
            f"words as typed; words the dictionary does not list (such as '{out['words']['small'][0]}' or "
            f"'{out['words']['large'][0]}') are read as typed: {pct(out['read_as']['size'])}.")
    if col := table.get("colours"):
        a, r = col["model_alone"], col["read_as"]
        text += (f" On {r['n']} prompts with its colour words, the digit's colour came out right {pct(r['fg'])} and "
                 f"the background's {pct(r['bg'])} of the time read this way ({pct(a['fg'])} and {pct(a['bg'])} "
                 "as typed).")
    return text
