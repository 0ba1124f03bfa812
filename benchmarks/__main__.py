"""`python -m benchmarks`: measure what the README promises, print a table, write JSON.

Sections (medians over several runs; ratios to a floor measured in the same run):
  startup      python app.py to HTTP-ready vs a bare Gradio app importing the same libraries
  first        first result of each tab right after start-up (models warm in the background)
  latency      p50 / p95 of every main endpoint on its default example, uncached inputs
  denoise      50-step DDIM with guidance, capturing every intermediate, vs a bare diffusers loop
  sliders      server time of slider moves (cached lookups) and proof that no model runs
  classroom    30 clients at once on the default examples: throughput, p95, errors, peak memory,
               and the speed-up of serving identical requests from the cache
  memory       server memory over 500 mixed requests (bounded caches: it must plateau)
  quality      tiny-ddpm accuracy/diversity at 50 samples per digit (slow; --quality)

    python -m benchmarks                 # everything but the slow quality run (~10-15 min on 2 cores)
    python -m benchmarks --only startup latency
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.startup import ROOT, free_port, measure

RESULTS = ROOT / "benchmarks" / "results"

# (api_name, default example) for every tab's main endpoints
DEFAULTS = {
    "attention": ("I sat on the bank of the river.", "minilm"),
    "next_token": ("To be, or not to", "tiny-gpt", 1.0, 0, 1.0),
    "generate": ("ROMEO:", "tiny-gpt", 20, 1.0, 0, 1.0, 0),
    "denoise": ("a handwritten 7", 50, 3.0, 0, "ddim", "tiny-ddpm", 1),
    "race": ("ROMEO:", "a handwritten 5", 20, 20, 0),
}


def varied(api: str, i: int) -> tuple:
    """The default example made unique (so it is not served from a cache)."""
    a = list(DEFAULTS[api])
    if api in ("attention", "next_token"):
        a[0] = f"{a[0]} ({i})" if api == "attention" else a[0] + " " * (i + 1)
    elif api == "generate":
        a[6] = 1000 + i
    elif api == "denoise":
        a[3] = 1000 + i
    elif api == "race":
        a[4] = 1000 + i
    return tuple(a)


def pct(xs, q):
    return float(np.percentile(xs, q)) if xs else float("nan")


class Server:
    def __init__(self):
        self.port = free_port()
        env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "app.py", "--port", str(self.port)], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}/"
        import urllib.request

        while True:
            try:
                urllib.request.urlopen(self.url, timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        self.ready_after = time.perf_counter() - self.t0
        from gradio_client import Client

        self.client = Client(self.url, verbose=False)

    def call(self, api: str, *args, timeout: float = 600):
        return self.client.submit(*args, api_name="/" + api).result(timeout=timeout)

    def rss_mb(self, peak: bool = False) -> float:
        key = "VmHWM" if peak else "VmRSS"
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self):
        self.proc.terminate()
        self.proc.wait(20)


def timed(fn, *a, **k) -> float:
    t0 = time.perf_counter()
    fn(*a, **k)
    return time.perf_counter() - t0


def bench_first(s: Server) -> dict:
    out = {}
    for api in ("attention", "next_token", "denoise", "race"):
        out[api] = timed(s.call, api, *DEFAULTS[api])
    return out


def bench_latency(s: Server, runs: int = 5) -> dict:
    out = {}
    for api in DEFAULTS:
        n = 3 if api in ("race", "denoise") else runs
        xs = [timed(s.call, api, *varied(api, i)) for i in range(n)]
        cached = [timed(s.call, api, *DEFAULTS[api]) for _ in range(n)]
        out[api] = dict(p50=statistics.median(xs), p95=pct(xs, 95), runs=n, cached_p50=statistics.median(cached))
    return out


def bench_denoise(runs: int = 3) -> dict:
    import torch

    import models
    from explainers import denoising
    from models.diffusion import make_scheduler, sample

    bundle = models.load("tiny-ddpm")
    capture, bare = [], []
    labels = torch.tensor([7])
    for i in range(runs):  # interleaved
        bare.append(timed(sample, bundle.model, make_scheduler(bundle.scheduler.config, "ddim"), labels, 50, 3.0, i,
                          null_class=10, capture=False))
        capture.append(timed(denoising._denoise.uncached, "a handwritten 7", 50, 3.0, i, "ddim", "tiny-ddpm", 1))
    a, b = statistics.median(capture), statistics.median(bare)
    return dict(app_seconds=a, bare_seconds=b, ratio=a / b, goal=1.15, runs=runs)


def bench_sliders(s: Server, n: int = 40) -> dict:
    """Server time of slider endpoints, measured in this process on the app's own handlers."""
    import models
    import models.catalog as catalog
    from ui import attention as ua
    from ui import denoising as ud
    from ui import next_token as un

    dn = DEFAULTS["denoise"]
    gen = DEFAULTS["generate"]
    ua.run_attention(*DEFAULTS["attention"])
    ud.run_denoise(*dn)
    un.generate(*gen)
    unet = models.load("tiny-ddpm").model
    calls = [0]
    h = unet.register_forward_hook(lambda *a: calls.__setitem__(0, calls[0] + 1))
    loads = catalog.load_count
    cases = {
        "denoise_step": lambda i: ud.show_step(*dn, i % 51, 0),
        "generation_step": lambda i: un.show_step(*gen, 1 + i % 20),
        "heatmap": lambda i: ua.heatmap(*DEFAULTS["attention"], i % 6, i % 12, False),
    }
    out = {}
    for name, fn in cases.items():
        xs = [timed(fn, i) for i in range(n)]
        out[name] = dict(p50_ms=1e3 * statistics.median(xs), p95_ms=1e3 * pct(xs, 95), goal_ms=50)
    h.remove()
    out["unet_calls_during_scrubbing"] = calls[0]
    out["model_loads_during_scrubbing"] = catalog.load_count - loads
    return out


