"""The guided lesson's live views of the diffusion and image steps: noising, denoising, guidance, text
to image, latents, a transformer reading a picture, the two families side by side, transformers that
paint and Attend-and-Excite. Each calls the explainers' public functions with the lesson's fixed
inputs (explainers/lesson_live.py) and draws them with the tabs' own views; explainers.lesson names them.
"""

from __future__ import annotations

import html
import json
import logging

import numpy as np
from PIL import Image

from explainers import frames, image_tokens, image_tokens_views, noising, t2i_failures_views, vision
from explainers.compare_views import STATIC_ROWS
from explainers.diffusion_views import denoise_view
from explainers.lesson_live import (
    DIGIT_PROMPT,
    EXAMPLES,
    PAINT_DIGIT,
    ROW,
    T2I_PROMPT,
    T2I_WEIGHTS,
    LessonView,
    NotReady,
    denoise_run,
    final_uri,
    generation_run,
)
from explainers.noising_views import noising_view as draw_noising
from explainers.t2i_comparisons import latent_costs
from explainers.t2i_spec import word_map_finding
from explainers.text_to_image import generate
from explainers.text_to_image_views import costs_table, step_view, words_view
from explainers.vision_views import STYLE, attention_scrubber, prediction_bars

log = logging.getLogger("explainer")


def noising_view() -> LessonView:
    f = noising.forward_run(str(EXAMPLES / "mnist-digit-7.png"), 999)
    ab = float(f.alpha_bar["linear"][f.ts.index(999)])
    return LessonView(draw_noising(f), f"At t = 999 the linear schedule keeps {ab ** 0.5:.3f} of the image and "
                                 f"{(1 - ab) ** 0.5:.3f} of the noise.")


def denoising_view() -> LessonView:
    r = denoise_run(50, 3.0)
    return LessonView(denoise_view(r), f"{r.steps} denoising steps (DDIM, guidance {r.guidance:g}, seed 0) took "
                                       f"{r.seconds:.1f} s; press Play or move the Step slider.")


def guidance_view() -> LessonView:
    runs = [(g, denoise_run(50, g)) for g in (0.0, 1.0, 3.0, 8.0)]
    figs = "".join(frames.figure_tag(final_uri(r), f"guidance {g:g}",
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

    r = generate(T2I_PROMPT, 25, 4.0, 0, model="tiny-t2i")
    return LessonView(f"<p><b>Prompt:</b> {html.escape(T2I_PROMPT)}</p>{step_view(r)}{words_view(r)}",
                      "25 steps, guidance 4, seed 0; the maps show each word's cross-attention. "
                      + word_map_finding("tiny-t2i"))


def latents_view() -> LessonView:
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
            extra = costs_table(latent_costs("tiny-t2i"))
        except Exception as e:  # noqa: BLE001 - the table above stands on its own
            log.warning("latent costs view failed: %s", e)
    return LessonView(table + extra, f"The latent holds {latent:,} numbers instead of {pixels:,}: "
                                     f"{pixels / latent:.0f}x fewer per denoising step.")


def vision_view() -> LessonView:
    r = vision.classify(np.asarray(Image.open(EXAMPLES / "mnist-digit-3.png").convert("L")))
    return LessonView(f"{STYLE}{prediction_bars(r.probs)}{attention_scrubber(r)}",
                      f"tiny-vit cut the 28 x 28 digit into {r.grid * r.grid} patches of {r.patch_size} x "
                      f"{r.patch_size} pixels and read it as {r.prediction} ({r.probs.max():.0%}).")


def side_by_side_view() -> LessonView:
    g, d = generation_run(), denoise_run(50, 3.0)
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


def painters_view() -> LessonView:
    ar, mg = image_tokens.generate(PAINT_DIGIT, "autoregressive", 0), image_tokens.generate(PAINT_DIGIT, "maskgit", 0)
    d = image_tokens.diffusion_reference(PAINT_DIGIT, 0)
    return LessonView(image_tokens_views.summary(ar, mg, d).replace("\n", "<br>") + image_tokens_views.paint_view(mg),
                      f"For a {PAINT_DIGIT}: {ar.passes} passes ({ar.seconds:.1f} s) one token at a time, {mg.passes} "
                      f"passes ({mg.seconds:.2f} s) with MaskGIT, {d.passes} ({d.seconds:.1f} s) for tiny-ddpm.")


def excite_view() -> LessonView:
    return LessonView(*t2i_failures_views.lesson_view())
