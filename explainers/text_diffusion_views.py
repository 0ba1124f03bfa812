"""Views of diffusion writing text (explainers.text_diffusion) beside tiny-gpt writing the same length:
one scrubber per model over its forward passes (masks filling in; one token appended), the summary of
the two runs, and the measured tables (held-out bound vs perplexity; steps vs time and quality)."""

from __future__ import annotations

import html

import numpy as np

from explainers import frames, text_diffusion
from explainers.generation import GenerationResult
from explainers.text_diffusion import MASK_ID, REMASKING, TEMPERATURE, TextDiffusionResult, card


def _piece(text: str) -> str:
    return html.escape(text).replace("\n", "&#8629;<br>")


def _stream(pieces: list[str]) -> str:
    return f'<p class="td-text">{"".join(pieces)}</p>'


def unmask_view(r: TextDiffusionResult) -> str:
    """Pass 0..passes: the prompt, then the continuation as masks that fill in; the tokens revealed by the
    pass shown are highlighted with their confidence."""
    items = {}
    p = r.prompt_tokens
    for k in range(r.passes + 1):
        row = r.frames[k]
        out = [f'<span class="td-p">{_piece("".join(r.pieces[:p]))}</span>']
        for i in range(p, len(row)):
            if row[i] == MASK_ID:
                out.append('<span class="td-m" title="still masked">&#9643;</span>')
            elif r.revealed_at[i] == k:
                out.append(f'<mark class="td-new" title="revealed at pass {k}, probability {r.confidence[i]:.0%}">'
                           f"{_piece(r.pieces[i])}</mark>")
            else:
                out.append(_piece(r.pieces[i]))
        masked = int((row[p:] == MASK_ID).sum())
        if k == 0:
            note = f"Before the first pass: the prompt, then {r.length} masks."
            if r.blocks > 1:
                note += (f" They are filled in {r.blocks} blocks of about {r.length // r.blocks} tokens, left to right, "
                         f"{r.passes // r.blocks} passes each (LLaDA's semi-autoregressive sampling).")
        else:
            new = r.revealed_at == k
            which = "the ones it was surest of" if REMASKING == "low_confidence" else "chosen at random"
            note = (f"Pass {k}: {int(new.sum())} tokens revealed (highlighted), {which}, each drawn from the model's "
                    f"guess for its place (mean probability {float(r.confidence[new].mean()):.0%}); {masked} still "
                    "masked. Every pass reads the whole text, both ways.")
        items[(k,)] = f'<p class="caption">{html.escape(note)}</p>{_stream(out)}'
    axis = frames.Axis("Unmasking step", 0, r.passes, r.passes, f"of {r.passes} forward passes")
    return frames.scrubber([axis], items, play=True)


def autoregressive_view(g: GenerationResult) -> str:
    """Token 0..n: tiny-gpt's text so far, the newest token highlighted with its probability."""
    items = {(0,): f'<p class="caption">Before the first pass: the prompt alone.</p>'
                   f'{_stream([f"<span class=td-p>{_piece(g.prompt)}</span>"])}'}
    for k, s in enumerate(g.steps, start=1):
        earlier = "".join(_piece(t.chosen_text) for t in g.steps[:k - 1])
        note = (f"Pass {k}: one token, {s.chosen_token!r}, drawn with probability {s.chosen_prob:.0%}. It reads only "
                "the tokens to its left.")
        items[(k,)] = (f'<p class="caption">{html.escape(note)}</p>' + _stream(
            [f"<span class=td-p>{_piece(g.prompt)}</span>", earlier,
             f'<mark class="td-new">{_piece(s.chosen_text)}</mark>']))
    n = len(g.steps)
    return frames.scrubber([frames.Axis("Token pass", 0, n, n, f"of {n} forward passes")], items, play=True)


HEADER = ("how", "forward passes", "tokens per pass", "time", "held-out quality (lower is better)")


def _summary_rows(r: TextDiffusionResult, g: GenerationResult) -> list[tuple[str, ...]]:
    held = card()["training"].get("held_out", {})
    q_ar = f"perplexity {held['tiny_gpt_ppl']:.1f}" if held else "not measured"
    q_d = f"bound {held['bound_ppl']:.1f} ({held['ratio']:.2f}x)" if held else "not measured"
    per = r.revealed_per_pass
    return [("Diffusion (tiny-diffusion-lm)", str(r.passes), f"{min(per)} to {max(per)}" if min(per) != max(per)
             else str(per[0]), f"{r.seconds:.2f} s", q_d),
            ("Autoregressive (tiny-gpt)", str(g.forward_passes), "1", f"{g.seconds:.2f} s", q_ar)]


