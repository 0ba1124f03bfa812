"""The run store: every tab's action takes the same path, and everything it makes is kept once.

    validated settings -> result (computed once) -> views (each rendered once) -> the page / the API

A tab's ui module validates the raw values with its topic's spec (`explainers.<topic>` /
`explainers.t2i_spec`), asks the topic for the result of those settings (computed once in
`explainers.compute.MEMORY`, single flight: identical requests arriving together share one run),
and asks the store for each view it shows. A view is rendered once per (settings, view options)
and kept in the same memory, inside its budget in bytes, so thirty students pressing the same
example cost one run and one render, and a view opened later (a sub-view of Text to image) is
rendered from the stored result without computing again. Rendering takes no compute slot: only
model work waits for one.

A topic's `peek(settings)` (e.g. `explainers.text_to_image.peek`) is the lookup an API "step"
endpoint needs: the stored result, or None.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from explainers import catalog
from explainers.compute import MEMORY, Memory


class RunStore:
    def __init__(self, memory: Memory):
        self.memory = memory

    def view(self, topic: str, name: str, key: Hashable, render: Callable[[], str]) -> str:
        """The view `name` of the run `key` (its settings and view options), rendered once."""
        return self.memory.get(f"view:{topic}:{name}", key, render, gate=False)

    @property
    def budget_bytes(self) -> int:
        return self.memory.budget


STORE = RunStore(MEMORY)


def stats() -> dict:
    """What the store holds now: bytes used of its budget, and entries (an API endpoint: `store_stats`)."""
    return dict(used_bytes=MEMORY.used, budget_bytes=MEMORY.budget, entries=MEMORY.entries())


def warm_up() -> threading.Thread:
    """Load the embedded models in a background thread, so the page is up before any model is."""
    t = threading.Thread(target=catalog.warm, name="warm-models", daemon=True)
    t.start()
    return t
