"""Validation of text that comes from the page or the API (clients can bypass the page)."""

from __future__ import annotations

import unicodedata

from models.errors import InputError

MAX_CHARS = 10_000  # anything longer is refused before it reaches a tokenizer


def clean_text(text: object, what: str = "text", max_chars: int = MAX_CHARS) -> str:
    """Strip control characters (keep newlines and tabs); refuse empty or huge input with a
    message that says what to change."""
    if not isinstance(text, str):
        raise InputError(f"The {what} must be a string, not {type(text).__name__}.")
    if len(text) > max_chars:
        raise InputError(f"The {what} is {len(text):,} characters long; the limit is {max_chars:,}. "
                         "Please shorten it.")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    if not text.strip():
        raise InputError(f"The {what} is empty: type a sentence (for example: I sat on the bank of the river.).")
    return text


def check_number(value: object, name: str, lo: float, hi: float, integer: bool = False) -> float | int:
    """A finite number within [lo, hi], else a ValueError naming the range."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number between {lo:g} and {hi:g}, not {str(value)[:30]!r}.") from None
    if v != v or v in (float("inf"), float("-inf")) or not lo <= v <= hi:
        raise InputError(f"{name} must be between {lo:g} and {hi:g}; got {str(value)[:30]}.")
    if integer:
        if v != int(v):
            raise InputError(f"{name} must be a whole number between {lo:g} and {hi:g}; got {v:g}.")
        return int(v)
    return v
