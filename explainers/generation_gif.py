"""A generation as an animated GIF (PIL): the text growing one token per frame, the prompt grey and the
new token orange, with the five likeliest candidates of each step as bars. Written once per run to the
bounded GIF folder (explainers.frames)."""

from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from explainers.charts import OKABE_BLUE, OKABE_VERMILLION
from explainers.generation import GenerationResult, generate
from explainers.gif_files import gif_path, write_gif
from explainers.memory import memoize

GIF_WIDTH, GIF_PAD, GIF_FONT = 720, 16, 18


def _wrap_runs(runs: list[tuple[str, str]], font, width: int) -> list[list[tuple[str, str]]]:
    """Lay out coloured runs of text in lines no wider than `width` (breaking at spaces and newlines)."""
    lines: list[list[tuple[str, str]]] = [[]]
    x = 0.0
    for text, colour in runs:
        for k, part in enumerate(text.split("\n")):
            if k:
                lines.append([])
                x = 0.0
            pieces = part.replace(" ", " \0").split("\0")  # keep each space with the word before it
            for piece in pieces:
                if not piece:
                    continue
                w = font.getlength(piece)
                if x + w > width and x > 0:
                    lines.append([])
                    x = 0.0
                lines[-1].append((piece, colour))
                x += w
    return lines


def _gif_label(token: str) -> str:
    """A token in the GIF's font (basic Latin): a leading space as '_', a newline as '\\n'."""
    return "'" + token.replace("▁", "_").replace("Ġ", "_").replace("⏎", "\\n").replace("\n", "\\n") + "'"


def generation_gif(r: GenerationResult) -> str:
    """The generation as an animated GIF: the text growing one token per frame (prompt grey, new
    token orange) with the five likeliest candidates of that step. Returns the file's path."""
    name = "generate-" + hashlib.sha1(repr((r.model, r.text, r.seed, len(r.steps))).encode()).hexdigest()[:16]
    if (done := gif_path(name)) is not None:
        return str(done)
    font = ImageFont.load_default(size=GIF_FONT)
    small = ImageFont.load_default(size=GIF_FONT - 3)
    line_h = GIF_FONT + 6
    final = _wrap_runs([(r.text, "#000")], font, GIF_WIDTH - 2 * GIF_PAD)
    text_h = line_h * max(3, len(final) + 1)
    height = GIF_PAD * 2 + text_h + line_h * 7
    images = []
    for s in r.steps:
        done_text = s.context[len(r.prompt):] if s.context.startswith(r.prompt) else ""
        runs = [(r.prompt, "#595959"), (done_text, "#000000"), (s.chosen_text or " ", OKABE_VERMILLION)]
        img = Image.new("RGB", (GIF_WIDTH, height), "white")
        d = ImageDraw.Draw(img)
        for li, line in enumerate(_wrap_runs(runs, font, GIF_WIDTH - 2 * GIF_PAD)):
            x = GIF_PAD
            for piece, colour in line:
                d.text((x, GIF_PAD + li * line_h), piece, fill=colour, font=font)
                x += font.getlength(piece)
        y = GIF_PAD + text_h
        d.text((GIF_PAD, y), f"Step {s.index} of {len(r.steps)}: {r.model} drew {_gif_label(s.chosen_token)} "
               f"(p = {s.chosen_prob:.1%}). Likeliest next tokens:", fill="#000", font=small)
        order = np.argsort(-np.asarray(s.before))[:5]
        top = float(s.before[order[0]]) or 1.0
        for k, j in enumerate(order):
            yy = y + line_h * (k + 1)
            colour = OKABE_VERMILLION if s.ids[j] == s.chosen_id else OKABE_BLUE
            d.text((GIF_PAD, yy), _gif_label(s.tokens[j])[:16], fill="#000", font=small)
            d.rectangle([GIF_PAD + 150, yy + 3, GIF_PAD + 150 + int(400 * float(s.before[j]) / top), yy + line_h - 6],
                        fill=colour)
            d.text((GIF_PAD + 560, yy), f"{float(s.before[j]):.1%}", fill="#000", font=small)
        images.append(img.convert("P", palette=Image.Palette.ADAPTIVE, colors=64))
    durations = [450] * (len(images) - 1) + [2500]  # hold the finished text
    return write_gif(name, images, durations)


@memoize(maxsize=16)
def generation_gif_of(text, model, max_new_tokens, temperature, top_k, top_p, seed) -> str:
    return generation_gif(generate(text, model, max_new_tokens, temperature, top_k, top_p, seed, True))
