"""`python -m benchmarks`: measure what the README promises, print a table, write JSON.

Sections (medians over several runs; ratios to a floor measured in the same run):
  startup      python app.py to HTTP-ready vs a bare Gradio app importing the same libraries
  first        first result of each tab right after start-up (models warm in the background)
  latency      p50 / p95 of every main endpoint on its default example, uncached inputs
  denoise      50-step DDIM with guidance, capturing every intermediate, vs a bare diffusers loop
  sliders      server time of the per-view API endpoints (denoise_step, generation_step, heatmap: lookups
               for gradio_client users; the page itself switches frames in the browser) and proof
               that no model runs
  classroom    the web floor (a bare echo app pressed by the same class), then four rounds of 30
               clients, one request each, spread evenly over attention, next token and 50-step
               denoise, after the app's warm-up. Each client is a browser's request from a new
               session (benchmarks/press.py: the page's own queue protocol, next to no client CPU,
               as 30 browsers on 30 other machines); --classroom-client gradio_client runs 30
               gradio_clients in this process instead:
                 same        everyone presses the same listed example (stored at warm-up)
                 same_new    everyone runs the same input, one nobody ran before (single flight:
                             one computation, the others wait for it)
                 own         everyone runs their own input at the same moment: varied sentences,
                             prompts, sampling settings, digits and seeds, generated programmatically
                 own_spread  the same, each pressing at a random moment within 3 seconds
               each: p50 / p95 / max wait from press to result, errors, the server's CPU seconds,
               peak server memory
  scrub        Chromium (Playwright): run each tab once (Denoising first), then press ArrowLeft on every
               scrubber slider (`explainers.frames.scrubber`, `input[data-scrub]`) on it: key press ->
               new frame on screen (page clock, first animation frame after the change), p50 / p95,
               and the number of /gradio_api requests while scrubbing (goal: none)
  click        Chromium: click -> result drawn, for attention, next token, noising and 50-step
               denoise, a new input each click (so never from a cache), p50 / p95
  memory       server memory over 500 mixed requests (bounded caches: it must plateau)
  t2i_classroom  Text to image for 30 students: the web floor (a bare echo app), the bare work, the same
               example and own prompts, and the answer size (benchmarks/classroom_t2i.py)
  translate    tiny-dates: one translation with every attention recorded vs bare greedy decoding, its step
               view's render time and size (in this process, uncached)
  text_diffusion  tiny-diffusion-lm: 64 tokens in 16 unmasking steps (the issue's goal: <= 1 s on 2 cores) vs
               tiny-gpt writing the same 64 tokens one per pass, interleaved on the same prompts (uncached)
  quality      tiny-ddpm accuracy/diversity at 50 samples per digit (slow; --quality)

Run it on an otherwise idle machine: the figures are meant for 2 free cores.

    python -m benchmarks                 # everything but the slow quality run (~15-20 min on 2 cores)
    python -m benchmarks --only startup latency
    python -m benchmarks --only classroom scrub click --students 3 --presses 5 --clicks 1   # a quick try
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks import classroom_t2i
from benchmarks.press import Endpoints, connect
from benchmarks.startup import ROOT, free_port, measure
from explainers import denoising
from ui import attention as ui_attention
from ui import denoising as ui_denoising
from ui import next_token as ui_next_token

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
    def __init__(self, attempts: int = 3):
        env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
        for attempt in range(attempts):  # on a busy machine gradio's own 3 s check of localhost can fail
            self.t0 = time.perf_counter()
            if self._start(env) or attempt == attempts - 1:
                break
        if self.proc.poll() is not None:
            self.log.seek(0)
            raise RuntimeError("app.py did not start:\n" + self.log.read().decode(errors="replace")[-3000:])
        self.ready_after = time.perf_counter() - self.t0
        try:
            self.client = connect(self.url)
        except BaseException:
            self.close()
            raise

    def _start(self, env: dict) -> bool:
        import tempfile
        import urllib.request

        self.port = free_port()
        self.log = tempfile.TemporaryFile()  # the server's output, shown if it dies before it is ready
        self.proc = subprocess.Popen([sys.executable, "app.py", "--port", str(self.port)], cwd=ROOT, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/"
        while self.proc.poll() is None and time.perf_counter() - self.t0 < 600:
            try:
                urllib.request.urlopen(self.url, timeout=5)
                return True
            except OSError:
                time.sleep(0.5)
        if self.proc.poll() is None:
            self.proc.kill()
        return False

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
    """One request at a time, after the app's warm-up (models, then the tabs' listed examples) is done."""
    classroom_t2i.wait_warm(s.url)
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
    from models.diffusion import inference_unet, make_scheduler, precision, sample

    bundle = models.load("tiny-ddpm")
    capture, bare, fp32 = [], [], []
    labels = torch.tensor([7])
    fast = inference_unet(bundle.model)  # the bare loop samples in the app's precision: the ratio is capture's cost
    for i in range(runs):  # interleaved
        fp32.append(timed(sample, bundle.model, make_scheduler(bundle.scheduler.config, "ddim"), labels, 50, 3.0, i,
                          null_class=10, capture=False))
        bare.append(timed(sample, fast, make_scheduler(bundle.scheduler.config, "ddim"), labels, 50, 3.0, i,
                          null_class=10, capture=False))
        capture.append(timed(denoising._denoise.uncached, "a handwritten 7", 50, 3.0, i, "ddim", "tiny-ddpm", 1))
    a, b = statistics.median(capture), statistics.median(bare)
    return dict(app_seconds=a, bare_seconds=b, ratio=a / b, goal=1.15, runs=runs, precision=precision(bundle.model),
                bare_float32_seconds=statistics.median(fp32))


def bench_translate(runs: int = 30) -> dict:
    """tiny-dates: the app's translation (greedy + one pass recording every attention) vs bare greedy
    decoding, interleaved on the same dates; then the step view (every step x layer x head)."""
    import torch

    import models
    from explainers import translation, translation_views
    from models.dates import all_dates, render
    from models.seq2seq import greedy

    b = models.load("tiny-dates")
    texts = [render(d, "weekday") for d in all_dates()[::997][:runs]]
    app, bare, view = [], [], []
    for t in texts:
        enc = b.tokenizer(t, return_tensors="pt")
        bare.append(timed(greedy, b.model, enc.input_ids, enc.attention_mask, 11))
        app.append(timed(translation.translate.uncached, t))
    r = translation.translate.uncached(texts[0])
    for _ in range(5):
        view.append(timed(translation_views.steps_view, r))
    a, c = statistics.median(app), statistics.median(bare)
    return dict(translate_ms=1000 * a, bare_greedy_ms=1000 * c, ratio=a / c, goal_ms=50, runs=runs,
                threads=torch.get_num_threads(), step_view_ms=1000 * statistics.median(view),
                step_view_kb=len(translation_views.steps_view(r)) / 1024)


def bench_text_diffusion(runs: int = 12) -> dict:
    """64 tokens after prompts from the held-out plays: 16 unmasking passes vs tiny-gpt's 64 (uncached)."""
    import torch

    from explainers import generation, text_diffusion
    from training.eval_tiny_diffusion_lm import prompts

    diff, ar = [], []
    for i, p in enumerate(prompts(runs)):
        diff.append(timed(text_diffusion.run.uncached, *text_diffusion.check(p, 64, 16, i)))
        ar.append(timed(generation.generate.uncached, p, "tiny-gpt", 64, text_diffusion.TEMPERATURE,
                        0, 1.0, i))
    d, a = statistics.median(diff), statistics.median(ar)
    return dict(diffusion_16_steps_s=d, tiny_gpt_64_passes_s=a, ratio=d / a, goal_s=1.0, runs=runs,
                threads=torch.get_num_threads())


