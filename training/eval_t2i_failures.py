"""Measure how tiny-t2i fails, and what Attend-and-Excite does about it. Writes
assets/models/tiny-t2i-digits/failures.json, which the When it fails tab shows.

    python -m training.eval_t2i_failures                    # the shipped figures (about 15 minutes on 2 cores)
    python -m training.eval_t2i_failures --quick --no-write # a smaller sample

- Prompt sensitivity: random (digit, colour, background) meanings, each said in the PARAPHRASES ways
  from one seed: how often the pictures agree with the most common reading, and with the meaning.
- Artifacts against guidance: for each guidance scale, many (meaning, seed) pictures scored by
  tiny-vit's confidence in the digit and the colour distance (explainers/t2i_failures.py).
- Attend-and-Excite: prompts phrased in the held-out ways (EVAL_TEMPLATES) on which the plain run's
  picture is wrong (by the readers of models/t2i_reader.py); the neglected subject word is excited:
  its peak attention over the first half of the steps before and after, the share of pictures fixed,
  the share of right pictures it breaks (on prompts the plain run got right), and the time ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics

import numpy as np

from explainers import t2i_failures as tf
from models.digits import DIGIT_WORDS
from models.t2i_reader import NAMES, digit_reader, read_image
from models.t2i_sampler import EXCITE_STEP
from models.text_image_data import EVAL_TEMPLATES

GUIDANCES = (0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0)
SEED0 = 5000  # the page's examples use small seeds


def meanings(n: int, seed: int) -> list[tuple[int, str, str]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        fg, bg = (str(c) for c in rng.choice(NAMES, size=2, replace=False))
        out.append((int(rng.integers(10)), fg, bg))
    return out


def prompt_sensitivity(n: int) -> dict:
    agree, right = [], []
    for i, (d, fg, bg) in enumerate(meanings(n, 1)):
        p = tf.paraphrases(d, fg, bg, SEED0 + i)
        agree.append(p.agreement)
        right.append(p.right)
    return dict(meanings=n, phrasings=len(tf.PARAPHRASES), agreement=round(float(np.mean(agree)), 4),
                all_agree=round(float(np.mean([a == 1 for a in agree])), 4), right=round(float(np.mean(right)), 4))


def artifact_curve(n: int, seeds: int) -> dict:
    rows = []
    for g in GUIDANCES:
        rates, vit, dist = [], [], []
        for d, fg, bg in meanings(n, 2):
            a = tf.artifacts(d, fg, bg, g, seeds)
            rates.append(a.rate)
            vit.append(float(np.mean(a.vit)))
            dist.append(float(np.mean(a.colour_distance)))
        rows.append(dict(guidance=g, artifact_rate=round(float(np.mean(rates)), 4), vit=round(float(np.mean(vit)), 4),
                         colour_distance=round(float(np.mean(dist)), 4)))
        print(json.dumps(rows[-1]), flush=True)
    return dict(meanings=n, seeds=seeds, pictures_per_guidance=n * seeds, vit_ok=tf.VIT_OK, colour_ok=tf.COLOUR_OK, rows=rows)


def prompt_pool(failing: int, right: int, pool: int) -> tuple[list, list]:
    """(failing, right): held-out-phrasing prompts whose plain picture is wrong / right, with seeds and meanings."""
    rng = np.random.default_rng(3)
    fails, goods = [], []
    for i in range(pool):
        if len(fails) >= failing and len(goods) >= right:
            break
        d = int(rng.integers(10))
        fg, bg = (str(c) for c in rng.choice(NAMES, size=2, replace=False))
        template = EVAL_TEMPLATES[i % len(EVAL_TEMPLATES)]
        prompt = template.format(d=DIGIT_WORDS[d] if rng.random() < 0.5 else d, f=fg, b=bg)
        seed = SEED0 + i
        ok = read_image(tf.t2i.generate(prompt, seed=seed).image) == (d, fg, bg)
        (goods if ok else fails).append((prompt, seed, (d, fg, bg)))
    return fails[:failing], goods[:right]


def attend_and_excite(failing: int, right: int, pool: int) -> dict:
    fails, goods = prompt_pool(failing, right, pool)
    rows = []
    for kind, items in (("failing", fails), ("right", goods)):
        for prompt, seed, meaning in items:
            c = tf.excite_compare(prompt, None, seed)
            j = c.words.index(c.excited[0])
            rows.append(dict(kind=kind, prompt=prompt, seed=seed, meaning=list(meaning), word=c.excited[0],
                             peak_plain=float(c.peaks_plain[j]), peak_excited=float(c.peaks_excited[j]),
                             right_plain=c.reading_plain == meaning, right_excited=c.reading_excited == meaning,
                             time_ratio=c.seconds_excited / c.seconds_plain))
            print(json.dumps(rows[-1]), flush=True)
    f = [r for r in rows if r["kind"] == "failing"]
    g = [r for r in rows if r["kind"] == "right"]
    gain = [r["peak_excited"] / r["peak_plain"] - 1 for r in rows]
    return dict(excite_step=EXCITE_STEP, failing=len(f), right=len(g), fixed=round(float(np.mean([r["right_excited"] for r in f])), 4),
                broken=round(float(np.mean([not r["right_excited"] for r in g])), 4) if g else None,
                peak_gain_median=round(float(statistics.median(gain)), 4),
                peak_gain_mean=round(float(np.mean(gain)), 4),
                peak_raised_20=round(float(np.mean([x >= 0.2 for x in gain])), 4),
                time_ratio_median=round(float(statistics.median(r["time_ratio"] for r in rows)), 3), rows=rows)


def excite_step_curve(failing: int, right: int, pool: int, sizes=(0.0, 20.0, 40.0, 80.0, 160.0)) -> dict:
    """The same prompts excited with several step sizes (the shipped one is EXCITE_STEP): fixed, broken, gain."""
    import torch

    import models
    from explainers import text_to_image as t2i
    from models.t2i_sampler import sample

    bundle = models.load("tiny-t2i")
    empty = t2i.encode_prompt("")
    fails, goods = prompt_pool(failing, right, pool)
    items = [("failing", *f) for f in fails] + [("right", *g) for g in goods]
    rows = []
    for size in sizes:
        fixed, broken, gains = [], [], []
        for kind, prompt, seed, meaning in items:
            word = tf.neglected(prompt, seed)
            p = t2i.encode_prompt(prompt)
            groups = t2i.excite_groups(p.tokens, (word,))
            out = sample(bundle, (p.states, torch.ones(1, p.states.shape[1])), (empty.states, torch.ones(1, empty.states.shape[1])),
                         t2i.start_noise(bundle, [seed]), t2i.DEFAULT_STEPS, t2i.DEFAULT_GUIDANCE, excite=groups, excite_step=size)
            ok = read_image(t2i.decode(bundle, out["final"])[0]) == meaning
            (fixed if kind == "failing" else broken).append(ok if kind == "failing" else not ok)
            gains.append(float(torch.stack(out["excite_peaks"])[:, 0, 0].mean()))
        rows.append(dict(step=size, fixed=round(float(np.mean(fixed)), 4), broken=round(float(np.mean(broken)), 4),
                         peak_during_excitation=round(float(np.mean(gains)), 4)))
        print(json.dumps(rows[-1]), flush=True)
    return dict(failing=len(fails), right=len(goods), shipped=EXCITE_STEP, rows=rows)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--only", choices=("paraphrases", "artifacts", "excite", "excite_steps"))
    a = p.parse_args(argv)
    q = a.quick
    out = dict(tf.measured()) if a.only else {}
    out["reader_accuracy_on_real_digits"] = round(digit_reader()[1], 4)
    if a.only in (None, "paraphrases"):
        out["paraphrases"] = prompt_sensitivity(6 if q else 40)
        print(json.dumps(out["paraphrases"]), flush=True)
    if a.only in (None, "artifacts"):
        out["artifacts"] = artifact_curve(3 if q else 8, 4 if q else 12)
    if a.only in (None, "excite"):
        out["attend_and_excite"] = attend_and_excite(4 if q else 30, 2 if q else 20, 60 if q else 400)
        print(json.dumps({k: v for k, v in out["attend_and_excite"].items() if k != "rows"}), flush=True)
    if a.only in (None, "excite_steps"):
        out["excite_steps"] = excite_step_curve(4 if q else 30, 2 if q else 20, 60 if q else 400)
    if not a.no_write:
        tf.MEASURED.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
