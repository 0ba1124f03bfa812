"""The guided lesson: its steps (explainers/lesson_steps.py, the article's ideas in its order, as data)
looked up by number, from the page or from a link (no gradio, no models)."""

from __future__ import annotations

from explainers.lesson_steps import STEPS, LessonStep
from models.errors import InputError

__all__ = ["STEPS", "LessonStep", "parse_step", "step"]


def step(n: int) -> LessonStep:
    """Step n, counted from 1 as on the page."""
    if isinstance(n, bool) or not isinstance(n, (int, float)) or int(n) != n:
        raise InputError(f"The step must be a whole number from 1 to {len(STEPS)}, not {str(n)[:20]!r}.")
    if not 1 <= int(n) <= len(STEPS):
        raise InputError(f"The lesson has steps 1 to {len(STEPS)}; there is no step {int(n)}.")
    return STEPS[int(n) - 1]


def parse_step(value: object) -> tuple[int | None, str]:
    """A step number from a link's text ('4'); (None, why) when it is not a valid step."""
    s = str(value).strip()[:20]
    if not s.isdigit():
        return None, f"'lesson={s}' is not a step number; the lesson has steps 1 to {len(STEPS)}."
    n = int(s)
    if not 1 <= n <= len(STEPS):
        return None, f"The lesson has steps 1 to {len(STEPS)}; 'lesson={n}' was ignored."
    return n, ""