def bench_sliders(s: Server, n: int = 40) -> dict:
    """Server time of the per-view API endpoints, measured in this process on the app's own handlers."""
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
    from models.diffusion import inference_unet

    unet = models.load("tiny-ddpm").model
    calls = [0]
    hooks = [m.register_forward_hook(lambda *a: calls.__setitem__(0, calls[0] + 1))
             for m in {unet, inference_unet(unet)}]
    loads = catalog.load_count
    cases = {
        "denoise_step": lambda i: ud.show_step(*dn, i % 51, 0),
        "generation_step": lambda i: un.show_step(*gen, 1 + i % 20),
        "heatmap": lambda i: ua.heatmap(*DEFAULTS["attention"], 1 + i % 6, i % 13, False),  # layer 1..6, head 0..12
    }
    out = {}
    for name, fn in cases.items():
        xs = [timed(fn, i) for i in range(n)]
        out[name] = dict(p50_ms=1e3 * statistics.median(xs), p95_ms=1e3 * pct(xs, 95), goal_ms=50)
    for h in hooks:
        h.remove()
    out["unet_calls_during_scrubbing"] = calls[0]
    out["model_loads_during_scrubbing"] = catalog.load_count - loads
    return out


CLASS_APIS = ("attention", "next_token", "denoise")  # what a class presses, spread evenly

