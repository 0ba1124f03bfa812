"""Size and colour words tiny-t2i never learned, read through WordNet before the text encoder.

tiny-t2i's denoiser reads only minilm's vectors, and minilm puts many words the captions never used
nearer the wrong meaning ('wee' 0.43 from the small words, 0.41 from the large ones; the model card
measures it), so the model alone follows unseen size words 40% of the time. The field's answer is to
rewrite the prompt before the image model reads it (DALL-E 3 has a language model do it). Here the
rewriter is WordNet (assets/lexicon/words.json, built by training/build_lexicon.py): a word no training
caption uses whose WordNet sense is 'small' or 'large' (or a kind of them), or one of the eight
colours (or a shade of it), is read as that trained word: 'wee' as 'small', 'crimson' as 'red'. Every
swap is returned, so the page can say what the model read instead of what was typed.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from models.text_image_data import training_vocabulary

LEXICON = Path(__file__).resolve().parent.parent / "assets" / "lexicon" / "words.json"
WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")
SIZES = ("small", "large")  # the lexicon's size meanings; the others are colours


@functools.lru_cache(maxsize=1)
def word_meanings() -> dict[str, str]:
    """word -> the trained word it is read as ('small', 'large' or one of the eight colours)."""
    meanings = json.loads(LEXICON.read_text())["meanings"]
    return {word: meaning for meaning, words in meanings.items() for word in words}


def known(word: str) -> bool:
    """A word the training captions use (a hyphenated word: each of its parts)."""
    vocab = training_vocabulary()
    return all(part in vocab for part in word.lower().split("-"))


def read_as(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The prompt the model reads, and each swap made: (typed word, the word read instead). Two words
    that the lexicon knows joined by a hyphen are read as one ('sky blue', 'king size', 'teeny weeny')."""
    meanings, swaps = word_meanings(), []

    def one(word: str) -> str | None:
        meaning = meanings.get(word.lower())
        if meaning is None or known(word):
            return None
        swaps.append((word, meaning))
        return meaning

    def single(word: str) -> str:  # a whole word, or else each part of a hyphenated one ('navy-tinted')
        whole = one(word)
        if whole is not None or "-" not in word:
            return whole or word
        return "-".join(one(part) or part for part in word.split("-"))

    words = list(WORD.finditer(text))
    out, at, i = [], 0, 0
    while i < len(words):
        m = words[i]
        out.append(text[at:m.start()])
        nxt = words[i + 1] if i + 1 < len(words) else None
        pair = f"{m.group(0)}-{nxt.group(0)}" if nxt is not None and text[m.end():nxt.start()] == " " else ""
        if pair and meanings.get(pair.lower()) and not known(pair):
            swaps.append((f"{m.group(0)} {nxt.group(0)}", meanings[pair.lower()]))
            out.append(meanings[pair.lower()])
            at, i = nxt.end(), i + 2
            continue
        out.append(single(m.group(0)))
        at, i = m.end(), i + 1
    out.append(text[at:])
    return "".join(out), tuple(dict.fromkeys(swaps))
