"""Live views of the guided lesson (explainers.lesson), and its printable handout.

Every step's view calls the explainers' public functions with fixed inputs and renders them with
their own views modules, so the lesson shows the same real models as the tabs. `render(n)` is
computed once per step (bounded cache: 30 students opening step 4 cost one run); a view that
fails becomes a note, so one broken view never breaks the lesson, and a failure is not cached
(the next visit tries again, e.g. once the text-to-image weights are trained).
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explainers import (
    charts,
    failures,
    failures_views,
    frames,
    image_tokens,
    image_tokens_views,
    t2i_failures_views,
    text_diffusion_views,
)
from explainers.compute import memoize
from explainers.lesson import STEPS, step
from explainers.t2i_spec import word_map_finding
from explainers.translation_views import lesson_alignment, lesson_no_calendar
from models.errors import InputError

log = logging.getLogger("explainer")
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


def _img(arr: np.ndarray) -> np.ndarray:
    a = np.asarray(arr, dtype=np.float32)
    return a[..., 0] if a.ndim == 3 and a.shape[-1] == 1 else a


# ---- the views, one per step (names are referenced by explainers.lesson) ---------------------

def tokens_view() -> LessonView:
    from explainers.attention import attend
    from explainers.attention_views import token_chips_html

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
    from explainers.positions import same_word
    from explainers.positions_views import position_view

    r = same_word("the", 1, 6, "tiny-gpt")
    m = same_word("the", 1, 6, "minilm")
    return LessonView(position_view(r), f"tiny-gpt: cosine {r.cosine:.3f} between 'the' at positions 1 and 6 "
                                        f"(minilm: {m.cosine:.3f}); without position embeddings it would be 1.000.")


def attention_view() -> LessonView:
    from explainers.attention_views import CSS, attention_views

    v = attention_views(ATTENTION_TEXT, "minilm")
    return LessonView(f"<style>{CSS}</style>{v.tokens}{v.scrubber}",
                      f"The view opens on layer {v.start[0]}, head {v.start[1]} of minilm: the head whose tokens "
                      "look most sharply at one other token.")


def bank_view() -> LessonView:
    from explainers.attention import contextual_similarity
    from explainers.attention_views import CSS, similarity_html

    ab = contextual_similarity(BANK[0], BANK[1], "bank", "minilm")
    bc = contextual_similarity(BANK[1], BANK[2], "bank", "minilm")
    # the control: both money senses (B vs C) is what stays close; similarity_html draws A vs B and A vs C,
    # so pass the sentences in the order B, A, C: line 1 = money vs river, line 2 = money vs money.
    ba = contextual_similarity(BANK[1], BANK[0], "bank", "minilm")
    body = similarity_html(ba, bc, BANK[1], BANK[0], BANK[2])
    s = ab.similarities
    return LessonView(f"<style>{CSS}</style>{body}",
                      f"'bank' river vs money: cosine {s[0]:.2f} at the embeddings, {s[-1]:.2f} after the last "
                      f"layer; money vs money ends at {bc.similarities[-1]:.2f}.")


def feed_forward_view() -> LessonView:
    from explainers.feed_forward import feed_forward
    from explainers.feed_forward_views import feed_forward_view as render

    r = feed_forward(FFN_TEXT, 3, -1, "tiny-gpt")
    top_b, top_a = r.lens_before[0], r.lens_after[0]
    return LessonView(render(r), f"Block 3's MLP changed the last token's vector by {r.norm_ratio:.0%} of its size; "
                                 f"the logit lens read '{top_b[0]}' ({top_b[1]:.0%}) before and '{top_a[0]}' "
                                 f"({top_a[1]:.0%}) after. The MLP given this one vector alone gives the same result as "
                                 f"inside the model (largest difference {charts.plain(r.alone_error)}"
                                 + (": float rounding)." if r.alone_error < 1e-4 else ")."))


def next_token_view() -> LessonView:
    from explainers.next_token import predict
    from explainers.next_token_views import CSS, next_token_bars

    r = predict(NEXT_TEXT, "tiny-gpt", temperature=2.0)
    top = int(np.argmax(r.before))
    text = html.escape(NEXT_TEXT).replace("\n", "⏎")
    return LessonView(f"<style>{CSS}</style><p><b>Context:</b> {text}</p>"
                      + next_token_bars(r, title="Left: the model at temperature 1. Right: temperature 2."),
                      f"The favourite '{r.tokens[top]}' has {r.before[top]:.1%} at temperature 1 and "
                      f"{r.after[top]:.1%} at temperature 2.")


@memoize(maxsize=2)
def _generation():
    from explainers.generation import generate

    return generate(GEN_TEXT, "tiny-gpt", 20, 1.0, 0, 1.0, 0, True)


def generation_view() -> LessonView:
    from explainers.next_token_views import CSS, generation_scrubber, passes_chart

    r = _generation()
    body = (f"<style>{CSS}</style><p><b>Prompt</b> {html.escape(GEN_TEXT)} <b>+ 20 tokens:</b></p>"
            f"<pre style='white-space:pre-wrap'>{html.escape(r.text)}</pre>{generation_scrubber(r)}{passes_chart(r)}")
    return LessonView(body, f"{r.forward_passes} forward passes for {len(r.steps)} new tokens "
                            f"({1000 * r.seconds / max(r.forward_passes, 1):.1f} ms per pass on this machine).")


def noising_view() -> LessonView:
    from explainers import noising
    from explainers.diffusion_views import noising_view as render

    f = noising.forward_run(str(EXAMPLES / "mnist-digit-7.png"), 999)
    ab = float(f.alpha_bar["linear"][f.ts.index(999)])
    return LessonView(render(f), f"At t = 999 the linear schedule keeps {ab ** 0.5:.3f} of the image and "
                                 f"{(1 - ab) ** 0.5:.3f} of the noise.")


@memoize(maxsize=8)
def _denoise(steps: int, guidance: float, prompt: str = DIGIT_PROMPT):
    from explainers.denoising import denoise

    return denoise(prompt, steps, guidance, 0, "ddim", "tiny-ddpm", 1)


def denoising_view() -> LessonView:
    from explainers.diffusion_views import denoise_view

    r = _denoise(50, 3.0)
    return LessonView(denoise_view(r), f"{r.steps} denoising steps (DDIM, guidance {r.guidance:g}, seed 0) took "
                                       f"{r.seconds:.1f} s; press Play or move the Step slider.")


def _final(r) -> str:
    return frames.rgb_uri(_img(r.x_t[-1]))


def guidance_view() -> LessonView:
    runs = [(g, _denoise(50, g)) for g in (0.0, 1.0, 3.0, 8.0)]
    figs = "".join(frames.figure_tag(_final(r), f"guidance {g:g}",
                                     f"Final image at guidance {g:g}, prompt '{DIGIT_PROMPT}', seed 0", 112)
                   for g, r in runs)
    label = runs[-1][1].label
    return LessonView(f"<p>Same prompt ('{DIGIT_PROMPT}'), same seed, same starting noise; only the guidance "
                      f"changes. The prompt was matched to the digit {label}.</p><div {ROW}>{figs}</div>",
                      "Each picture is the final step of a 50-step run with the guidance written under it.")


def text_to_image_view() -> LessonView:
    if not (T2I_WEIGHTS / "config.json").is_file():
        raise NotReady("The text-to-image model (tiny-t2i) is not trained yet: its weights will appear under "
                       "assets/models/tiny-t2i-digits/transformer. The other steps work without it.")
    from explainers.text_to_image import generate
    from explainers.text_to_image_views import step_view, words_view

    r = generate(T2I_PROMPT, 25, 4.0, 0, model="tiny-t2i")
    return LessonView(f"<p><b>Prompt:</b> {html.escape(T2I_PROMPT)}</p>{step_view(r)}{words_view(r)}",
                      "25 steps, guidance 4, seed 0; the maps show each word's cross-attention. "
                      + word_map_finding("tiny-t2i"))


def latents_view() -> LessonView:
    import json

    cfg = json.loads((T2I_WEIGHTS.parent / "vae" / "config.json").read_text())
    side, ch = int(cfg["sample_size"]), int(cfg["latent_channels"])
    down = 2 ** (len(cfg["block_out_channels"]) - 1)
    pixels, latent = side * side * cfg["in_channels"], ch * (side // down) ** 2
    rows = [("image (pixels)", f"{side} x {side} x {cfg['in_channels']}", pixels),
            ("latent", f"{ch} x {side // down} x {side // down}", latent)]
    table = ("<table class='compare'><caption>What one denoising step works on (tiny-t2i's autoencoder "
             "config)</caption><thead><tr><th scope='col'>space</th><th scope='col'>shape</th>"
             "<th scope='col'>numbers</th></tr></thead><tbody>"
             + "".join(f"<tr><th scope='row'>{a}</th><td>{b}</td><td>{c:,}</td></tr>" for a, b, c in rows)
             + "</tbody></table>")
    extra = ""
    if (T2I_WEIGHTS / "config.json").is_file():
        try:
            from explainers.text_to_image import latent_costs
            from explainers.text_to_image_views import costs_table

            extra = costs_table(latent_costs("tiny-t2i"))
        except Exception as e:  # noqa: BLE001 - the table above stands on its own
            log.warning("latent costs view failed: %s", e)
    return LessonView(table + extra, f"The latent holds {latent:,} numbers instead of {pixels:,}: "
                                     f"{pixels / latent:.0f}x fewer per denoising step.")


def vision_view() -> LessonView:
    from PIL import Image

    from explainers import vision
    from explainers.vision_views import STYLE, attention_scrubber, prediction_bars

    r = vision.classify(np.asarray(Image.open(EXAMPLES / "mnist-digit-3.png").convert("L")))
    return LessonView(f"{STYLE}{prediction_bars(r.probs)}{attention_scrubber(r)}",
                      f"tiny-vit cut the 28 x 28 digit into {r.grid * r.grid} patches of {r.patch_size} x "
                      f"{r.patch_size} pixels and read it as {r.prediction} ({r.probs.max():.0%}).")


def side_by_side_view() -> LessonView:
    from explainers.compare_views import STATIC_ROWS

    g, d = _generation(), _denoise(50, 3.0)
    live = [("Forward passes for this output", f"{g.forward_passes} (one per token, {len(g.steps)} tokens)",
             f"{d.steps} (one per step, for a whole {d.x_t.shape[1]} x {d.x_t.shape[2]} image)"),
            ("What one pass produces", "one more token", "a slightly cleaner version of the whole image"),
            ("Time on this machine", f"{g.seconds:.2f} s", f"{d.seconds:.2f} s")]
    rows = [(a, t, f) for a, t, f, _ in STATIC_ROWS] + live
    table = ("<table class='compare'><caption>Transformers vs diffusion models (last three rows measured in this "
             "lesson)</caption><thead><tr><th scope='col'>aspect</th><th scope='col'>Transformers</th>"
             "<th scope='col'>Diffusion models</th></tr></thead><tbody>"
             + "".join(f"<tr><th scope='row'>{html.escape(a)}</th><td>{html.escape(t)}</td><td>{html.escape(f)}</td>"
                       "</tr>" for a, t, f in rows) + "</tbody></table>")
    return LessonView(table, f"tiny-gpt made {g.forward_passes} passes for {len(g.steps)} tokens; tiny-ddpm made "
                             f"{d.steps} passes for one image.")


def failures_view() -> LessonView:
    from explainers.generation import generate
    from explainers.next_token import predict
    from explainers.next_token_views import CSS, next_token_bars

    p = predict(WRONG_TEXT, "tiny-gpt")
    g = generate(WRONG_TEXT, "tiny-gpt", 16, 0.0, 0, 1.0, 0, True)
    confident = max(s.chosen_prob for s in g.steps)
    runs = [("10 steps, guidance 3", _denoise(10, 3.0)), ("50 steps, guidance 3", _denoise(50, 3.0)),
            ("50 steps, guidance 10", _denoise(50, 10.0))]
    figs = "".join(frames.figure_tag(_final(r), cap, f"'{DIGIT_PROMPT}' with {cap}, seed 0", 112) for cap, r in runs)
    body = (f"<style>{CSS}</style><h4>A Transformer: fluent, and wrong</h4><p><b>{html.escape(WRONG_TEXT)}</b>"
            f"<i>{html.escape(g.generated)}</i></p><p class='caption'>tiny-gpt, always taking its most likely token. "
            f"Its surest token in this continuation had {confident:.0%}.</p>"
            + next_token_bars(p, title=f"What tiny-gpt expects after '{WRONG_TEXT}'")
            + f"<h4>A diffusion model: artifacts</h4><div {ROW}>{figs}</div>")
    return LessonView(body, f"tiny-gpt continued with '{g.generated.strip()[:60]}' (top first token "
                            f"'{p.tokens[0]}' at {p.before[0]:.0%}); the three digits share seed 0.")


def translation_view() -> LessonView:
    return LessonView(*lesson_alignment(TRANSLATE_TEXT))


def painters_view() -> LessonView:
    ar, mg = image_tokens.generate(PAINT_DIGIT, "autoregressive", 0), image_tokens.generate(PAINT_DIGIT, "maskgit", 0)
    d = image_tokens.diffusion_reference(PAINT_DIGIT, 0)
    return LessonView(image_tokens_views.summary(ar, mg, d).replace("\n", "<br>") + image_tokens_views.paint_view(mg),
                      f"For a {PAINT_DIGIT}: {ar.passes} passes ({ar.seconds:.1f} s) one token at a time, {mg.passes} "
                      f"passes ({mg.seconds:.2f} s) with MaskGIT, {d.passes} ({d.seconds:.1f} s) for tiny-ddpm.")


def calibration_view() -> LessonView:
    c = failures.calibration(failures.sample_text())
    sure = c.counts[-1]
    return LessonView(failures_views.calibration_view(c),
                      f"On the opening of Hamlet, {sure:,} of tiny-gpt's {c.n:,} guesses were made 90-100% sure, and "
                      f"{c.accuracy[-1]:.0%} of those were right; ECE {c.ece:.3f}.")


def text_diffusion_view() -> LessonView:
    return LessonView(*text_diffusion_views.lesson_view())


def excite_view() -> LessonView:
    return LessonView(*t2i_failures_views.lesson_view())


def no_calendar_view() -> LessonView:
    return LessonView(*lesson_no_calendar(IMPOSSIBLE_DATE))


# ---- rendering, cached per step ---------------------------------------------------------------

def _note(title: str, message: str) -> LessonView:
    return LessonView(f'<p class="warn" role="status">{html.escape(message)}</p>',
                      f"The view for '{title}' is not available right now.")


@memoize(maxsize=len(STEPS) + 1)
def _render_cached(n: int) -> LessonView:
    return globals()[step(n).view]()


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
