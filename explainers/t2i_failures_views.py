"""Views of how the diffusion family fails (explainers.t2i_failures): one meaning said many ways, the
worst pictures of many seeds with their scores and the artifact rate against guidance, prompts outside
its world, and Attend-and-Excite's before and after."""

from __future__ import annotations

import html

import numpy as np

from explainers import charts, frames
from explainers.charts import OKABE_BLUE, OKABE_VERMILLION
from explainers.t2i_failures import (
    COLOUR_OK,
    LESSON_PROMPT,
    LESSON_SEED,
    VIT_OK,
    Artifacts,
    ExciteComparison,
    OutOfWorld,
    Paraphrases,
    excite_compare,
    measured,
)
from explainers.t2i_spec import word_maps
from models.t2i_sampler import EXCITE_FRACTION

SHOW = 112  # pixels a 32 x 32 picture is drawn at
OK, WRONG = "\u2713", "\u2717"


def _reading(r: tuple[int, str, str]) -> str:
    return f"reads: {frames.article(r[1])} {r[1]} {r[0]} on {r[2]}"


def _fig(img: np.ndarray, caption: str, alt: str) -> str:
    return frames.figure_tag(frames.rgb_uri(img), caption, alt, SHOW)


def paraphrase_view(p: Paraphrases) -> str:
    figs = []
    for prompt, img, r in zip(p.prompts, p.images, p.readings):
        mark = OK if r == p.meaning else WRONG
        figs.append(_fig(img, f"{mark} \u201c{prompt}\u201d ({_reading(r)})", f"{prompt}: {_reading(r)}"))
    d, c, b = p.meaning
    m = measured().get("paraphrases")
    over = (f" Measured over {m['meanings']} meanings ({m['phrasings']} phrasings each): the pictures agree with "
            f"their most common reading {m['agreement']:.0%} of the time, all {m['phrasings']} agree for "
            f"{m['all_agree']:.0%} of the meanings, and {m['right']:.0%} show the meaning asked.") if m else ""
    return (f'<p class="caption">A {c} {d} on {b}, said {len(p.prompts)} ways from the same seed ({p.seed}); the '
            f"first {len(p.prompts) // 2} phrasings are like its training captions, the rest are new. "
            f"{p.agreement:.0%} of the pictures agree with the most common reading; {p.right:.0%} show what was asked."
            f"{html.escape(over)}</p><div class=\"t2i-row\">{''.join(figs)}</div>")


def artifact_view(a: Artifacts, k: int = 4) -> str:
    figs = []
    for i in a.worst(k):
        tag = "artifact" if a.artifact[i] else "fine"
        figs.append(_fig(a.images[i], f"seed {a.seeds[i]}: ViT {a.vit[i]:.0%} sure it is {frames.article(a.meaning[0])} {a.meaning[0]}, colour off by "
                         f"{a.colour_distance[i]:.2f} ({tag})", f"seed {a.seeds[i]}, {tag}"))
    return (f'<p class="caption">\u201c{html.escape(a.prompt)}\u201d at guidance {a.guidance:g}, seeds 0 to '
            f"{len(a.seeds) - 1}: {int(a.artifact.sum())} of {len(a.seeds)} pictures ({a.rate:.0%}) are artifacts "
            f"(the ViT is under {VIT_OK:.0%} sure of the digit, or a colour is off by more than {COLOUR_OK}). "
            f"The {k} worst, worst first:</p><div class=\"t2i-row\">{''.join(figs)}</div>")


def guidance_curve() -> str:
    m = measured().get("artifacts")
    if not m:
        return "<p class='caption'>(Not measured yet: run <code>python -m training.eval_t2i_failures</code>.)</p>"
    g = [r["guidance"] for r in m["rows"]]
    chart = charts.line_svg([dict(label="artifact rate", x=g, y=[r["artifact_rate"] for r in m["rows"]], color=OKABE_VERMILLION, dots=True),
                             dict(label="ViT confidence in the digit", x=g, y=[r["vit"] for r in m["rows"]], color=OKABE_BLUE,
                                  dash=True, dots=True)],
                            "guidance scale", "share", title="Artifacts against guidance (measured)", ylim=(0, 1))
    best = min(m["rows"], key=lambda r: r["artifact_rate"])
    return (chart + f'<p class="caption">{m["pictures_per_guidance"]} pictures per guidance scale ({m["meanings"]} '
            f"meanings x {m['seeds']} seeds). Fewest artifacts at guidance {best['guidance']:g} "
            f"({best['artifact_rate']:.0%}); without guidance (0) {m['rows'][0]['artifact_rate']:.0%}, at "
            f"{m['rows'][-1]['guidance']:g} {m['rows'][-1]['artifact_rate']:.0%}.</p>")


def out_of_world_view(o: OutOfWorld) -> str:
    figs = [_fig(img, _reading(r), f"seed {i}: {_reading(r)}") for i, (img, r) in enumerate(zip(o.images, o.readings))]
    unknown = (f"Words no training caption uses: {', '.join(o.unknown)}. The model has no picture for them, and "
               "nothing in it can refuse: it draws the nearest thing it knows, a digit on a background."
               if o.unknown else "Every word is one its training captions use; the combination may still be new.")
    return (f'<p class="caption">\u201c{html.escape(o.prompt)}\u201d, four seeds. {html.escape(unknown)}</p>'
            f'<div class="t2i-row">{"".join(figs)}</div>')


