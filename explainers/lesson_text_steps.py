"""The guided lesson's live views of the Transformer steps: tokens, positions, attention, one word in
two contexts, the MLP, next-token probabilities, generation, failures, translation, calibration and
text written by diffusion. Each calls the explainers' public functions with the lesson's fixed inputs
(explainers/lesson_live.py) and draws them with the tabs' own views; explainers.lesson names them.
"""

from __future__ import annotations

import html

import numpy as np

from explainers import charts, failures, failures_views, frames, text_diffusion_views
from explainers.attention import attend, contextual_similarity
from explainers.attention_views import CSS as ATTENTION_CSS
from explainers.attention_views import attention_views, token_chips_html
from explainers.feed_forward import feed_forward
from explainers.feed_forward_views import feed_forward_view as draw_feed_forward
from explainers.generation import generate
from explainers.lesson_live import (
    ATTENTION_TEXT,
    BANK,
    DIGIT_PROMPT,
    FFN_TEXT,
    GEN_TEXT,
    IMPOSSIBLE_DATE,
    NEXT_TEXT,
    ROW,
    TOKENS_TEXT,
    TRANSLATE_TEXT,
    WRONG_TEXT,
    LessonView,
    denoise_run,
    final_uri,
    generation_run,
)
from explainers.next_token import predict
from explainers.next_token_views import CSS as NEXT_TOKEN_CSS
from explainers.next_token_views import generation_scrubber, next_token_bars, passes_chart
from explainers.positions import same_word
from explainers.positions_views import position_view, similarity_html
from explainers.translation_views import lesson_alignment, lesson_no_calendar


def tokens_view() -> LessonView:
    a, g = attend(TOKENS_TEXT, "minilm"), attend(TOKENS_TEXT, "tiny-gpt")
    pieces = [t for t in a.tokens if t.startswith("##") or t == "un"]
    body = (f"<p><b>Text:</b> {html.escape(TOKENS_TEXT)}</p><h4>minilm (WordPiece, ## = continues a word)</h4>"
            f"{token_chips_html(a)}<h4>tiny-gpt (byte-level BPE trained on Shakespeare, ▁ = a space)</h4>"
            f"{token_chips_html(g)}")
    n_real = sum(not s for s in a.special)
    return LessonView(body, f"minilm turned the {len(TOKENS_TEXT.split())} words into {n_real} tokens "
                            f"('unbelievably' alone into {len(pieces)}); tiny-gpt, with its own vocabulary, into "
                            f"{sum(not s for s in g.special)}.")


def positions_view() -> LessonView:
    r = same_word("the", 1, 6, "tiny-gpt")
    m = same_word("the", 1, 6, "minilm")
    return LessonView(position_view(r), f"tiny-gpt: cosine {r.cosine:.3f} between 'the' at positions 1 and 6 "
                                        f"(minilm: {m.cosine:.3f}); without position embeddings it would be 1.000.")


def attention_view() -> LessonView:
    v = attention_views(ATTENTION_TEXT, "minilm")
    return LessonView(f"<style>{ATTENTION_CSS}</style>{v.tokens}{v.scrubber}",
                      f"The view opens on layer {v.start[0]}, head {v.start[1]} of minilm: the head whose tokens "
                      "look most sharply at one other token.")


def bank_view() -> LessonView:
    ab = contextual_similarity(BANK[0], BANK[1], "bank", "minilm")
    bc = contextual_similarity(BANK[1], BANK[2], "bank", "minilm")
    # the control: both money senses (B vs C) is what stays close; similarity_html draws A vs B and A vs C,
    # so pass the sentences in the order B, A, C: line 1 = money vs river, line 2 = money vs money.
    ba = contextual_similarity(BANK[1], BANK[0], "bank", "minilm")
    body = similarity_html(ba, bc, BANK[1], BANK[0], BANK[2])
    s = ab.similarities
    return LessonView(f"<style>{ATTENTION_CSS}</style>{body}",
                      f"'bank' river vs money: cosine {s[0]:.2f} at the embeddings, {s[-1]:.2f} after the last "
                      f"layer; money vs money ends at {bc.similarities[-1]:.2f}.")


