"""The one error type that means "the input was wrong": its message is written for the person who
typed it (what to change), and the page shows it as it is. Every other exception is a bug or an
outage: it is logged with its traceback and shown as an internal error (ui.common.friendly_errors).

It subclasses ValueError, so code that catches ValueError around a validation keeps working."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from the page or the API; the message says what to change."""