def bench_classroom(s: Server, students: int = 30) -> dict:
    plan = ["attention", "next_token", "generate", "denoise"]
    # a fresh example nobody has run yet, so the first student pays and the others hit the cache
    fresh = {api: varied(api, 777) for api in plan}
    lat, errors = [], []
    peak = [s.rss_mb()]
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], s.rss_mb())
            time.sleep(0.2)

    def student(i):
        from gradio_client import Client

        c = Client(s.url, verbose=False)
        for api in plan:
            t0 = time.perf_counter()
            try:
                c.submit(*fresh[api], api_name="/" + api).result(timeout=900)
                lat.append((api, time.perf_counter() - t0))
            except Exception as e:  # noqa: BLE001
                errors.append(f"{api}: {e}")

    w = threading.Thread(target=watch, daemon=True)
    w.start()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(students) as ex:
        list(ex.map(student, range(students)))
    wall = time.perf_counter() - t0
    stop.set()
    xs = [t for _, t in lat]
    uncached = {api: timed(s.call, api, *varied(api, 888)) for api in plan}
    return dict(students=students, requests=len(xs) + len(errors), errors=len(errors), error_examples=errors[:3],
                wall_seconds=wall, throughput_rps=len(xs) / wall, p50=pct(xs, 50), p95=pct(xs, 95),
                peak_rss_mb=peak[0], one_uncached_request_each=uncached,
                cache_speedup=sum(uncached.values()) * students / wall)


def bench_memory(s: Server, total: int = 500) -> dict:
    rss = {0: s.rss_mb()}
    cheap = ["attention", "next_token"]
    for i in range(1, total + 1):
        api = cheap[i % 2] if i % 25 else "generate"
        s.call(api, *varied(api, i))
        if i % 100 == 0:
            rss[i] = s.rss_mb()
    return dict(rss_mb=rss, growth_last_300_mb=rss[total] - rss[200])


OUT = RESULTS / f"benchmarks-{time.strftime('%Y%m%d-%H%M%S')}.json"


def save(res: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=1, default=float))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", default=None)
    p.add_argument("--quality", action="store_true", help="also run the 50-per-digit diffusion quality check")
    a = p.parse_args(argv)
    want = lambda name: a.only is None or name in a.only  # noqa: E731
    res: dict = {"machine": f"{os.cpu_count()} CPU cores", "time": time.strftime("%Y-%m-%d %H:%M")}
    if want("startup"):
        res["startup"] = measure(3)
        print(f"startup: app {res['startup']['app_median']:.1f} s vs bare {res['startup']['bare_median']:.1f} s "
              f"-> {res['startup']['ratio']:.2f}x (goal <= 1.3)", flush=True)
    server_parts = [x for x in ("first", "latency", "sliders", "classroom", "memory") if want(x)]
    if server_parts:
        s = Server()
        try:
            for part in server_parts:
                fn = {"first": bench_first, "latency": bench_latency, "sliders": bench_sliders,
                      "classroom": bench_classroom, "memory": bench_memory}[part]
                res[part] = fn(s)
                print(part, json.dumps(res[part], default=float, indent=1), flush=True)
                save(res)
        finally:
            s.close()
    if want("denoise"):
        res["denoise"] = bench_denoise()
        print("denoise", json.dumps(res["denoise"], indent=1), flush=True)
    if a.quality:
        from models.eval_tiny_ddpm import evaluate

        res["quality"] = evaluate(per_digit=50)
        print("quality", json.dumps(res["quality"], indent=1), flush=True)
    save(res)
    print(f"written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