# The same listed example for everyone (the tabs run and render their listed examples once the models are
# warm), and the same new input (nobody ran it before, so no earlier section has cached it: one run, shared).
LISTED = {
    "attention": tuple(ui_attention.EXAMPLES[0]),
    "next_token": (*ui_next_token.EXAMPLES[1], *ui_next_token.DEFAULT_SAMPLING),
    "denoise": (*ui_denoising.EXAMPLES[1], denoising.DEFAULT_MODEL, 1),
}
SAME = {
    "attention": ("The teacher asked which word the pronoun it refers to.", "minilm"),
    "next_token": ("KING HENRY:\nOnce more unto the", "tiny-gpt", 1.0, 0, 1.0),
    "denoise": ("a handwritten 4", 50, 3.0, 4242, "ddim", "tiny-ddpm", 1),
}

_SUBJECTS = ["The cat", "My teacher", "A tired farmer", "The old bridge", "Our team", "The small robot",
             "The river", "A doctor", "Her brother", "The museum guard", "A young pilot", "The baker"]
_VERBS = ["watched", "followed", "carried", "forgot", "painted", "lifted", "noticed", "answered", "found", "sold"]
_OBJECTS = ["the letter", "a red kite", "the heavy box", "an empty glass", "the last train", "a blue umbrella",
            "the noisy crowd", "a strange map", "the broken clock", "a warm loaf"]
_ENDINGS = ["because it was late.", "before the storm came.", "near the bank of the river.", "and then it smiled.",
            "while everyone slept.", "after the long meeting.", "although it was raining.", "in the quiet library."]
_SPEAKERS = ["ROMEO", "JULIET", "HAMLET", "KING LEAR", "MACBETH", "PORTIA", "OTHELLO", "FIRST CITIZEN", "OPHELIA"]
_OPENERS = ["What light through", "I pray you, tell me", "My lord, the", "Good morrow to", "Now is the winter of",
            "Speak, for", "O, what a", "Tell me, sweet", "Why should the", "Come, let us"]
_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_PHRASES = ["a handwritten {d}", "the number {w}", "draw a {w}", "{w}", "write the digit {d}", "a big {d}"]


