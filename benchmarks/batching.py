"""Would batching concurrent denoise requests pay off, and what does a second thread give?

Different 50-step DDIM requests (guidance 3) run one after another vs as one batch through the same
UNet, as the app runs them (`models.diffusion.inference_unet`: traced, bfloat16 where the CPU has it)
and with the plain eager float32 model, at each torch thread count in --threads. Then one UNet call of
2 and 8 rows (a guided picture, a class's batch of 4) with each thread count, wall time and CPU time:
with the graph built for that count (what the app does) and with the graph built for 1 thread (what
it did before: a fused graph keeps the thread count it was built with). Medians of interleaved runs.

    python -m benchmarks.batching --runs 3 --threads 1 2
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def per_call(fn, calls: int = 40, repeats: int = 5) -> tuple[float, float]:
    """(median wall ms, mean CPU ms) of one call of `fn`, after a warm-up."""
    with torch.inference_mode():
        for _ in range(10):
            fn()
        walls, c0 = [], cpu_seconds()
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            walls.append((time.perf_counter() - t0) / calls * 1000)
        return statistics.median(walls), (cpu_seconds() - c0) / (calls * repeats) * 1000


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--sizes", type=int, nargs="*", default=[1, 2, 4, 8], help="requests per batch")
    p.add_argument("--threads", type=int, nargs="*", default=[1], help="torch thread counts to measure")
    a = p.parse_args(argv)
    import models
    from models.diffusion import inference_unet, make_scheduler, precision, sample

    torch.set_num_threads(1)
    bundle = models.load("tiny-ddpm")
    fast = inference_unet(bundle.model)
    one_thread_graph = fast.graph()  # built while this thread has 1 torch thread
    unets = {f"app ({precision(bundle.model)}, traced)": fast, "eager float32": bundle.model}
    for threads in a.threads:
        torch.set_num_threads(threads)
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
            print(f"{name}, {threads} thread{'s' if threads > 1 else ''}: " + ", ".join(
                f"{n} in one batch {med[n]:.2f} s ({med[n] / n:.2f} s per picture)" for n in a.sizes)
                + f" (medians of {a.runs})", flush=True)
    if not fast.traced:
        return
    t = torch.tensor(500)
    for rows in (2, 8):
        x, labels = torch.randn(rows, 1, 28, 28), torch.arange(rows) % 10
        for threads in a.threads:
            torch.set_num_threads(threads)
            own = per_call(lambda: fast(x, t, labels))  # noqa: B023 - called here, in this iteration
            old = per_call(lambda: one_thread_graph(x, t, labels))  # noqa: B023
            print(f"one call of {rows} rows, {threads} thread{'s' if threads > 1 else ''}: the graph built for "
                  f"{threads}: {own[0]:.1f} ms ({own[1]:.1f} ms of CPU); the graph built for 1 thread: "
                  f"{old[0]:.1f} ms ({old[1]:.1f} ms of CPU)", flush=True)


if __name__ == "__main__":
    main()