def feed_forward_view() -> LessonView:
    r = feed_forward(FFN_TEXT, 3, -1, "tiny-gpt")
    top_b, top_a = r.lens_before[0], r.lens_after[0]
    return LessonView(draw_feed_forward(r), f"Block 3's MLP changed the last token's vector by {r.norm_ratio:.0%} of its size; "
                                 f"the logit lens read '{top_b[0]}' ({top_b[1]:.0%}) before and '{top_a[0]}' "
                                 f"({top_a[1]:.0%}) after. The MLP given this one vector alone gives the same result as "
                                 f"inside the model (largest difference {charts.plain(r.alone_error)}"
                                 + (": float rounding)." if r.alone_error < 1e-4 else ")."))


def next_token_view() -> LessonView:
    r = predict(NEXT_TEXT, "tiny-gpt", temperature=2.0)
    top = int(np.argmax(r.before))
    text = html.escape(NEXT_TEXT).replace("\n", "⏎")
    return LessonView(f"<style>{NEXT_TOKEN_CSS}</style><p><b>Context:</b> {text}</p>"
                      + next_token_bars(r, title="Left: the model at temperature 1. Right: temperature 2."),
                      f"The favourite '{r.tokens[top]}' has {r.before[top]:.1%} at temperature 1 and "
                      f"{r.after[top]:.1%} at temperature 2.")


def generation_view() -> LessonView:
    r = generation_run()
    body = (f"<style>{NEXT_TOKEN_CSS}</style><p><b>Prompt</b> {html.escape(GEN_TEXT)} <b>+ 20 tokens:</b></p>"
            f"<pre style='white-space:pre-wrap'>{html.escape(r.text)}</pre>{generation_scrubber(r)}{passes_chart(r)}")
    return LessonView(body, f"{r.forward_passes} forward passes for {len(r.steps)} new tokens "
                            f"({1000 * r.seconds / max(r.forward_passes, 1):.1f} ms per pass on this machine).")


def failures_view() -> LessonView:
    p = predict(WRONG_TEXT, "tiny-gpt")
    g = generate(WRONG_TEXT, "tiny-gpt", 16, 0.0, 0, 1.0, 0, True)
    confident = max(s.chosen_prob for s in g.steps)
    runs = [("10 steps, guidance 3", denoise_run(10, 3.0)), ("50 steps, guidance 3", denoise_run(50, 3.0)),
            ("50 steps, guidance 10", denoise_run(50, 10.0))]
    figs = "".join(frames.figure_tag(final_uri(r), cap, f"'{DIGIT_PROMPT}' with {cap}, seed 0", 112) for cap, r in runs)
    body = (f"<style>{NEXT_TOKEN_CSS}</style><h4>A Transformer: fluent, and wrong</h4><p><b>{html.escape(WRONG_TEXT)}</b>"
            f"<i>{html.escape(g.generated)}</i></p><p class='caption'>tiny-gpt, always taking its most likely token. "
            f"Its surest token in this continuation had {confident:.0%}.</p>"
            + next_token_bars(p, title=f"What tiny-gpt expects after '{WRONG_TEXT}'")
            + f"<h4>A diffusion model: artifacts</h4><div {ROW}>{figs}</div>")
    return LessonView(body, f"tiny-gpt continued with '{g.generated.strip()[:60]}' (top first token "
                            f"'{p.tokens[0]}' at {p.before[0]:.0%}); the three digits share seed 0.")


def translation_view() -> LessonView:
    return LessonView(*lesson_alignment(TRANSLATE_TEXT))


def calibration_view() -> LessonView:
    c = failures.calibration(failures.sample_text())
    sure = c.counts[-1]
    return LessonView(failures_views.calibration_view(c),
                      f"On the opening of Hamlet, {sure:,} of tiny-gpt's {c.n:,} guesses were made 90-100% sure, and "
                      f"{c.accuracy[-1]:.0%} of those were right; ECE {c.ece:.3f}.")


def text_diffusion_view() -> LessonView:
    return LessonView(*text_diffusion_views.lesson_view())


def no_calendar_view() -> LessonView:
    return LessonView(*lesson_no_calendar(IMPOSSIBLE_DATE))