def own_input(api: str, rng) -> tuple:
    """A student's own input for `api`: a new sentence, prompt, sampling setting, digit and seed."""
    a = list(DEFAULTS[api])
    if api == "attention":
        a[0] = " ".join(rng.choice(part) for part in (_SUBJECTS, _VERBS, _OBJECTS, _ENDINGS))
    elif api == "next_token":
        a[0] = f"{rng.choice(_SPEAKERS)}:\n{rng.choice(_OPENERS)}"
        a[2], a[3], a[4] = rng.choice([0.5, 0.8, 1.0, 1.5, 2.0]), rng.choice([0, 5, 20, 50]), rng.choice([1.0, 0.9, 0.5])
    elif api == "denoise":
        d = rng.randrange(10)
        a[0] = rng.choice(_PHRASES).format(d=d, w=_WORDS[d])
        a[2], a[3] = rng.choice([1.0, 2.0, 3.0, 4.0]), rng.randrange(10**6)
    return tuple(a)


@contextlib.contextmanager
def peak_memory(s: Server):
    """Sample the server's resident memory every 0.2 s during the block; yields [peak MB]."""
    peak = [s.rss_mb()]
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], s.rss_mb())
            time.sleep(0.2)

    w = threading.Thread(target=watch, daemon=True)
    w.start()
    try:
        yield peak
    finally:
        stop.set()
        w.join()


def classroom_round(s: Server, inputs: list[tuple[str, tuple]], client: str = "lean", spread: float = 0.0) -> dict:
    """Every client presses at the same moment (a barrier), one request each; wait = press -> result.
    client "lean": a browser's request with a new session (benchmarks/press.py, next to no client CPU);
    "gradio_client": one gradio_client per student, all in this process (their CPU competes with the server's).
    spread: each student presses at a random moment within this many seconds after the barrier instead."""
    n = len(inputs)
    delays = [random.Random(i).uniform(0, spread) if spread else 0.0 for i in range(n)]
    if client == "gradio_client":
        with ThreadPoolExecutor(n) as ex:  # connect first: only the presses are timed
            clients = list(ex.map(lambda _: connect(s.url), range(n)))
    else:
        endpoints = Endpoints(s.url)
    go = threading.Barrier(n)
    waits: dict[str, list[float]] = {api: [] for api in CLASS_APIS}
    errors: list[str] = []

    def student(i):
        api, args = inputs[i]
        go.wait()
        time.sleep(delays[i])
        t0 = time.perf_counter()
        try:
            if client == "gradio_client":
                clients[i].submit(*args, api_name="/" + api).result(timeout=900)
            else:
                endpoints.press(api, args, timeout=900)
            waits[api].append(time.perf_counter() - t0)
        except Exception as e:  # noqa: BLE001 - counted and reported, the round goes on
            errors.append(f"{api}: {type(e).__name__}: {str(e)[:160]}")

    cpu0 = server_cpu_seconds(s)
    with peak_memory(s) as peak:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(n) as ex:
            list(ex.map(student, range(n)))
        wall = time.perf_counter() - t0
    xs = [w for ws in waits.values() for w in ws]
    if client == "gradio_client":
        for c in clients:
            with contextlib.suppress(Exception):
                c.close()
    return dict(students=n, client=client, spread_s=spread, errors=len(errors), error_examples=errors[:3], wall_seconds=wall,
                p50=pct(xs, 50), p95=pct(xs, 95), max=max(xs, default=float("nan")),
                per_api={api: dict(n=len(ws), p50=pct(ws, 50), p95=pct(ws, 95)) for api, ws in waits.items() if ws},
                server_cpu_seconds=server_cpu_seconds(s) - cpu0, peak_rss_mb=peak[0])


