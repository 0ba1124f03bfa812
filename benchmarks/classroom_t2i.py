"""Text to image for a class, against its two yardsticks, measured in one run.

    python -m benchmarks.classroom_t2i                 # 30 students (about 3 minutes on 2 cores)
    python -m benchmarks --only t2i_classroom          # the same, as a section of the full benchmark
    python -m benchmarks.classroom_t2i --students 10   # a quick try

- web floor: a bare Gradio app that only echoes (benchmarks/echo_app.py, queue with 2 workers),
  pressed by the same number of students at once (what even nothing costs a class here);
- bare work: the students' runs of the shipped denoiser alone (the page's defaults: 4 images x 25
  DDIM steps, both guidance branches; no recording, no views, only the final decode), two at a time
  with one torch thread each, as the app's two compute slots run them;
- same example: every student presses Generate on one example nobody ran before (the run and its
  views are computed once; the others wait for it and get the stored answer);
- own prompts: every student types their own prompt (varied digits, colours, phrasings, seeds);
- answer size: the bytes of one default answer (every output of the Generate event).
Every student is a browser's request from a new session (benchmarks/press.py). Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from benchmarks.startup import ROOT, free_port

API = "text_to_image"
COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "white", "black"]
PHRASES = ["a {f} {d} on a {b} background", "the number {w} in {f} over {b}", "draw a {f} {w} on {b}",
           "{f} digit {d}, {b} backdrop", "a small {f} {d} on {b}", "please paint a {f} {w} on a {b} background"]
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def own_prompt(rng: random.Random) -> str:
    d = rng.randrange(10)
    f, b = rng.sample(COLOURS, 2)
    return rng.choice(PHRASES).format(d=d, w=WORDS[d], f=f, b=b)


def settings(prompt: str, seed: int) -> tuple:
    """The page's defaults: (prompt, negative, steps, guidance, seed, images, model, show [CLS]/[SEP])."""
    from explainers import t2i_spec as spec

    return (prompt, "", spec.DEFAULT_STEPS, spec.DEFAULT_GUIDANCE, seed, spec.DEFAULT_IMAGES, spec.DEFAULT_MODEL, False)


def start(args: list[str]) -> tuple[subprocess.Popen, str]:
    import urllib.request

    port = free_port()
    proc = subprocess.Popen([sys.executable, *args, str(port)] if args[0].endswith("echo_app.py") else
                            [sys.executable, *args, "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}/"
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 600:
        try:
            urllib.request.urlopen(url, timeout=5)
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"{args} did not start")


def round_(url: str, api: str, inputs: list[tuple]) -> dict:
    """Everyone presses at the same moment (a barrier); wait = press -> result."""
    from benchmarks.press import Endpoints

    ep = Endpoints(url)
    go = threading.Barrier(len(inputs))
    waits, errors, sizes = [], [], []

    def student(args):
        go.wait()
        t0 = time.perf_counter()
        try:
            _, data = ep.press(api, args, timeout=900)
            waits.append(time.perf_counter() - t0)
            sizes.append(len(json.dumps(data)))
        except Exception as e:  # noqa: BLE001 - counted and reported
            errors.append(f"{type(e).__name__}: {str(e)[:160]}")

    with ThreadPoolExecutor(len(inputs)) as ex:
        list(ex.map(student, inputs))
    return dict(n=len(inputs), errors=len(errors), error_examples=errors[:3], p50=float(np.percentile(waits, 50)),
                p95=float(np.percentile(waits, 95)), max=max(waits), answer_kb=round(float(np.median(sizes)) / 1024, 1))


def bare_work(prompts: list[str]) -> float:
    """Seconds for the students' runs of the denoiser alone, two at a time, one torch thread each."""
    import torch

    from explainers import t2i_spec as spec
    from explainers import text_to_image as t2i

    torch.set_num_threads(1)
    bundle = t2i.models.load(spec.DEFAULT_MODEL)
    empty = t2i.encode_prompt("")
    n = spec.DEFAULT_IMAGES

    def one(i_prompt):
        i, p = i_prompt
        e = t2i.encode_prompt(p)
        out = t2i.sample(bundle, (e.states.expand(n, -1, -1), torch.ones(n, e.states.shape[1])),
                         (empty.states.expand(n, -1, -1), torch.ones(n, empty.states.shape[1])),
                         t2i.start_noise(bundle, [i * 10 + k for k in range(n)]), spec.DEFAULT_STEPS,
                         spec.DEFAULT_GUIDANCE)
        t2i.decode(bundle, out["final"])

    one((0, "warm up"))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as ex:
        list(ex.map(one, enumerate(prompts)))
    return time.perf_counter() - t0


def measure(students: int = 30) -> dict:
    """The web floor, the bare work, and the same-example and own-prompt rounds (see the module doc)."""
    rng = random.Random(7)
    tag = f"{time.time():.0f}"[-5:]
    own = [settings(own_prompt(rng), rng.randrange(10**6)) for _ in range(students)]
    res: dict = {"students": students}

    echo, url = start([str(ROOT / "benchmarks" / "echo_app.py")])
    try:
        round_(url, "echo", [("warm",)] * 4)
        res["web_floor"] = round_(url, "echo", [(f"hello {i}",) for i in range(students)])
    finally:
        echo.terminate()
        echo.wait(20)
    res["bare_work_s"] = bare_work([s[0] for s in own])

    app, url = start(["app.py"])
    try:
        round_(url, API, [settings("a red 7 on a blue background", 0)])  # the teacher tried it before class
        res["same"] = round_(url, API, [settings("a green 3 on a white background", int(tag))] * students)
        res["own"] = round_(url, API, own)
    finally:
        app.terminate()
        app.wait(20)
    floor, work = res["web_floor"]["p95"], res["bare_work_s"]
    res["ratios"] = dict(same_p95_over_web_floor=round(res["same"]["p95"] / floor, 2),
                         own_p95_over_bare_work=round(res["own"]["p95"] / work, 2))
    return res


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=30)
    a = p.parse_args(argv)
    res = measure(a.students)
    print(json.dumps(res, indent=1))
    out = ROOT / "benchmarks" / "results" / f"classroom-t2i-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
