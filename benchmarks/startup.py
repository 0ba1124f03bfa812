"""Start-up: `python app.py` to HTTP-ready vs a bare Gradio app importing the same libraries.

    python -m benchmarks.startup --runs 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_to_ready(cmd: list[str], port: int, timeout: float = 180.0) -> float:
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - t0 < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - t0
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"{cmd} not ready after {timeout}s")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def measure(runs: int = 3) -> dict:
    app, bare = [], []
    for _ in range(runs):  # interleaved, so machine noise hits both alike
        p = free_port()
        bare.append(time_to_ready([sys.executable, "benchmarks/bare_app.py", str(p)], p))
        p = free_port()
        app.append(time_to_ready([sys.executable, "app.py", "--port", str(p)], p))
    a, b = statistics.median(app), statistics.median(bare)
    return dict(app_seconds=app, bare_seconds=bare, app_median=a, bare_median=b, ratio=a / b, goal=1.3)


def main(argv=None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=3)
    r = measure(p.parse_args(argv).runs)
    print(f"start-up to HTTP-ready: app {r['app_median']:.1f} s, bare Gradio {r['bare_median']:.1f} s, "
          f"ratio {r['ratio']:.2f} (goal <= 1.3)")


if __name__ == "__main__":
    main()
