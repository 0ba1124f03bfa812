"""Text to image for a class, against its two yardsticks, measured in one run.

    python -m benchmarks.classroom_t2i                 # 30 students (about 3 minutes on 2 cores)
    python -m benchmarks --only t2i_classroom          # the same, as a section of the full benchmark
    python -m benchmarks.classroom_t2i --students 10   # a quick try
    python -m benchmarks.classroom_t2i --client gradio_client   # the students as 30 gradio_clients
    python -m benchmarks.classroom_t2i --client gradio_client --repeats 3   # own prompts: median of 3

- web floor: a bare Gradio app that only echoes (benchmarks/echo_app.py, queue with 2 workers),
  pressed by the same number of students at once (what even nothing costs a class here);
- bare work: the students' runs of the shipped denoiser alone (the page's defaults: 4 images x 25
  DDIM steps, both guidance branches; no recording, no views, only the final decode), two at a time
  with one torch thread each, as the app's two compute slots run them;
- same example: every student presses Generate on one of the tab's listed examples (the app runs and
  renders them into the store once its models are warm, as Gradio's cache_examples would: the round
  starts when the app's `store_stats` says the warm-up is done);
- same new prompt: every student presses Generate on one prompt nobody ran before (the run and its
  views are computed once; the others wait for it and get the stored answer). Its yardstick is the web
  floor plus one run alone (`one_run_s`: the same denoiser loop, 2 threads, no recording);
- own prompts: every student types their own prompt (varied digits, colours, phrasings, seeds);
- answer size: the bytes of one default answer (every output of the Generate event).
Every student is a browser's request from a new session (benchmarks/press.py, next to no client CPU);
`--client gradio_client` runs one gradio_client per student in this process instead (the issue's
yardstick: their CPU competes with the server's). Run it on an idle machine.
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
import torch

from benchmarks.press import Endpoints, connect
from benchmarks.startup import ROOT, free_port
from explainers import t2i_spec as spec
from explainers import text_to_image as t2i
from ui.text_to_image import EXAMPLES

API = "text_to_image"
COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "white", "black"]
PHRASES = ["a {f} {d} on a {b} background", "the number {w} in {f} over {b}", "draw a {f} {w} on {b}",
           "{f} digit {d}, {b} backdrop", "a small {f} {d} on {b}", "please paint a {f} {w} on a {b} background"]
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def own_prompt(rng: random.Random) -> str:
    d = rng.randrange(10)
    f, b = rng.sample(COLOURS, 2)
    return rng.choice(PHRASES).format(d=d, w=WORDS[d], f=f, b=b)


def settings(prompt: str, seed: int, negative: str = "", steps: int | None = None, guidance: float | None = None) -> tuple:
    """The page's defaults: (prompt, negative, steps, guidance, seed, images, model, show [CLS]/[SEP])."""
    return (prompt, negative, spec.DEFAULT_STEPS if steps is None else steps,
            spec.DEFAULT_GUIDANCE if guidance is None else guidance, seed, spec.DEFAULT_IMAGES, spec.DEFAULT_MODEL, False)


def wait_warm(url: str, limit: float = 600) -> float:
    """Seconds until the app's warm-up (models, then the listed examples) is done."""
    t0 = time.perf_counter()
    client = connect(url)
    try:
        while time.perf_counter() - t0 < limit:
            if client.predict(api_name="/store_stats").get("warm"):
                return time.perf_counter() - t0
            time.sleep(1)
    finally:
        client.close()
    raise RuntimeError("the app's warm-up did not finish")


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


def round_(url: str, api: str, inputs: list[tuple], client: str = "lean") -> dict:
    """Everyone presses at the same moment (a barrier); wait = press -> result. client "lean": a browser's
    request (benchmarks/press.py); "gradio_client": one gradio_client each, connected before the press."""
    ep = Endpoints(url)
    n = len(inputs)
    clients = []
    if client == "gradio_client":
        with ThreadPoolExecutor(n) as ex:
            clients = list(ex.map(lambda _: connect(url), range(n)))
    go = threading.Barrier(n)
    waits, errors, sizes = [], [], []

    def student(i):
        go.wait()
        t0 = time.perf_counter()
        try:
            if clients:
                data = clients[i].submit(*ep.data(api, inputs[i]), api_name="/" + api).result(timeout=900)
            else:
                _, data = ep.press(api, inputs[i], timeout=900)
            waits.append(time.perf_counter() - t0)
            sizes.append(len(json.dumps(data)))
        except Exception as e:  # noqa: BLE001 - counted and reported
            errors.append(f"{type(e).__name__}: {str(e)[:160]}")

    with ThreadPoolExecutor(n) as ex:
        list(ex.map(student, range(n)))
    for c in clients:
        c.close()
    return dict(n=len(inputs), errors=len(errors), error_examples=errors[:3], p50=float(np.percentile(waits, 50)),
                p95=float(np.percentile(waits, 95)), max=max(waits), answer_kb=round(float(np.median(sizes)) / 1024, 1))


