"""A small thread-safe LRU cache for expensive explainer calls.

Thirty students clicking the same example should cost one model run, and scrubbing a slider
over a result should be a lookup. Results are immutable dataclasses, so sharing them is safe.
Counters let tests and benchmarks check that a call was served from the cache.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def bounded_cache(maxsize: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        store: OrderedDict = OrderedDict()
        lock = threading.Lock()
        inflight: dict = {}

        @functools.wraps(fn)
        def cached(*args, **kwargs):
            key = (args, tuple(sorted(kwargs.items())))
            with lock:
                if key in store:
                    store.move_to_end(key)
                    cached.hits += 1
                    return store[key]
                key_lock = inflight.setdefault(key, threading.Lock())
            with key_lock:  # identical concurrent requests wait for the first one
                with lock:
                    if key in store:
                        cached.hits += 1
                        return store[key]
                value = fn(*args, **kwargs)
                with lock:
                    cached.misses += 1
                    store[key] = value
                    while len(store) > maxsize:
                        store.popitem(last=False)
                    inflight.pop(key, None)
                return value

        cached.hits = 0
        cached.misses = 0
        cached.maxsize = maxsize
        cached.cache_clear = lambda: store.clear()
        cached.cache_len = lambda: len(store)
        cached.uncached = fn
        return cached

    return wrap
