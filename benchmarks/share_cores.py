"""A run alone: with and without the idle core it can take at its next step, and beside a busy process.

    python -m benchmarks.share_cores              # 16 runs each way, interleaved (about 20 s on 2 cores)
    python -m benchmarks.share_cores --beside-busy --runs 6   # about 40 s

Default: a 50-step tiny-ddpm picture (one student's Denoise) is run with the other compute slot free, so the
sampling loop takes it and its threads (`explainers.compute.sharing_cores`), and with that slot held by an
idle thread, so the run keeps one core as it did before the loops shared the cores out.

--beside-busy: a Denoise and a 4-image Text to image run alone, on an idle machine and beside one process
that keeps a core busy (a browser, another program, a neighbour on a shared machine), each with the app's
pacing (`explainers.compute.Pace`: more slots kept only while their steps go faster) and without it
(PACE_GAIN set to infinity: every free slot taken, as before the pacing). A free slot is not a free core:
beside the busy process, a step on two OpenMP threads waits at every op for the thread that lost its core.

The ways alternate in one process, each run with its own seed; medians are printed. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import threading
import time

import numpy as np

from explainers import compute, denoising, text_to_image


def alone(seed: int, other_slot_free: bool) -> float:
    """Seconds of one Denoise, the other compute slot free or held by an idle thread."""
    release, held = threading.Event(), threading.Event()

    def hold():
        with compute.compute_slot():
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


@contextlib.contextmanager
def busy_core(on: bool):
    """A process spinning on one core while the block runs (none when not `on`)."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if on else None
    try:
        time.sleep(0.2 if on else 0)
        yield
    finally:
        if proc is not None:
            proc.kill()
            proc.wait(10)


@contextlib.contextmanager
def pacing(on: bool):
    """The app's pacing, or every free slot taken whatever it pays (PACE_GAIN infinite)."""
    gain = compute.PACE_GAIN
    compute.PACE_GAIN = gain if on else float("inf")
    try:
        yield
    finally:
        compute.PACE_GAIN = gain


def timed(fn, *args, **kwargs) -> float:
    t0 = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t0


def beside_busy(runs: int) -> dict:
    """Median seconds of a Denoise and a 4-image Text to image run alone, idle and beside a busy core,
    with and without pacing, interleaved."""
    times: dict[str, list[float]] = {}
    for i in range(runs):
        for busy in (False, True):
            for paced in (True, False):
                seed = 7000 + 8 * i + 2 * busy + paced
                with busy_core(busy), pacing(paced):
                    where = f"{'beside a busy core' if busy else 'idle'}, {'paced' if paced else 'every free slot'}"
                    times.setdefault(f"denoise, {where}", []).append(
                        timed(denoising.denoise, "a handwritten 7", 50, 3.0, seed))
                    times.setdefault(f"text to image (4 images), {where}", []).append(
                        timed(text_to_image.generate, "a red 3 on a blue background", n_images=4, seed=seed))
    return {k: dict(median_s=round(float(np.median(v)), 3), runs=len(v)) for k, v in times.items()}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=16)
    p.add_argument("--beside-busy", action="store_true", help="alone, idle and beside a busy core, paced or not")
    a = p.parse_args(argv)
    denoising.denoise("a handwritten 3", 50, 3.0, 1)  # load and warm the UNet
    if a.beside_busy:
        text_to_image.generate("a red 3 on a blue background", n_images=4, seed=1)  # and the DiT
        print(json.dumps(beside_busy(a.runs), indent=1))
        return
    times = {"other slot free": [], "other slot held": []}
    for i in range(a.runs):
        for free in (True, False):
            times["other slot free" if free else "other slot held"].append(alone(5000 + 2 * i + free, free))
    print(json.dumps({k: dict(median_s=round(float(np.median(v)), 3), p10_s=round(float(np.percentile(v, 10)), 3))
                      for k, v in times.items()}, indent=1))


if __name__ == "__main__":
    main()
