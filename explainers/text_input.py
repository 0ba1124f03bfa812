"""Validation of text that comes from the page or the API (clients can bypass the page)."""

from __future__ import annotations

import unicodedata

from models.errors import InputError

MAX_CHARS = 10_000  # anything longer is refused before it reaches a tokenizer
EXAMPLE = "I sat on the bank of the river."  # what an empty text is told to look like, unless the field says
PLAY_EXAMPLE = "To be, or not to"  # ... for a text the tiny-gpt family continues
DIGIT_PROMPT_EXAMPLE = "a handwritten 5"  # ... for a prompt tiny-ddpm reads


def check_length(text: str, what: str, max_chars: int) -> None:
    """Refuse text longer than max_chars, saying by how much."""
    if len(text) > max_chars:
        raise InputError(f"The {what} is {len(text):,} characters long; the limit is {max_chars:,}. Shorten it.")


def clean_text(text: object, what: str = "text", max_chars: int = MAX_CHARS, example: str = EXAMPLE) -> str:
    """Strip control characters (keep newlines and tabs); refuse empty or huge input with a
    message that says what to change (an empty field is shown `example`, one of its own kind)."""
    if not isinstance(text, str):
        raise InputError(f"The {what} must be a string, not {type(text).__name__}.")
    check_length(text, what, max_chars)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    if not text.strip():
        raise InputError(f"The {what} is empty: type something like {example!r}.")
    return text


def shown(x: float) -> str:
    """A limit as a person reads it: 2147483647 -> '2,147,483,647', 0.01 -> '0.01'."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def check_number(value: object, name: str, lo: float, hi: float, integer: bool = False) -> float | int:
    """A finite number within [lo, hi], else a ValueError naming the range."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number between {shown(lo)} and {shown(hi)}, not {str(value)[:30]!r}.") from None
    if v != v or v in (float("inf"), float("-inf")) or not lo <= v <= hi:
        raise InputError(f"{name} must be between {shown(lo)} and {shown(hi)}; got {str(value)[:30]}.")
    if integer:
        if v != int(v):
            raise InputError(f"{name} must be a whole number between {shown(lo)} and {shown(hi)}; got {v:g}.")
        return int(v)
    return v
