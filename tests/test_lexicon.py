"""The WordNet lexicon of sizes and colours: how it is built (a tiny made-up WordNet) and what the shipped one
holds."""

from __future__ import annotations

import json

from explainers import t2i_lexicon
from models.text_image_data import COLOUR_NAMES
from training import build_lexicon
from training.build_lexicon import build, main

DATA = """  1 licence header lines start with two spaces
00000001 00 a 02 small 0 little 0 002 & 00000002 s 0000 & 00000003 s 0000 | limited in size
00000002 00 s 02 wee 0 teeny 0 001 & 00000001 a 0000 | very small
00000003 00 s 01 slim 0 001 & 00000001 a 0000 | small in width
00000004 00 a 02 large(a) 0 big 0 001 & 00000005 s 0000 | above average in size
00000005 00 s 02 jumbo 0 too_large 0 001 & 00000004 a 0000 | very large
00000006 00 a 01 thin 0 000 | of small thickness
"""
NOUNS = """  1 licence header
00000010 00 n 01 chromatic_color 0 001 ~ 00000011 n 0000 | a hue
00000011 00 n 01 red 0 002 @ 00000010 n 0000 ~ 00000012 n 0000 | the colour of blood
00000012 00 n 01 crimson 0 001 @ 00000011 n 0000 | a deep red
00000013 00 n 01 achromatic_color 0 001 ~ 00000014 n 0000 | no hue
00000014 00 n 02 white 0 ivory 0 001 @ 00000013 n 0000 | the colour of snow
00000015 00 n 01 red 0 000 | a radical (listed before the colour)
00000016 00 n 01 navy 0 000 | a fleet (no colour sense here)
00000017 00 n 01 ivory 0 000 | the tusks of elephants
"""
NOUN_INDEX = """  1 licence header
achromatic_color n 1 1 ~ 1 0 00000013
chromatic_color n 1 1 ~ 1 0 00000010
crimson n 1 1 @ 1 0 00000012
ivory n 2 1 @ 2 0 00000017 00000014
navy n 1 0 1 0 00000016
red n 2 1 @ 2 0 00000015 00000011
white n 1 1 @ 1 0 00000014
"""
INDEX = """  1 licence header
big a 1 1 & 1 0 00000004
jumbo a 1 1 & 1 0 00000005
large a 1 1 & 1 0 00000004
little a 1 1 & 1 0 00000001
slim a 2 1 & 2 0 00000006 00000003
small a 1 1 & 1 0 00000001
teeny a 1 1 & 1 0 00000002
too_large a 1 1 & 1 0 00000005
wee a 1 1 & 1 0 00000002
"""


def test_the_lexicon_keeps_sizes_by_first_sense_and_colours_by_any_sense(tmp_path, monkeypatch):
    """Sizes: heads and their satellites count; a word whose first sense is something else ('slim': thin)
    and a two-word lemma ('too_large') do not. Colours: a word with any sense at or under the colour's own
    colour sense ('ivory', second sense), not one with none ('navy' here)."""
    (tmp_path / "data.adj").write_text(DATA)
    (tmp_path / "index.adj").write_text(INDEX)
    (tmp_path / "data.noun").write_text(NOUNS)
    (tmp_path / "index.noun").write_text(NOUN_INDEX)
    (tmp_path / "LICENSE").write_text("WordNet licence")
    assert build(tmp_path, colours=("red", "white"))["meanings"] == {
        "small": ["little", "small", "teeny", "wee"], "large": ["big", "jumbo", "large"],
        "red": ["crimson", "red"], "white": ["ivory", "white"]}
    monkeypatch.setattr(build_lexicon, "COLOURS", ("red", "white"))
    main(["--wordnet", str(tmp_path), "--out", str(tmp_path / "out")])
    written = json.loads((tmp_path / "out" / "words.json").read_text())
    assert written["meanings"]["white"] == ["ivory", "white"] and "colours" in written["rules"]
    assert (tmp_path / "out" / "WORDNET_LICENSE").read_text() == "WordNet licence"



def test_the_shipped_lexicon_reads_unknown_size_and_colour_words_and_leaves_the_rest():
    meanings = t2i_lexicon.word_meanings()
    assert set(meanings.values()) == {"small", "large", *COLOUR_NAMES} and len(meanings) > 180
    assert meanings["crimson"] == "red" and meanings["navy"] == "blue" and meanings["ivory"] == "white"
    assert t2i_lexicon.read_as("a crimson 3 on a navy-tinted, IVORY ground") == (
        "a red 3 on a blue-tinted, white ground", (("crimson", "red"), ("navy", "blue"), ("IVORY", "white")))
    assert meanings["wee"] == "small" and meanings["jumbo"] == "large" and "deep" not in meanings
    assert t2i_lexicon.read_as("a Teeny-Weeny 7 at the top") == ("a small 7 at the top", (("Teeny-Weeny", "small"),))
    assert t2i_lexicon.read_as("a wee 3 and a wee 4") == ("a small 3 and a small 4", (("wee", "small"),))
    assert t2i_lexicon.read_as("a great big 8, deep red, on the left") == ("a great big 8, deep red, on the left", ())
    assert t2i_lexicon.read_as("") == ("", ())
    assert t2i_lexicon.read_as("a king size 7, sky blue") == ("a large 7, blue", (("king size", "large"), ("sky blue", "blue")))
