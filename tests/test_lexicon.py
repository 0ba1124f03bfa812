"""The WordNet size lexicon: how it is built (a tiny made-up WordNet) and what the shipped one holds."""

from __future__ import annotations

import json

from explainers import t2i_lexicon
from training.build_size_lexicon import build, main

DATA = """  1 licence header lines start with two spaces
00000001 00 a 02 small 0 little 0 002 & 00000002 s 0000 & 00000003 s 0000 | limited in size
00000002 00 s 02 wee 0 teeny 0 001 & 00000001 a 0000 | very small
00000003 00 s 01 slim 0 001 & 00000001 a 0000 | small in width
00000004 00 a 02 large(a) 0 big 0 001 & 00000005 s 0000 | above average in size
00000005 00 s 02 jumbo 0 too_large 0 001 & 00000004 a 0000 | very large
00000006 00 a 01 thin 0 000 | of small thickness
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


def test_the_lexicon_keeps_words_whose_first_sense_is_small_or_large(tmp_path):
    """Heads and their satellites count; a word whose first sense is something else ('slim': thin) and a
    two-word lemma ('too_large') do not."""
    (tmp_path / "data.adj").write_text(DATA)
    (tmp_path / "index.adj").write_text(INDEX)
    (tmp_path / "LICENSE").write_text("WordNet licence")
    assert build(tmp_path)["meanings"] == {"small": ["little", "small", "teeny", "wee"], "large": ["big", "jumbo", "large"]}
    main(["--wordnet", str(tmp_path), "--out", str(tmp_path / "out")])
    written = json.loads((tmp_path / "out" / "size_words.json").read_text())
    assert written["meanings"]["large"] == ["big", "jumbo", "large"]
    assert (tmp_path / "out" / "WORDNET_LICENSE").read_text() == "WordNet licence"


def test_the_shipped_lexicon_reads_unknown_size_words_and_leaves_the_rest():
    meanings = t2i_lexicon.size_meanings()
    assert set(meanings.values()) == {"small", "large"} and len(meanings) > 80
    assert meanings["wee"] == "small" and meanings["jumbo"] == "large" and "deep" not in meanings
    assert t2i_lexicon.read_as("a Teeny-Weeny 7 at the top") == ("a small 7 at the top", (("Teeny-Weeny", "small"),))
    assert t2i_lexicon.read_as("a wee 3 and a wee 4") == ("a small 3 and a small 4", (("wee", "small"),))
    assert t2i_lexicon.read_as("a great big 8, deep red, on the left") == ("a great big 8, deep red, on the left", ())
    assert t2i_lexicon.read_as("") == ("", ())
