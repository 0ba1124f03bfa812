"""A denoising run alone, with and without the idle core it can take at its next step.

    python -m benchmarks.share_cores              # 16 runs each way, interleaved (about 20 s on 2 cores)

A 50-step tiny-ddpm picture (one student's Denoise) is run with the other compute slot free, so the
sampling loop takes it and its threads at its next step (`explainers.compute.sharing_cores`), and with
that slot held by an idle thread, so the run keeps one core as it did before the loops shared the cores
out. The two alternate in one process, each with its own seed; medians are printed. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import numpy as np

from explainers import denoising
from explainers.compute import compute_slot


def alone(seed: int, other_slot_free: bool) -> float:
    """Seconds of one Denoise, the other compute slot free or held by an idle thread."""
    release, held = threading.Event(), threading.Event()

    def hold():
        with compute_slot():
            held.set()
            release.wait(60)

    holder = None if other_slot_free else threading.Thread(target=hold)
    if holder is not None:
        holder.start()
        held.wait(10)
    try:
        t0 = time.perf_counter()
        denoising.denoise("a handwritten 7", 50, 3.0, seed)
        return time.perf_counter() - t0
    finally:
        release.set()
        if holder is not None:
            holder.join(10)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=16)
    a = p.parse_args(argv)
    denoising.denoise("a handwritten 3", 50, 3.0, 1)  # load and warm the UNet
    times = {"other slot free": [], "other slot held": []}
    for i in range(a.runs):
        for free in (True, False):
            times["other slot free" if free else "other slot held"].append(alone(5000 + 2 * i + free, free))
    print(json.dumps({k: dict(median_s=round(float(np.median(v)), 3), p10_s=round(float(np.percentile(v, 10)), 3))
                      for k, v in times.items()}, indent=1))


if __name__ == "__main__":
    main()
