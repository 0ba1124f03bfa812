"""One button press as a browser sends it, with almost no client-side CPU.

A classroom's 30 browsers run on 30 other machines; in a benchmark they share the server's
2 cores. `gradio_client` costs ~65 ms of Python CPU per result here (its SSE reader, heartbeat
and helper threads), so 30 of them in one process measure the benchmark as much as the server.
This speaks the same queue protocol the page uses (Gradio's sse_v3): POST `queue/join` with a
fresh session (a student who has just opened the page), then read that session's event stream
until `process_completed`.
"""

from __future__ import annotations

import json
import time
import uuid

import httpx


class Endpoints:
    """api_name -> fn_index (from the app's config, as the page reads it) and each parameter's
    default (from /gradio_api/info), so a press may leave trailing inputs at their defaults."""

    def __init__(self, url: str):
        self.url = url
        cfg = httpx.get(url.rstrip("/") + "/config", timeout=60).json()
        self.index = {d["api_name"]: d["id"] for d in cfg["dependencies"] if d.get("api_name")}
        info = httpx.get(url.rstrip("/") + "/gradio_api/info", timeout=60).json()["named_endpoints"]
        self.params = {name.lstrip("/"): e["parameters"] for name, e in info.items()}

    def data(self, api: str, args) -> list:
        data = list(args)
        for p in self.params.get(api, [])[len(data):]:
            if not p.get("parameter_has_default"):
                raise ValueError(f"{api}: no value for {p.get('parameter_name')}")
            data.append(p.get("parameter_default"))
        return data

    def press(self, api: str, args, timeout: float = 600) -> tuple[float, list]:
        return press(self.url, self.index[api], self.data(api, args), timeout)


def connect(url: str, tries: int = 5):
    """A gradio_client Client (its config request can time out while the server is still busy)."""
    from gradio_client import Client

    for i in range(tries):
        try:
            return Client(url, verbose=False)
        except Exception:  # noqa: BLE001
            if i == tries - 1:
                raise
            time.sleep(2)


class PressError(RuntimeError):
    pass


def press(url: str, fn_index: int, data: list, timeout: float = 600) -> tuple[float, list]:
    """Seconds from the press to the result, and the result's data. Raises PressError when the
    server answers with an error."""
    base = url.rstrip("/") + "/gradio_api"
    session = uuid.uuid4().hex[:11]
    t0 = time.perf_counter()
    with httpx.Client(timeout=timeout) as c:
        r = c.post(base + "/queue/join", json=dict(data=list(data), fn_index=fn_index, session_hash=session,
                                                   event_data=None, trigger_id=None))
        if r.status_code != 200:
            raise PressError(f"join: HTTP {r.status_code} {r.text[:200]}")
        with c.stream("GET", base + "/queue/data", params={"session_hash": session}) as s:
            buf = ""
            for chunk in s.iter_text():
                buf += chunk
                while "\n\n" in buf:
                    msg, buf = buf.split("\n\n", 1)
                    if not msg.startswith("data:"):
                        continue
                    m = json.loads(msg[5:])
                    if m.get("msg") == "process_completed":
                        if not m.get("success"):
                            raise PressError(str(m.get("output", {}).get("error") or m)[:300])
                        return time.perf_counter() - t0, m["output"]["data"]
                    if m.get("msg") == "close_stream":
                        raise PressError("the stream closed before a result")
    raise PressError("no result")
