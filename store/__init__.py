"""The run store: every tab's action takes the same path, and everything it makes is kept once.

    validated settings -> result (computed once) -> views (each rendered once) -> the page / the API

A tab's ui module validates the raw values with its topic's spec (`explainers.<topic>` /
`explainers.t2i_spec`), asks the topic for the result of those settings (computed once in
`explainers.memory.MEMORY`, single flight: identical requests arriving together share one run),
and asks the store for each view it shows. A view is rendered once per (settings, view options)
and kept in the same memory, inside its budget in bytes, so thirty students pressing the same
example cost one run and one render, and a view opened later (a sub-view of Text to image) is
rendered from the stored result without computing again. Rendering takes no compute slot: only
model work waits for one.

A tab may ask for work to be done once the models are warm (`STORE.after_warm`): Text to image runs and
renders its examples then, as Gradio's `cache_examples` would, so a class pressing the page's first
prompt, or any listed example, gets the stored answer instead of waiting for a run.

A topic's `peek(settings)` (e.g. `explainers.text_to_image.peek`) is the lookup an API "step"
endpoint needs: the stored result, or None.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Hashable

from explainers import catalog
from explainers.compute import THREADS_PER_SLOT, share_the_gil
from explainers.memory import MEMORY, Memory


class RunStore:
    def __init__(self, memory: Memory):
        self.memory = memory
        self.warm_jobs: list[Callable[[], None]] = []
        self.warm = threading.Event()  # set when the warm-up (models, then warm_jobs) has finished

    def after_warm(self, job: Callable[[], None]) -> None:
        """Run `job` in the warm-up thread once the models are loaded (best effort: a failure is logged)."""
        if job not in self.warm_jobs:
            self.warm_jobs.append(job)

    def view(self, topic: str, name: str, key: Hashable, render: Callable[[], str]) -> str:
        """The view `name` of the run `key` (its settings and view options), rendered once."""
        return self.memory.get(f"view:{topic}:{name}", key, render, gate=False)

    @property
    def budget_bytes(self) -> int:
        return self.memory.budget


STORE = RunStore(MEMORY)
__all__ = ["STORE", "THREADS_PER_SLOT", "RunStore", "share_the_gil", "stats", "warm_up"]
log = logging.getLogger(__name__)


def stats() -> dict:
    """What the store holds now: bytes used of its budget, entries, and whether the warm-up (models and
    the tabs' `after_warm` work) has finished (an API endpoint: `store_stats`)."""
    return dict(used_bytes=MEMORY.used, budget_bytes=MEMORY.budget, entries=MEMORY.entries(), warm=STORE.warm.is_set())


def settle_garbage_collector() -> None:
    """Take what is alive after the warm-up (the models, the page, the stored examples: about 660,000
    objects) out of the cyclic garbage collector's view (`gc.freeze`). Python's full collection walks
    every tracked object while holding the GIL: 280 ms here, at a moment chosen by allocation counts, so
    every request in flight stalled for it (a class pressing one example: p95 1.4 s, now and then 1.9 s).
    Afterwards a full collection walks only what requests made since. Frozen objects are still freed
    by reference counting; only those in reference cycles would wait for `gc.unfreeze`."""
    gc.collect()
    gc.freeze()


def warm_up(store: RunStore = STORE, load_models: Callable[[], None] = catalog.warm) -> threading.Thread:
    """Load the embedded models, then do the tabs' `after_warm` work, in a background thread, so the
    page is up before any model is."""

    def work():
        load_models()
        for job in list(store.warm_jobs):
            try:
                job()
            except Exception:  # noqa: BLE001 - best effort, like the models' warm-up; a request recomputes
                log.exception("after-warm job %s failed", getattr(job, "__qualname__", job))
        settle_garbage_collector()
        store.warm.set()

    t = threading.Thread(target=work, name="warm-models", daemon=True)
    t.start()
    return t