def _word_map(r, word: str) -> np.ndarray:
    k = max(1, int(round(r.steps * EXCITE_FRACTION)))
    words, maps = word_maps(r.tokens, r.cross_attention[:k].sum(0))
    return maps[[w.lower() for w in words].index(word)]


def excite_view(c: ExciteComparison) -> str:
    """Plain and excited pictures from the same noise, the excited word's map in each (first half of the
    steps, one colour scale for both), and every subject word's peak attention in a table."""
    word = c.excited[0]
    mp, me = _word_map(c.plain, word), _word_map(c.excite, word)
    hi = float(max(mp.max(), me.max()))
    cells = [_fig(c.plain.image, f"plain: {_reading(c.reading_plain)}", "the plain run's picture"),
             frames.figure_tag(frames.heat_uri(mp, 0, hi), f"'{word}' in the plain run", f"map of {word}, plain", SHOW),
             _fig(c.excite.image, f"excited: {_reading(c.reading_excited)}", "the excited run's picture"),
             frames.figure_tag(frames.heat_uri(me, 0, hi), f"'{word}' excited", f"map of {word}, excited", SHOW)]
    rows = "".join(f"<tr><th scope='row'>{html.escape(w)}{' (excited)' if w in c.excited else ''}</th>"
                   f"<td class='fv-num'>{a:.3f}</td><td class='fv-num'>{b:.3f}</td><td class='fv-num'>{b / a - 1:+.0%}</td></tr>"
                   for w, a, b in zip(c.words, c.peaks_plain, c.peaks_excited))
    table = ("<table class='compare'><caption>Peak attention of each word (A&amp;E's measure), first half of the "
             "steps</caption><thead><tr><th>word</th><th>plain</th><th>excited</th><th>change</th></tr></thead>"
             f"<tbody>{rows}</tbody></table>")
    return (f"<div class='t2i-row'>{''.join(cells)}</div>"
            + frames.colour_scale(frames.CMAP, "0", f"{hi:.2f} (attention summed over the first half)") + table
            + f"<p class='caption'>Time of these two runs: plain {c.seconds_plain:.2f} s, excited {c.seconds_excited:.2f} s"
              + (f" (measured over {m['failing'] + m['right']} prompts, an excited run takes {m['time_ratio_median']:.1f}x "
                 "a plain one)." if (m := measured().get("attend_and_excite")) else ".") + "</p>")


def excite_summary(c: ExciteComparison) -> str:
    j = c.words.index(c.excited[0])
    gain = c.peaks_excited[j] / c.peaks_plain[j] - 1
    changed = "the same reading" if c.reading_plain == c.reading_excited else "a different picture"
    return (f"Excited **{', '.join(c.excited)}** in \u201c{c.prompt}\u201d (seed {c.seed}): its peak attention "
            f"went from {c.peaks_plain[j]:.3f} to {c.peaks_excited[j]:.3f} ({gain:+.0%}), with {changed} "
            f"(plain {_reading(c.reading_plain)}; excited {_reading(c.reading_excited)}).")


def excite_table() -> str:
    m = measured().get("attend_and_excite")
    if not m:
        return "*(Not measured yet: run `python -m training.eval_t2i_failures`.)*"
    return (f"Measured on prompts phrased in ways no training caption uses, one seed each: on **{m['failing']}** "
            f"where the plain picture is wrong, exciting the neglected subject word fixed **{m['fixed']:.0%}**; on "
            f"{m['right']} where it was right, it broke {m['broken']:.0%}. The excited word's peak attention rose by "
            f"{m['peak_gain_median']:+.0%} (median; by 20% or more in {m['peak_raised_20']:.0%} of the prompts). "
            f"An excited run takes {m['time_ratio_median']:.1f}x a plain one (median). The readers' own accuracy on "
            f"real digits: {measured().get('reader_accuracy_on_real_digits', float('nan')):.1%}." + step_table())


def step_table() -> str:
    """Markdown: the same prompts excited with several step sizes (0 = the plain run)."""
    m = measured().get("excite_steps")
    if not m:
        return ""
    rows = "\n".join(f"| {r['step']:g}{' (this page)' if r['step'] == m['shipped'] else ''} | {r['fixed']:.0%} | "
                     f"{r['broken']:.0%} |" for r in m["rows"])
    return (f"\n\nThe size of the nudge trades fixing against breaking ({m['failing']} failing and {m['right']} right "
            f"prompts):\n\n| step size | wrong pictures fixed | right pictures broken |\n|---|---|---|\n{rows}")


def lesson_view():
    """The lesson's step: the neglected word of one prompt excited (a LessonView's fields)."""
    c = excite_compare(LESSON_PROMPT, None, LESSON_SEED)
    j = c.words.index(c.excited[0])
    m = measured().get("attend_and_excite")
    over = (f" Over {m['failing']} prompts where the plain picture was wrong it fixed {m['fixed']:.0%}." if m else "")
    return (f"<p>{html.escape(excite_summary(c).replace('**', ''))}</p>" + excite_view(c),
            f"'{c.excited[0]}' was the neglected word; its peak attention went from "
            f"{c.peaks_plain[j]:.3f} to {c.peaks_excited[j]:.3f}, the plain picture {_reading(c.reading_plain)}, the "
            f"excited one {_reading(c.reading_excited)}; the run took "
            f"{c.seconds_excited / c.seconds_plain:.1f}x as long.{over}")