def server_cpu_seconds(s: Server) -> float:
    """CPU time (user + system) the server process has used so far."""
    f = Path(f"/proc/{s.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def bench_classroom(s: Server, students: int = 30, client: str = "lean") -> dict:
    """Four rounds of `students` (a third on each first tab) against the web floor measured in the same run:
    the same listed example, the same new input, their own inputs at one moment, and their own inputs
    pressed over 3 seconds (as a class really does)."""
    rng = random.Random(2026)
    floor = classroom_t2i.web_floor(students, client)
    classroom_t2i.wait_warm(s.url)  # the teacher opened the app before class: its warm-up has finished
    for api in CLASS_APIS:  # and pressed each tab once: models loaded
        s.call(api, *DEFAULTS[api])
    plan = [CLASS_APIS[i % len(CLASS_APIS)] for i in range(students)]
    res = dict(web_floor=floor,
               same=classroom_round(s, [(api, LISTED[api]) for api in plan], client),
               same_new=classroom_round(s, [(api, SAME[api]) for api in plan], client),
               own=classroom_round(s, [(api, own_input(api, rng)) for api in plan], client),
               own_spread=classroom_round(s, [(api, own_input(api, rng)) for api in plan], client, spread=3.0))
    res["ratios"] = {f"{k}_p95_over_web_floor": round(res[k]["p95"] / floor["p95"], 2)
                     for k in ("same", "same_new", "own", "own_spread")}
    return res


# Tabs whose scrubbers are measured: (tab, the button that runs it). A tab with no scrubber yet is reported so.
SCRUB_TABS = [("Denoising", "Denoise"), ("Attention", "Show attention"), (("Next token", "One token at a time"), "Generate"),
              ("Noising", "Add noise"), ("Side by side", "Race: run both, measured"), ("Text to image", "Generate")]


def bench_scrub(s: Server, presses: int = 30) -> dict:
    from benchmarks.browser import chromium, open_page, scrub_tab

    out = {}
    with chromium() as b:
        for tab, button in SCRUB_TABS:
            name = tab if isinstance(tab, str) else " / ".join(tab)
            page = None
            try:
                page = open_page(b, s.url)
                out[name] = scrub_tab(page, tab, button, presses, timeout_ms=300_000)
            except Exception as e:  # noqa: BLE001 - e.g. a tab not converted to scrubbers yet
                out[name] = {"not measured": f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"}
            finally:
                if page is not None:
                    page.close()
    return out


# click -> result: (tab, button, textbox label to make each click new or None, the new text for click i)
CLICKS = {
    "attention": ("Attention", "Show attention", "Text", lambda i: f"The student opened the book number {i} and read it."),
    "next_token": ("Next token", "Predict the next token", "Prompt", lambda i: f"ROMEO:\nWhat light through window {i}"),
    # the picture stays; a new step t each click, so the view differs (the same click again would
    # change nothing on screen, and there would be nothing to time)
    "noising": ("Noising", "Add noise", "number input for Open at step t (0 = clean, 999 = pure noise)",
                lambda i: str(100 + 37 * (i % 20))),
    "denoise_50": ("Denoising", "Denoise", "Prompt (a digit, in words or figures)", lambda i: f"a handwritten {i % 10}"),
}


def bench_click(s: Server, runs: int = 5) -> dict:
    """Click -> result drawn in Chromium, a new input each click (denoise: a new digit; noising: the
    same picture opened at a new step t, so its forward process is a lookup and the view is new)."""
    from benchmarks.browser import chromium, click_to_result, open_page, summarise

    out = {}
    with chromium() as b:
        page = open_page(b, s.url)
        for name, (tab, button, label, text) in CLICKS.items():
            try:
                ms = [click_to_result(page, tab, button, fill=(label, text(1000 + i)) if label else None)
                      for i in range(runs)]
                out[name] = summarise(ms)
            except Exception as e:  # noqa: BLE001 - reported, the other tabs still measured
                out[name] = {"not measured": f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"}
        page.close()
    goals = dict(attention=200, next_token=200, noising=200, denoise_50=1200)
    for name, g in goals.items():
        out[name]["goal_ms"] = g
    return out


def bench_memory(s: Server, total: int = 500) -> dict:
    """Server memory over `total` mixed requests, and what the run store holds (its budget bounds it)."""
    rss, store = {0: s.rss_mb()}, {}
    cheap = ["attention", "next_token"]
    for i in range(1, total + 1):
        if i % 20 == 7:  # every tab: text to image at the page's defaults, a new seed each time
            s.call("text_to_image", "a red 7 on a blue background", "", 25, 3.0, 5000 + i, 4, "tiny-t2i", False)
        else:
            api = "denoise" if i % 20 == 13 else cheap[i % 2] if i % 25 else "generate"
            s.call(api, *varied(api, i))
        if i % 100 == 0:
            rss[i] = s.rss_mb()
            store[i] = round(s.call("store_stats")["used_bytes"] / 2**20, 1)
    return dict(rss_mb=rss, store_mb=store, store_budget_mb=s.call("store_stats")["budget_bytes"] / 2**20,
                growth_last_300_mb=rss[total] - rss[total - 300])


OUT = RESULTS / f"benchmarks-{time.strftime('%Y%m%d-%H%M%S')}.json"


def save(res: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=1, default=float))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sections = ["startup", "first", "latency", "sliders", "classroom", "scrub", "click", "memory", "denoise",
                "t2i_classroom", "translate", "text_diffusion"]
    p.add_argument("--only", nargs="*", default=None, choices=sections, metavar="SECTION",
                   help=f"run only these sections: {', '.join(sections)}")
    p.add_argument("--quality", action="store_true", help="also run the 50-per-digit diffusion quality check")
    p.add_argument("--students", type=int, default=30, help="clients per classroom round")
    p.add_argument("--classroom-client", choices=["lean", "gradio_client"], default="lean",
                   help="lean: each student a browser-like request (benchmarks/press.py); gradio_client: "
                        "30 gradio_clients in this process, whose own CPU use competes with the server")
    p.add_argument("--presses", type=int, default=30, help="arrow-key presses per scrubber slider")
    p.add_argument("--clicks", type=int, default=5, help="clicks per tab for click -> result")
    a = p.parse_args(argv)
    want = lambda name: a.only is None or name in a.only  # noqa: E731
    res: dict = {"machine": f"{os.cpu_count()} CPU cores", "time": time.strftime("%Y-%m-%d %H:%M")}
    if want("startup"):
        res["startup"] = measure(3)
        print(f"startup: app {res['startup']['app_median']:.1f} s vs bare {res['startup']['bare_median']:.1f} s "
              f"-> {res['startup']['ratio']:.2f}x (goal <= 1.3)", flush=True)
    server_parts = [x for x in ("first", "latency", "sliders", "classroom", "scrub", "click", "memory") if want(x)]
    if server_parts:
        s = Server()
        try:
            for part in server_parts:
                fn = {"first": bench_first, "latency": bench_latency, "sliders": bench_sliders,
                      "classroom": lambda s: bench_classroom(s, a.students, a.classroom_client),
                      "scrub": lambda s: bench_scrub(s, a.presses), "click": lambda s: bench_click(s, a.clicks),
                      "memory": bench_memory}[part]
                res[part] = fn(s)
                print(part, json.dumps(res[part], default=float, indent=1), flush=True)
                save(res)
        finally:
            s.close()
    if want("t2i_classroom"):  # its own servers: a bare echo app (the web floor), then the app
        res["t2i_classroom"] = classroom_t2i.measure(a.students, a.classroom_client)
        print("t2i_classroom", json.dumps(res["t2i_classroom"], indent=1, default=float), flush=True)
    if want("denoise"):
        res["denoise"] = bench_denoise()
        print("denoise", json.dumps(res["denoise"], indent=1), flush=True)
    if want("translate"):
        res["translate"] = bench_translate()
        print("translate", json.dumps(res["translate"], indent=1), flush=True)
    if want("text_diffusion"):
        res["text_diffusion"] = bench_text_diffusion()
        print("text_diffusion", json.dumps(res["text_diffusion"], indent=1), flush=True)
    if a.quality:
        from training.eval_tiny_ddpm import evaluate

        res["quality"] = evaluate(per_digit=50)
        print("quality", json.dumps(res["quality"], indent=1), flush=True)
    save(res)
    print(f"written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
