"""How often a Denoising prompt gets the digit it asks for: 40 phrasings x 10 digits that are not among
the class descriptions (`explainers.denoising.CLASS_TEMPLATES`), and 40 prompts that ask for no digit.

    python -m benchmarks.prompt_digits

Prints, for the embedding alone (`clear_match`) and for the page's rule (`prompt_to_label`: the named
digit first), the share of digit prompts that got their digit, got another digit, or got none, and
which off-topic prompts got a digit; writes benchmarks/results/prompt-digits-*.json.
"""

from __future__ import annotations

import json
import time

import numpy as np

from benchmarks.startup import ROOT
from explainers.denoising import DIGIT_WORDS, clear_match, prompt_to_label

PHRASINGS = [
    "{d}", "{W}", "draw me a {d}", "draw me a {w}", "please make a {w}", "the numeral {w}", "a sloppy {d}",
    "write {w}", "number {d} please", "a handwritten {d} in red", "an image of the digit {w}", "can you draw {w}?",
    "{w}!!", "a picture of a {d}", "digit: {d}", "generate a {w}", "a neat handwritten {w}",
    "a {d} written by a child", "a bold {d}", "hand-written {w}", "show a {d}", "I want the number {w}",
    "a thin {w}", "Paint a {d}", "the figure {d}", "a curly {w}", "a tiny {d}", "a {w} drawn with a pen",
    "big bold {w}", "{d} on paper", "handwriting of a {w}", "a messy {w}", "draw the number {w} please",
    "a {w} in ink", "sketch a {d}", "a crooked {d}", "make {d}", "could you write a {d}", "an mnist {d}",
    "a wobbly {w}",
]
OFF_TOPIC = [
    "a cat", "hello there", "draw me a sheep", "a handwritten letter A", "the alphabet", "a photo of a dog",
    "a red car", "the sea at night", "a tree", "a face", "an apple", "write your name", "a handwritten letter",
    "a circle", "a square", "the moon", "draw a house", "a smiley", "a star", "an arrow", "handwritten text",
    "a signature", "a bird", "nothing", "random noise", "the letter B", "a question mark", "a heart", "a flower",
    "a boat", "some digits", "a handwritten number", "numbers", "any digit", "the number ten", "a big number",
    "a 3 or a 5", "twelve", "pi", "the letter x",
]


def measure() -> dict:
    asks = [(t.format(d=d, w=w, W=w.upper()), d) for t in PHRASINGS for d, w in enumerate(DIGIT_WORDS)]
    res: dict = {"digit_prompts": len(asks), "off_topic_prompts": len(OFF_TOPIC)}
    for name, choose in (("embedding_alone", lambda p: clear_match(prompt_to_label(p)[1])),
                         ("page_rule", lambda p: prompt_to_label(p)[0])):
        got = np.array([-1 if (c := choose(p)) is None else c for p, _ in asks])
        want = np.array([d for _, d in asks])
        res[name] = dict(right=round(float((got == want).mean()), 3),
                         wrong_digit=round(float(((got != want) & (got >= 0)).mean()), 3),
                         none=round(float((got < 0).mean()), 3),
                         refused_examples=[p for (p, _), g in zip(asks, got) if g < 0][:8],
                         off_topic_given_a_digit={p: c for p in OFF_TOPIC if (c := choose(p)) is not None})
    return res


if __name__ == "__main__":
    res = measure()
    print(json.dumps(res, indent=1))
    out = ROOT / "benchmarks" / "results" / f"prompt-digits-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(res, indent=1))
    print("->", out.relative_to(ROOT))
