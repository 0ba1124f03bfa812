"""Dates written by people, and their ISO 8601 form: the data of the date translator (tiny-dates).

Every date from 1900-01-01 to 2099-12-31 can be written in eight formats (weekday names are the
real ones); the translator learns to turn any of them into `YYYY-MM-DD`. Dates whose year ends
in 7 (1907, 1917, ..., 2097) are held out: never trained on, used to measure the model.

    render(date(2021, 3, 5), "dmy_name")   # '5 March 2021'
    render(date(2021, 3, 5), "mdy_slash")  # '03/05/2021'
    split_of(date(2017, 1, 1))             # 'held-out year'

Tokens are characters (`char_tokenizer()`, a `tokenizers` WordLevel model over single characters),
so every source token has a one-character span and the alignment a translator learns reads
directly off the input.
"""

from __future__ import annotations

import calendar
import random
from datetime import date, timedelta

FIRST, LAST = date(1900, 1, 1), date(2099, 12, 31)
MONTHS = tuple(calendar.month_name)[1:]  # English names, whatever the machine's locale is
MONTHS_SHORT = tuple(m[:3] for m in MONTHS)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FORMATS = {  # key -> an example (5 March 2021), in the order the page lists them
    "dmy_name": "5 March 2021",
    "mdy_name": "March 5, 2021",
    "ordinal": "5th of March 2021",
    "weekday": "Friday, 5 March 2021",
    "dmy_dots": "05.03.2021",
    "mdy_slash": "03/05/2021",
    "ymd_name": "2021, March 5",
    "dmy_short": "5 Mar 2021",
}
HELD_OUT_DIGIT = "7"  # years ending in this digit are never trained on
VALIDATION_EVERY = 23  # of the other dates, one day in 23 (by day number) is kept for validation and test
SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")
# every character a source or target may hold: the formats' own, plus lower and upper case letters
# (a learner types "5 march 2021" too)
ALPHABET = tuple(sorted(set(" ,./-0123456789") | set("abcdefghijklmnopqrstuvwxyz")
                        | set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")))
MAX_SOURCE_CHARS = 40  # the longest source it reads ("Wednesday, 29 September 2021" is 29)
TARGET_CHARS = 10  # YYYY-MM-DD


def ordinal(day: int) -> str:
    if 11 <= day % 100 <= 13:
        return f"{day}th"
    return str(day) + {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def pieces(d: date, fmt: str) -> list[tuple[str, str]]:
    """`d` in format `fmt` (a key of FORMATS) as (text, field) pieces; field is 'year', 'month',
    'day' or '' (separators, weekday names, ordinal suffixes)."""
    y, mo, dd = str(d.year), MONTHS[d.month - 1], str(d.day)
    if fmt == "dmy_name":
        return [(dd, "day"), (" ", ""), (mo, "month"), (" ", ""), (y, "year")]
    if fmt == "mdy_name":
        return [(mo, "month"), (" ", ""), (dd, "day"), (", ", ""), (y, "year")]
    if fmt == "ordinal":
        return [(dd, "day"), (ordinal(d.day)[len(dd):] + " of ", ""), (mo, "month"), (" ", ""), (y, "year")]
    if fmt == "weekday":
        return [(WEEKDAYS[d.weekday()] + ", ", ""), (dd, "day"), (" ", ""), (mo, "month"), (" ", ""), (y, "year")]
    if fmt == "dmy_dots":
        return [(f"{d.day:02d}", "day"), (".", ""), (f"{d.month:02d}", "month"), (".", ""), (y, "year")]
    if fmt == "mdy_slash":
        return [(f"{d.month:02d}", "month"), ("/", ""), (f"{d.day:02d}", "day"), ("/", ""), (y, "year")]
    if fmt == "ymd_name":
        return [(y, "year"), (", ", ""), (mo, "month"), (" ", ""), (dd, "day")]
    if fmt == "dmy_short":
        return [(dd, "day"), (" ", ""), (MONTHS_SHORT[d.month - 1], "month"), (" ", ""), (y, "year")]
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def render(d: date, fmt: str) -> str:
    """`d` written in format `fmt` (a key of FORMATS)."""
    return "".join(text for text, _ in pieces(d, fmt))


def field_spans(d: date, fmt: str) -> dict[str, tuple[int, int]]:
    """The (start, end) character span of the year, month and day in `render(d, fmt)`."""
    out, at = {}, 0
    for text, field in pieces(d, fmt):
        if field:
            out[field] = (at, at + len(text))
        at += len(text)
    return out


TARGET_FIELDS = ("year",) * 4 + ("",) + ("month",) * 2 + ("",) + ("day",) * 2  # the field of each ISO character


def iso(d: date) -> str:
    return d.isoformat()


def all_dates() -> list[date]:
    return [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]


def split_of(d: date) -> str:
    """'train', 'validation' (other dates kept out of training) or 'held-out year' (the year ends in 7)."""
    if str(d.year).endswith(HELD_OUT_DIGIT):
        return "held-out year"
    return "validation" if (d - FIRST).days % VALIDATION_EVERY == 0 else "train"


def vary_case(text: str, rng: random.Random) -> str:
    """Most examples as written; some lower or upper case, as people type them."""
    r = rng.random()
    if r < 0.08:
        return text.lower()
    if r < 0.11:
        return text.upper()
    return text


def examples(split: str, n: int, seed: int = 0, case: bool = True) -> list[tuple[str, str]]:
    """`n` (source, ISO target) pairs of one split, formats drawn uniformly."""
    rng = random.Random(seed)
    pool = [d for d in all_dates() if split_of(d) == split]
    keys = tuple(FORMATS)
    out = []
    for _ in range(n):
        d = rng.choice(pool)
        text = render(d, rng.choice(keys))
        out.append((vary_case(text, rng) if case else text, iso(d)))
    return out


def char_tokenizer():
    """A `transformers` fast tokenizer whose tokens are single characters (offsets = character spans).

    The source gets `</s>` appended (its span is (0, 0), as for every special token)."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIALS + ALPHABET)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", vocab["</s>"])])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
                                   unk_token="<unk>", model_max_length=MAX_SOURCE_CHARS + 1)
