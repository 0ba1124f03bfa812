"""A class on the tabs after the first ones: 30 students press one endpoint at the same moment, either
with the page's own default example (the first press computes it, everyone else shares it) or each
with their own input (a new seed, digit, date or prompt each), beside the web floor of the same run.

    python -m benchmarks.class_other_tabs                       # every endpoint below, both rounds
    python -m benchmarks.class_other_tabs --only race attention_cost --students 10

Each endpoint is pressed on a freshly started app (after its warm-up), so "default" is the cold first
press a teacher's class makes. Writes benchmarks/results/class-other-tabs-*.json.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from benchmarks.classroom_t2i import round_, start, wait_warm, web_floor
from benchmarks.startup import ROOT


def _date(r: random.Random) -> str:
    return f"{r.randrange(1, 29)} {r.choice(['May', 'June', 'July', 'December'])} {r.randrange(1950, 2030)}"


# endpoint -> a student's own input (None: the endpoint has only the default round)
OWN = {
    "race": lambda r, i: ("ROMEO:", f"a handwritten {r.randrange(10)}", 20, 20, 500 + i),
    "steps_tradeoff": lambda r, i: (f"a handwritten {r.randrange(10)}", 700 + i),
    "paint": lambda r, i: (str(r.randrange(10)), 700 + i),
    "write": lambda r, i: ("ROMEO:\nBut soft", 64, 16, 700 + i),
    "three_jobs": lambda r, i: (f"O Romeo {i}", 700 + i, "a red 7 on a blue background"),
    "translate": lambda r, i: (_date(r),),
    "generate": lambda r, i: ("ROMEO:", "tiny-gpt", 30, 1.0, 0, 1.0, 900 + i),
    "remembered": lambda r, i: ("The capital of France is", 900 + i),
    "attention_cost": None,
    "t2i_costs": None,
}


def measure(apis: list[str], students: int = 30) -> dict:
    res: dict = {"students": students, "web_floor": web_floor(students)}
    for api in apis:
        app, url = start(["app.py"])
        try:
            wait_warm(url)
            out = {"default": round_(url, api, [()] * students)}
            if OWN[api] is not None:
                rng = random.Random(2026)
                out["own"] = round_(url, api, [OWN[api](rng, i) for i in range(students)])
            res[api] = out
            print(api, {k: (round(v["p50"], 2), round(v["p95"], 2), v["errors"]) for k, v in out.items()}, flush=True)
        finally:
            app.terminate()
            app.wait(30)
    return res


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="*", default=list(OWN), choices=list(OWN))
    p.add_argument("--students", type=int, default=30)
    a = p.parse_args(argv)
    res = measure(a.only, a.students)
    out = ROOT / "benchmarks" / "results" / f"class-other-tabs-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(res, indent=1, default=float))
    print("web floor p95", round(res["web_floor"]["p95"], 2), "->", out.relative_to(ROOT))


if __name__ == "__main__":
    main()
