"""Would batching concurrent denoise requests pay off? Different 50-step DDIM requests (guidance 3)
run one after another vs as one batch through the same UNet, 1 torch thread as the app runs, with
the UNet the app samples with (`models.diffusion.inference_unet`: traced, bfloat16 where the CPU
has it) and with the plain eager float32 model. Medians of interleaved runs.

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
    p.add_argument("--sizes", type=int, nargs="*", default=[1, 2, 4, 8], help="requests per batch")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    import models
    from models.diffusion import inference_unet, make_scheduler, precision, sample

    bundle = models.load("tiny-ddpm")
    unets = {f"app ({precision(bundle.model)}, traced)": inference_unet(bundle.model), "eager float32": bundle.model}
    for name, unet in unets.items():
        def run(n, unet=unet):
            sample(unet, make_scheduler(bundle.scheduler.config, "ddim"), torch.arange(n) % 10, 50, 3.0, 0,
                   null_class=10, capture=True)

        run(1)  # warm-up
        times = {n: [] for n in a.sizes}
        for _ in range(a.runs):
            for n in a.sizes:
                t0 = time.perf_counter()
                run(n)
                times[n].append(time.perf_counter() - t0)
        med = {n: statistics.median(ts) for n, ts in times.items()}
        print(f"{name}: " + ", ".join(f"{n} in one batch {med[n]:.2f} s ({med[n] / n:.2f} s per picture)"
                                      for n in a.sizes) + f" (medians of {a.runs}, 1 thread)", flush=True)


if __name__ == "__main__":
    main()
