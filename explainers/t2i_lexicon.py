"""Size words tiny-t2i never learned, read through WordNet before the text encoder.

tiny-t2i's denoiser reads only minilm's vectors, and minilm puts many size words the captions never
used nearer the wrong size ('wee' 0.43 from the small words, 0.41 from the large ones; the model card
measures it), so the model alone follows them 40% of the time. The field's answer is to rewrite the
prompt before the image model reads it (DALL-E 3 has a language model do it). Here the rewriter is
WordNet (assets/lexicon/size_words.json, built by training/build_size_lexicon.py): a word no training
caption uses, whose first WordNet sense is 'small' or 'large' or a kind of them, is read as 'small' or
'large'. Every swap is returned, so the page can say what the model read instead of what was typed.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from models.text_image_data import training_vocabulary

LEXICON = Path(__file__).resolve().parent.parent / "assets" / "lexicon" / "size_words.json"
WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")


@functools.lru_cache(maxsize=1)
def size_meanings() -> dict[str, str]:
    """word -> 'small' or 'large', for every word of the lexicon."""
    meanings = json.loads(LEXICON.read_text())["meanings"]
    return {word: meaning for meaning, words in meanings.items() for word in words}


def known(word: str) -> bool:
    """A word the training captions use (a hyphenated word: each of its parts)."""
    vocab = training_vocabulary()
    return all(part in vocab for part in word.lower().split("-"))


def read_as(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The prompt the model reads, and each swap made: (typed word, the word read instead)."""
    meanings, swaps = size_meanings(), []

    def swap(m: re.Match) -> str:
        word = m.group(0)
        meaning = meanings.get(word.lower())
        if meaning is None or known(word):
            return word
        swaps.append((word, meaning))
        return meaning

    return WORD.sub(swap, text), tuple(dict.fromkeys(swaps))