def web_floor(students: int = 30, client: str = "lean") -> dict:
    """The same class pressing a bare Gradio app that only echoes (benchmarks/echo_app.py): what even
    nothing costs a class on this machine."""
    echo, url = start([str(ROOT / "benchmarks" / "echo_app.py")])
    try:
        round_(url, "echo", [("warm",)] * 4, client)
        return round_(url, "echo", [(f"hello {i}",) for i in range(students)], client)
    finally:
        echo.terminate()
        echo.wait(20)


def bare_run(i: int, prompt: str) -> None:
    """One student's run of the shipped denoiser alone: the page's defaults, no recording, only the final decode."""
    bundle = t2i.models.load(spec.DEFAULT_MODEL)
    empty, e, n = t2i.encode_prompt(""), t2i.encode_prompt(prompt), spec.DEFAULT_IMAGES
    out = t2i.sample(bundle, (e.states.expand(n, -1, -1), torch.ones(n, e.states.shape[1])),
                     (empty.states.expand(n, -1, -1), torch.ones(n, empty.states.shape[1])),
                     t2i.start_noise(bundle, [i * 10 + k for k in range(n)]), spec.DEFAULT_STEPS, spec.DEFAULT_GUIDANCE)
    t2i.decode(bundle, out["final"])


def bare_work(prompts: list[str]) -> float:
    """Seconds for the students' runs of the denoiser alone, two at a time, one torch thread each."""
    torch.set_num_threads(1)
    bare_run(0, "warm up")
    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as ex:
        list(ex.map(lambda ip: bare_run(*ip), enumerate(prompts)))
    return time.perf_counter() - t0


def one_run(repeats: int = 5) -> float:
    """Median seconds of one run alone on 2 threads (what a new prompt pressed by the whole class costs
    at least, on top of the web floor)."""
    torch.set_num_threads(2)
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        bare_run(i, "a green 3 on a white background")
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def measure(students: int = 30, client: str = "lean", repeats: int = 1) -> dict:
    """The web floor, the bare work, and the same-example, same-new-prompt and own-prompt rounds (see
    the module doc). repeats > 1: the bare work and the own-prompt round are measured that many times
    (each with other prompts and seeds; the bare works first, then the rounds in one app), and
    `own_p95_over_bare_work` is the median round's p95 over the median bare work: this machine's
    noise moves one round's ratio by a third."""
    rng = random.Random(7)
    tag = f"{time.time():.0f}"[-5:]
    owns = [[settings(own_prompt(rng), rng.randrange(10**6)) for _ in range(students)] for _ in range(max(1, repeats))]
    prompt, negative, steps, guidance, seed = rng.choice(EXAMPLES)  # the tab's rows
    res: dict = {"students": students, "client": client, "repeats": len(owns)}

    res["web_floor"] = web_floor(students, client)
    works = [bare_work([s[0] for s in o]) for o in owns]
    res["bare_work_s"] = works[0]
    res["one_run_s"] = one_run()

    app, url = start(["app.py"])
    try:
        res["warm_up_s"] = wait_warm(url)
        res["example"] = prompt
        res["same"] = round_(url, API, [settings(prompt, seed, negative, steps, guidance)] * students, client)
        res["same_new"] = round_(url, API, [settings("a green 3 on a white background", int(tag))] * students, client)
        rounds = [round_(url, API, o, client) for o in owns]
        res["own"] = rounds[0]
    finally:
        app.terminate()
        app.wait(20)
    floor = res["web_floor"]["p95"]
    work, own_p95 = float(np.median(works)), float(np.median([r["p95"] for r in rounds]))
    res["ratios"] = dict(same_p95_over_web_floor=round(res["same"]["p95"] / floor, 2),
                         same_new_p95_over_web_floor=round(res["same_new"]["p95"] / floor, 2),
                         same_new_p95_over_floor_plus_one_run=round(res["same_new"]["p95"] / (floor + res["one_run_s"]), 2),
                         own_p95_over_bare_work=round(own_p95 / work, 2))
    if len(owns) > 1:
        res["repeated"] = dict(bare_work_s=works, own_p95_s=[r["p95"] for r in rounds],
                               own_errors=sum(r["errors"] for r in rounds),
                               each_own_p95_over_median_bare_work=[round(r["p95"] / work, 2) for r in rounds])
    return res


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=30)
    p.add_argument("--client", choices=["lean", "gradio_client"], default="lean")
    p.add_argument("--repeats", type=int, default=1, help="bare works and own-prompt rounds, medians compared")
    a = p.parse_args(argv)
    res = measure(a.students, a.client, a.repeats)
    print(json.dumps(res, indent=1))
    out = ROOT / "benchmarks" / "results" / f"classroom-t2i-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
