"""What the guided lesson's live views share: their fixed inputs, the view type, and the runs two
or more steps show (tiny-gpt's generation, tiny-ddpm's denoising), computed once.

The views themselves: explainers/lesson_text_steps.py (the Transformer steps) and
explainers/lesson_image_steps.py (diffusion, text to image, vision); explainers/lesson_views.py
renders a step and its reveal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explainers import frames
from explainers.denoising import denoise
from explainers.generation import generate
from explainers.memory import memoize

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "assets" / "examples"
T2I_WEIGHTS = ROOT / "assets" / "models" / "tiny-t2i-digits" / "transformer"
ROW = 'style="display:flex;flex-wrap:wrap;gap:8px 16px;align-items:flex-start"'

TOKENS_TEXT = "Transformers understand unbelievably long sentences."
ATTENTION_TEXT = "The cat sat on the mat because it was tired."
BANK = ("We sat on the bank of the river and watched the water.",
        "She paid the money into her account at the bank.",
        "The bank gave her a loan to buy the house.")
NEXT_TEXT = "ROMEO:\nWhat light through yonder"
GEN_TEXT = "ROMEO:"
FFN_TEXT = "ROMEO: But soft, what light through yonder window"
DIGIT_PROMPT = "a handwritten 7"
T2I_PROMPT = "a red 3 on a blue background"
WRONG_TEXT = "The capital of France is"
TRANSLATE_TEXT = "Friday, 5 March 2021"
IMPOSSIBLE_DATE = "31 February 2021"
PAINT_DIGIT = 3


class NotReady(RuntimeError):
    """A view whose model is not there yet (shown as a note, never cached)."""


@dataclass(frozen=True)
class LessonView:
    html: str  # the live view (may hold scrubbers: the page switches their frames in the browser)
    finding: str  # one sentence with the numbers measured for this view, shown with the reveal


def as_image(arr: np.ndarray) -> np.ndarray:
    a = np.asarray(arr, dtype=np.float32)
    return a[..., 0] if a.ndim == 3 and a.shape[-1] == 1 else a


@memoize(maxsize=2)
def generation_run():
    """tiny-gpt writing 20 tokens after GEN_TEXT (the generation and side-by-side steps)."""
    return generate(GEN_TEXT, "tiny-gpt", 20, 1.0, 0, 1.0, 0, True)


@memoize(maxsize=8)
def denoise_run(steps: int, guidance: float, prompt: str = DIGIT_PROMPT):
    """tiny-ddpm drawing the prompt, seed 0 (the denoising, guidance, side-by-side and failures steps)."""
    return denoise(prompt, steps, guidance, 0, "ddim", "tiny-ddpm", 1)


def final_uri(r) -> str:
    """The last image of a denoising run as a data URI."""
    return frames.rgb_uri(as_image(r.x_t[-1]))
