"""Text-to-image speed: a default run with every step and attention map recorded vs the same loop
without recording, the cost of rendering its views, and their payload.

    python -m benchmarks.text_to_image            # medians of 5 interleaved runs
    python -m benchmarks.text_to_image --runs 3

Uncached: every run uses a new seed. Run it on an idle machine (a training job takes a core).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="torch threads (the app uses one per request on 2 cores)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from explainers import text_to_image as t2i
    from explainers import text_to_image_views as views

    prompt = "a red 7 on a blue background"
    bundle = t2i.models.load(t2i.DEFAULT_MODEL)
    t2i.generate(prompt, seed=10_000)  # warm-up: loads minilm and the model

    def plain(seed: int, n: int = 1) -> None:  # the same loop, nothing recorded, only the final images decoded
        p_, e_ = t2i.encode_prompt(prompt), t2i.encode_prompt("")
        out = t2i.sample(bundle, (p_.states.expand(n, -1, -1), torch.ones(n, p_.states.shape[1])),
                         (e_.states.expand(n, -1, -1), torch.ones(n, e_.states.shape[1])),
                         t2i.start_noise(bundle, [seed + k for k in range(n)]), t2i.DEFAULT_STEPS, t2i.DEFAULT_GUIDANCE)
        t2i.decode(bundle, out["final"])

    def recorded(seed: int, n: int = 1):  # the app's recorded run itself, on this process's threads (no store,
        # no compute slot: a slot would lend a free second core to a greedy run and the ratio would mix thread counts)
        return t2i.compute(t2i.validate(prompt, t2i.DEFAULT_STEPS, t2i.DEFAULT_GUIDANCE, seed, "", t2i.DEFAULT_MODEL, n))

    cap, bare, render, four, bare4 = [], [], [], [], []
    for i in range(args.runs):
        t = time.perf_counter()
        plain(20_000 + i)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        r = recorded(30_000 + i)
        cap.append(time.perf_counter() - t)
        t = time.perf_counter()
        html = [views.tokens_html(r), views.gallery(r), views.step_view(r), views.words_view(r), views.patches_view(r)]
        render.append(time.perf_counter() - t)
        t = time.perf_counter()
        recorded(40_000 + i, n=4)
        four.append(time.perf_counter() - t)
        t = time.perf_counter()
        plain(50_000 + 10 * i, n=4)
        bare4.append(time.perf_counter() - t)
    med = statistics.median
    res = dict(
        steps=t2i.DEFAULT_STEPS, guidance=t2i.DEFAULT_GUIDANCE, threads=args.threads, runs=args.runs,
        generate_with_capture_s=round(med(cap), 3), same_loop_without_capture_s=round(med(bare), 3),
        capture_ratio=round(med(cap) / med(bare), 2), render_views_s=round(med(render), 3),
        four_images_with_capture_s=round(med(four), 3), four_images_same_loop_without_capture_s=round(med(bare4), 3),
        capture_ratio_four_images=round(med(four) / med(bare4), 2),
        payload_kb={name: round(len(h) / 1024, 1) for name, h in zip(("tokens", "gallery", "steps", "words", "patches"), html)},
    )
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