def _intro(r: TextDiffusionResult) -> str:
    return f"{r.length} new tokens after the same prompt (seed {r.seed}, temperature {TEMPERATURE:g})."


def summary(r: TextDiffusionResult, g: GenerationResult) -> str:
    """Markdown: passes, tokens per pass, time, for these two runs, and the held-out quality figures."""
    body = "\n".join("| " + " | ".join(row) + " |" for row in _summary_rows(r, g))
    return f"{_intro(r)}\n\n| {' | '.join(HEADER)} |\n|---|---|---|---|---|\n{body}"


def summary_html(r: TextDiffusionResult, g: GenerationResult) -> str:
    """The same summary as an HTML table (for the lesson and the handout)."""
    cells = lambda row, tag: "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in row)  # noqa: E731
    rows = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in _summary_rows(r, g))
    return (f"<p>{html.escape(_intro(r))}</p><table class='compare'><thead><tr>{cells(HEADER, 'th')}</tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def measured_tables() -> str:
    """Markdown: the held-out bound against tiny-gpt, and the steps table (training/eval_tiny_diffusion_lm.py)."""
    c = card()
    held, steps = c["training"].get("held_out"), c["steps"]
    if not held:
        return "*(Not measured yet: run `python -m training.train_tiny_diffusion_lm`.)*"
    t = c["training"]
    out = (f"**Likelihood on the held-out plays** ({held['windows']} windows of {held['tokens_per_window']} tokens, "
           f"the same tokens for both): tiny-gpt's perplexity **{held['tiny_gpt_ppl']:.1f}**; the diffusion model's "
           f"upper bound (the absorbing-state ELBO) **{held['bound_ppl']:.1f}**, {held['ratio']:.2f}x. The diffusion "
           f"model was trained from tiny-gpt's weights for {t['steps']:,} steps ({t['tokens_seen'] / 1e6:.1f} M tokens, "
           f"{t['seconds'] / 3600:.1f} h on {t['device']}); tiny-gpt itself saw 98 M tokens.\n\n")
    if not steps:
        return out + "*(Steps table not measured yet: run `python -m training.eval_tiny_diffusion_lm`.)*"
    rows = "\n".join(f"| {r['how']} | {r['passes']} | {r['seconds_median']:.2f} s | {r['sample_ppl']:.1f} |"
                     for r in steps["rows"])
    return out + (f"**Steps against time and quality**: {steps['length']} tokens after {steps['prompts']} prompts from "
                  f"the held-out plays (temperature {steps['temperature']:g}); quality = the perplexity tiny-gpt gives "
                  f"the written tokens (lower = more like the plays to tiny-gpt).\n\n| how | forward passes | time "
                  f"(median) | perplexity under tiny-gpt |\n|---|---|---|---|\n{rows}")


def confidence_by_pass(r: TextDiffusionResult) -> np.ndarray:
    """(passes,) the mean probability of the tokens each pass revealed."""
    return np.array([float(r.confidence[r.revealed_at == s].mean()) for s in range(1, r.passes + 1)])


LESSON_PROMPT = "ROMEO:\nBut soft, what light"


def lesson_view():
    """The lesson's step: 64 tokens by unmasking in 16 passes beside tiny-gpt's 64 (a LessonView's fields)."""
    r = text_diffusion.generate(LESSON_PROMPT, 64, 16, 0)
    g = text_diffusion.autoregressive(LESSON_PROMPT, 64, 0)
    held = card()["training"].get("held_out")
    quality = (f" On the held-out plays its likelihood bound is {held['ratio']:.2f}x tiny-gpt's perplexity "
               f"({held['bound_ppl']:.0f} vs {held['tiny_gpt_ppl']:.0f})." if held else "")
    return (summary_html(r, g) + unmask_view(r),
            f"Diffusion: {r.passes} passes for {r.length} tokens ({r.seconds:.2f} s); tiny-gpt: {g.forward_passes} "
            f"passes ({g.seconds:.2f} s).{quality}")
