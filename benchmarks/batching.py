"""Would batching concurrent denoise requests pay off? Four different 50-step DDIM requests
(guidance 3) run one after another vs as one batch of four through the same UNet, 1 torch thread
as the app runs. Medians of interleaved runs; prints the ratio.

    python -m benchmarks.batching --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--requests", type=int, default=4)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    import models
    from models.diffusion import make_scheduler, sample

    bundle = models.load("tiny-ddpm")
    digits = list(range(a.requests))

    def one_by_one():
        for d in digits:
            sample(bundle.model, make_scheduler(bundle.scheduler.config, "ddim"), torch.tensor([d]), 50, 3.0, d,
                   null_class=10, capture=True)

    def batched():
        sample(bundle.model, make_scheduler(bundle.scheduler.config, "ddim"), torch.tensor(digits), 50, 3.0, 0,
               null_class=10, capture=True)

    seq, bat = [], []
    batched()  # warm-up
    for _ in range(a.runs):
        for fn, out in ((one_by_one, seq), (batched, bat)):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    s, b = statistics.median(seq), statistics.median(bat)
    print(f"{a.requests} requests one by one: {s:.2f} s; as one batch: {b:.2f} s; batch is {s / b:.2f}x faster "
          f"(medians of {a.runs}, 1 thread)")


if __name__ == "__main__":
    main()
