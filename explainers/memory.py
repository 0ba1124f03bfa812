"""The one memory every computed result lives in.

Scrubbing a slider over a result should be a lookup, and thirty students pressing the same example
one computation. `MEMORY` is one LRU with single flight whose budget is in **bytes**
(`EXPLAINER_CACHE_MB`, default `DEFAULT_BUDGET_MB`): every cached result of every tab and every
rendered view share it, so the server's memory for results is bounded by one figure whatever mix of
requests arrives. Stored results are frozen: their numpy arrays are made read-only, so a request can
never change what another one is shown. A miss computes inside a compute slot (explainers/compute.py)
unless told otherwise.

`memoize(name, maxsize)` puts a function's results in MEMORY (keyed by its arguments, which must be
hashable and already validated); the run store (`store/`) keeps each tab's result and its rendered
views there too.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import TypeVar

import numpy as np
import torch

from explainers.compute import compute_slot, holding_slot

T = TypeVar("T")

DEFAULT_BUDGET_MB = 384  # results + rendered views of every tab; EXPLAINER_CACHE_MB overrides


# ---- sizes and freezing ------------------------------------------------------------------------

def nbytes(obj: object, _depth: int = 0) -> int:
    """About how many bytes `obj` keeps alive: arrays and tensors by their buffers, containers and
    dataclasses by their contents (what an LRU budget in bytes needs; not exact for shared parts)."""
    if _depth > 6:
        return sys.getsizeof(obj)
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes) + 112
    if isinstance(obj, torch.Tensor):
        return int(obj.element_size() * obj.numel()) + 112
    if isinstance(obj, (str, bytes)):
        return sys.getsizeof(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return 64 + sum(nbytes(getattr(obj, f.name), _depth + 1) for f in dataclasses.fields(obj))
    if isinstance(obj, dict):
        return sys.getsizeof(obj) + sum(nbytes(k, _depth + 1) + nbytes(v, _depth + 1) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sys.getsizeof(obj) + sum(nbytes(v, _depth + 1) for v in obj)
    return sys.getsizeof(obj)


def freeze(obj: T, _depth: int = 0) -> T:
    """Make every numpy array reachable from `obj` read-only (in place) and return `obj`."""
    if _depth > 6:
        return obj
    if isinstance(obj, np.ndarray):
        obj.flags.writeable = False
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            freeze(getattr(obj, f.name), _depth + 1)
    elif isinstance(obj, dict):
        for v in obj.values():
            freeze(v, _depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            freeze(v, _depth + 1)
    return obj


# ---- the memory ----------------------------------------------------------------------------------

class Memory:
    """A thread-safe LRU with single flight and a budget in bytes, shared by namespaces.

    `get(namespace, key, compute)` returns the stored value or computes it once: identical requests
    arriving together wait for the first one's result, holding nothing. Each namespace may also cap
    its number of entries. `peek` is a lookup that never computes."""

    def __init__(self, budget_bytes: int):
        self.budget = int(budget_bytes)
        self.used = 0
        self._items: OrderedDict = OrderedDict()  # (namespace, key) -> (value, bytes)
        self._per_ns: dict[str, OrderedDict] = {}  # namespace -> its keys, oldest first
        self._caps: dict[str, int] = {}
        self._inflight: dict = {}  # (namespace, key) -> Future of the computation under way
        self._lock = threading.Lock()
        self.hits: dict[str, int] = {}
        self.misses: dict[str, int] = {}

    def cap(self, namespace: str, maxsize: int) -> None:
        self._caps[namespace] = maxsize

    def peek(self, namespace: str, key: Hashable, default=None):
        with self._lock:
            item = self._items.get((namespace, key))
            if item is None:
                return default
            self._items.move_to_end((namespace, key))
            return item[0]

    def get(self, namespace: str, key: Hashable, compute: Callable[[], T], gate: bool = True,
            greedy: bool = False) -> T:
        """The stored value, or `compute()` run once (inside a compute slot when `gate`; with every free
        slot while nobody waits when `greedy`, see `compute_slot`)."""
        full = (namespace, key)
        while True:
            with self._lock:
                item = self._items.get(full)
                if item is not None:
                    self._items.move_to_end(full)
                    self._per_ns[namespace].move_to_end(key)
                    self.hits[namespace] = self.hits.get(namespace, 0) + 1
                    return item[0]
                fut = self._inflight.get(full)
                owner = fut is None
                if owner:
                    fut = self._inflight[full] = Future()
            if owner:
                break
            if holding_slot():
                # Never block on another thread while holding a slot (its owner may be waiting for
                # one): compute it here too. Only nested calls racing each other get here.
                return self._run(compute, gate, greedy)
            try:  # identical concurrent requests wait for the first one, holding nothing
                value = fut.result()
                with self._lock:
                    self.hits[namespace] = self.hits.get(namespace, 0) + 1
                return value
            except Exception:  # noqa: BLE001 - the first one failed: try again (the error is its own)
                continue
        try:
            value = freeze(self._run(compute, gate, greedy))
        except BaseException as e:
            with self._lock:
                self._inflight.pop(full, None)
            fut.set_exception(e)
            raise
        self._put(namespace, key, value)
        with self._lock:
            self._inflight.pop(full, None)
        fut.set_result(value)
        return value

    @staticmethod
    def _run(compute: Callable[[], T], gate: bool, greedy: bool = False) -> T:
        if gate:
            with compute_slot(greedy=greedy):
                return compute()
        return compute()

    def _put(self, namespace: str, key: Hashable, value) -> None:
        size = nbytes(value)
        with self._lock:
            self.misses[namespace] = self.misses.get(namespace, 0) + 1
            if size > self.budget:  # larger than everything allowed: hand it out, keep nothing
                return
            full = (namespace, key)
            if full in self._items:
                self.used -= self._items.pop(full)[1]
            self._items[full] = (value, size)
            keys = self._per_ns.setdefault(namespace, OrderedDict())
            keys[key] = None
            self.used += size
            cap = self._caps.get(namespace)
            while cap is not None and len(keys) > cap:
                self._drop((namespace, next(iter(keys))))
            while self.used > self.budget:
                self._drop(next(iter(self._items)))

    def _drop(self, full) -> None:
        _, size = self._items.pop(full)
        self._per_ns[full[0]].pop(full[1], None)
        self.used -= size

    def clear(self, namespace: str | None = None) -> None:
        with self._lock:
            for full in [k for k in self._items if namespace is None or k[0] == namespace]:
                self._drop(full)

    def entries(self) -> int:
        with self._lock:
            return len(self._items)

    def count(self, namespace: str) -> int:
        with self._lock:
            return len(self._per_ns.get(namespace, ()))


MEMORY = Memory(int(float(os.environ.get("EXPLAINER_CACHE_MB", DEFAULT_BUDGET_MB)) * 2**20))


def memoize(maxsize: int | None = None, gate: bool = True,
            unkeyed: tuple[str, ...] = ()) -> Callable[[Callable[..., T]], Memoized]:
    """Keep a function's results in MEMORY, keyed by its (validated, hashable) arguments.

    gate: a miss computes inside `compute_slot()` (False for a function that takes its slot itself,
    e.g. to batch several requests in one slot, or for cheap work that must never queue).
    unkeyed: keyword arguments that do not change the result (a progress callback): passed to the
    computation, left out of the key."""
    return lambda fn: Memoized(fn, maxsize, gate, unkeyed)


class Memoized:
    """A function whose results live in MEMORY. `.uncached` is the plain function, `.peek(...)` the
    stored result or None (never a computation); `.hits` / `.misses` read MEMORY's counters."""

    def __init__(self, fn: Callable, maxsize: int | None, gate: bool, unkeyed: tuple[str, ...]):
        functools.update_wrapper(self, fn)
        self.uncached, self.maxsize, self._gate, self._unkeyed = fn, maxsize, gate, unkeyed
        self.namespace = f"{fn.__module__}.{fn.__qualname__}"
        if maxsize is not None:
            MEMORY.cap(self.namespace, maxsize)

    def _key(self, args: tuple, kwargs: dict) -> tuple:
        return args, tuple(sorted((k, v) for k, v in kwargs.items() if k not in self._unkeyed))

    def __call__(self, *args, **kwargs):
        return MEMORY.get(self.namespace, self._key(args, kwargs), lambda: self.uncached(*args, **kwargs),
                          gate=self._gate)

    def peek(self, *args, **kwargs):
        return MEMORY.peek(self.namespace, self._key(args, kwargs))

    def cache_clear(self) -> None:
        MEMORY.clear(self.namespace)

    def cache_len(self) -> int:
        return MEMORY.count(self.namespace)

    @property
    def hits(self) -> int:
        return MEMORY.hits.get(self.namespace, 0)

    @property
    def misses(self) -> int:
        return MEMORY.misses.get(self.namespace, 0)
