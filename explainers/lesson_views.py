"""The guided lesson's live views (explainers.lesson), rendered and revealed.

Every step's view calls the explainers' public functions with fixed inputs and renders them with
their own views modules, so the lesson shows the same real models as the tabs (the views:
explainers/lesson_text_steps.py and explainers/lesson_image_steps.py). `render(n)` is computed once
per step (bounded cache: 30 students opening step 4 cost one run); a view that fails becomes a note,
so one broken view never breaks the lesson, and a failure is not cached (the next visit tries again,
e.g. once the text-to-image weights are trained).
"""

from __future__ import annotations

import html
import logging

from explainers import lesson_image_steps, lesson_text_steps
from explainers.lesson import STEPS, step
from explainers.lesson_live import LessonView, NotReady
from explainers.memory import memoize
from models.errors import InputError

log = logging.getLogger("explainer")


# ---- rendering, cached per step ---------------------------------------------------------------

def _note(title: str, message: str) -> LessonView:
    return LessonView(f'<p class="warn" role="status">{html.escape(message)}</p>',
                      f"The view for '{title}' is not available right now.")


def view_function(name: str):
    """The function that draws the view a step names (explainers.lesson: `LessonStep.view`)."""
    for module in (lesson_text_steps, lesson_image_steps):
        if callable(fn := getattr(module, name, None)):
            return fn
    raise KeyError(f"no lesson view named {name!r}")


@memoize(maxsize=len(STEPS) + 1)
def _render_cached(n: int) -> LessonView:
    return view_function(step(n).view)()


def render(n: int) -> LessonView:
    """Step n's live view (computed once); a note instead when it cannot be drawn right now."""
    s = step(n)
    try:
        return _render_cached(int(n))
    except NotReady as e:
        return _note(s.title, str(e))
    except Exception as e:  # noqa: BLE001 - one broken view must not break the lesson
        log.exception("lesson step %s: view %s failed", n, s.view)
        return _note(s.title, f"This view could not be drawn ({type(e).__name__}: {str(e)[:160]}). "
                              "The rest of the lesson works.")


def reveal_text(n: int, answer: str | None) -> str:
    """Markdown shown on reveal: right or not, the correct answer, why, and the measured finding."""
    s = step(n)
    right = s.choices[s.answer]
    if answer is None or answer == "":
        verdict = f"You did not pick an answer. The answer is **{right}**."
    elif answer == right:
        verdict = f"**Right**: {right}."
    elif answer in s.choices:
        verdict = f"**Not quite.** You picked \u201c{answer}\u201d; the answer is **{right}**."
    else:
        raise InputError(f"{str(answer)[:60]!r} is not one of this step's answers.")
    return f"{verdict}\n\n{s.reveal}\n\n**Measured here:** {render(n).finding}"
