"""A small thread-safe LRU cache for expensive explainer calls, and the gate for model work.

Thirty students clicking the same example should cost one model run, and scrubbing a slider
over a result should be a lookup. Results are immutable dataclasses, so sharing them is safe.
Counters let tests and benchmarks check that a call was served from the cache.

`compute_slot()` is where CPU-heavy work waits its turn: at most `COMPUTE_SLOTS` computations
run at once (one per core pair; each uses torch's threads). Gradio may run many events at once,
because a request that is a cache hit, or waits for an identical computation already under way
(single flight), holds no slot: it never queues behind other students' model runs.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

COMPUTE_SLOTS = 2  # model computations at once (the app gives torch cpu_count // 2 threads each)
_slots = threading.BoundedSemaphore(COMPUTE_SLOTS)
_held = threading.local()


@contextmanager
def compute_slot(timeout: float | None = None):
    """Hold one of the COMPUTE_SLOTS while computing; yields True. Re-entrant within a thread (a
    cached call inside a cached call does not wait for a second slot, so nesting cannot deadlock).
    With a timeout it yields False, holding nothing, if no slot freed up in time."""
    depth = getattr(_held, "depth", 0)
    if depth == 0 and not _slots.acquire(timeout=timeout):
        yield False
        return
    _held.depth = depth + 1
    try:
        yield True
    finally:
        _held.depth = depth
        if depth == 0:
            _slots.release()


def free_slots() -> int:
    """Slots nobody holds right now (a hint for splitting work; it may change at once)."""
    return max(0, _slots._value)  # CPython's Semaphore keeps its count here


def holding_slot() -> bool:
    return getattr(_held, "depth", 0) > 0


def bounded_cache(maxsize: int, gate: bool = True) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """LRU cache with single flight. gate: a miss computes inside `compute_slot()` (False for a
    function that takes its slot itself, e.g. to batch several requests in one slot)."""

    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        store: OrderedDict = OrderedDict()
        lock = threading.Lock()
        inflight: dict = {}  # key -> Future of the one computation under way

        def compute(args, kwargs):
            if gate:
                with compute_slot():
                    return fn(*args, **kwargs)
            return fn(*args, **kwargs)

        @functools.wraps(fn)
        def cached(*args, **kwargs):
            key = (args, tuple(sorted(kwargs.items())))
            while True:
                with lock:
                    if key in store:
                        store.move_to_end(key)
                        cached.hits += 1
                        return store[key]
                    fut = inflight.get(key)
                    owner = fut is None
                    if owner:
                        fut = inflight[key] = Future()
                if owner:
                    break
                if holding_slot():
                    # Never block on another thread while holding a slot (its owner may be waiting
                    # for one): compute it here too. Only nested calls racing each other get here.
                    return compute(args, kwargs)
                try:  # identical concurrent requests wait for the first one, holding nothing
                    value = fut.result()
                    with lock:
                        cached.hits += 1
                    return value
                except Exception:  # noqa: BLE001 - the first one failed: try again (it may have been a lookup)
                    continue
            try:
                value = compute(args, kwargs)
            except BaseException as e:
                with lock:
                    inflight.pop(key, None)
                fut.set_exception(e)
                raise
            with lock:
                cached.misses += 1
                store[key] = value
                while len(store) > maxsize:
                    store.popitem(last=False)
                inflight.pop(key, None)
            fut.set_result(value)
            return value

        cached.hits = 0
        cached.misses = 0
        cached.maxsize = maxsize
        cached.cache_clear = lambda: store.clear()
        cached.cache_len = lambda: len(store)
        cached.uncached = fn
        return cached

    return wrap
