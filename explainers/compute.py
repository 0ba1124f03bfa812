"""Where model work waits its turn, and the one memory every computed result lives in.

Thirty students clicking the same example should cost one model run, and scrubbing a slider over a
result should be a lookup. Two pieces make that true:

- `compute_slot()`: at most `COMPUTE_SLOTS` computations run at once, each with THREADS_PER_SLOT
  torch threads (the cores shared out). Gradio may run many events at once, because a request that
  is a hit, or waits for an identical computation already under way (single flight), holds no slot:
  it never queues behind other students' model runs. A computation that asks for it (`greedy`: work
  big enough to gain from more threads, e.g. Text to image's batched runs) takes the other slots too
  when they are free and nobody waits, with their threads: a student alone, or a class's one shared
  run, gets every core (on 2 cores a 4-image Text to image run takes 0.50 s instead of 0.81 s, one
  image 0.30 s instead of 0.44 s). Small models lose from a second thread (a 50-step tiny-ddpm run
  or a tiny-gpt generation measured no faster and with slower tails), so they keep one slot. The
  cores are never oversubscribed, since threads come only with slots.
- `MEMORY`, one LRU with single flight whose budget is in **bytes** (`EXPLAINER_CACHE_MB`, default
  `DEFAULT_BUDGET_MB`): every cached result of every tab and every rendered view share it, so the
  server's memory for results is bounded by one figure whatever mix of requests arrives. Stored
  results are frozen: their numpy arrays are made read-only, so a request can never change what
  another one is shown.

`memoize(name, maxsize)` puts a function's results in MEMORY (keyed by its arguments, which must be
hashable and already validated); the run store (`store/`) keeps each tab's result and its rendered
views there too.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TypeVar

import numpy as np
import torch

T = TypeVar("T")

COMPUTE_SLOTS = 2  # model computations at once
THREADS_PER_SLOT = max(1, (os.cpu_count() or 2) // COMPUTE_SLOTS)  # torch threads of one slot
DEFAULT_BUDGET_MB = 384  # results + rendered views of every tab; EXPLAINER_CACHE_MB overrides
GIL_SWITCH_S = 0.0005  # how long a busy Python thread keeps the GIL from a waiting one (Python's default: 5 ms)
_slots = threading.BoundedSemaphore(COMPUTE_SLOTS)
_held = threading.local()
_waiting_lock = threading.Lock()
_waiting = 0  # threads blocked in compute_slot() right now


def share_the_gil() -> None:
    """Let a model's thread have the GIL back sooner while the server's threads run Python.

    Eager PyTorch gives the GIL up inside every op and must win it back after: while another thread
    runs Python (a view being rendered, a request being parsed), each op waits up to the switch
    interval. A model call is hundreds of small ops, so at Python's default of 5 ms, with one busy
    Python thread beside it (measured in one process, 1 torch thread): one minilm pass 12 ms alone took
    0.62 s, a 50-step tiny-ddpm run 0.44 s alone took 6.0 s. At 0.5 ms: 0.08 s and 0.93 s, for 9% less
    pure-Python throughput. `app.main` calls this once; the sampling loops also keep their ops per
    step few (the traced UNet is one op). EXPLAINER_GIL_SWITCH_MS overrides the interval (e.g. 5 for
    Python's own); a value that is not a positive number is logged and the default kept."""
    seconds = GIL_SWITCH_S
    if (ms := os.environ.get("EXPLAINER_GIL_SWITCH_MS")) is not None:
        try:
            seconds = float(ms) / 1000
        except ValueError:
            seconds = 0.0
        if not seconds > 0:
            logging.getLogger(__name__).warning("EXPLAINER_GIL_SWITCH_MS=%r is not a positive number of "
                                                "milliseconds: keeping %g ms", ms, GIL_SWITCH_S * 1000)
            seconds = GIL_SWITCH_S
    sys.setswitchinterval(seconds)


@contextmanager
def compute_slot(timeout: float | None = None, greedy: bool = False):
    """Hold one of the COMPUTE_SLOTS while computing (and, when `greedy`, any other that is free while
    nobody waits, with its threads); yields True. While it holds them, this thread's torch threads are
    THREADS_PER_SLOT x slots held (torch.set_num_threads acts per thread once a thread has used torch);
    its own setting comes back after. Re-entrant within a thread
    (a cached call inside a cached call does not wait for a second slot, so nesting cannot deadlock).
    With a timeout it yields False, holding nothing, if no slot freed up in time."""
    global _waiting
    depth = getattr(_held, "depth", 0)
    if depth > 0:
        _held.depth = depth + 1
        try:
            yield True
        finally:
            _held.depth = depth
        return
    with _waiting_lock:
        _waiting += 1
    try:
        got = _slots.acquire(timeout=timeout)
    finally:
        with _waiting_lock:
            _waiting -= 1
    if not got:
        yield False
        return
    held = 1
    with _waiting_lock:
        while greedy and _waiting == 0 and held < COMPUTE_SLOTS and _slots.acquire(blocking=False):
            held += 1
    # Set every time, not only when more than one slot is held: torch.set_num_threads also sets the
    # default of threads that first use torch later, so a thread started while a greedy run held two
    # slots would otherwise keep two threads for good and oversubscribe the cores beside another run
    # (measured: a class's own Text to image prompts went from 1.44x to 1.71x the bare work).
    before = torch.get_num_threads()
    _set_threads(THREADS_PER_SLOT * held)
    _held.depth, _held.slots = 1, held
    try:
        yield True
    finally:
        _set_threads(before)
        for _ in range(_held.slots):
            _slots.release()
        _held.depth, _held.slots = 0, 0


def _set_threads(n: int) -> None:
    if torch.get_num_threads() != n:  # resizing torch's thread pool costs: only when it changes
        torch.set_num_threads(n)


def slots_held() -> int:
    """How many slots this thread holds (0 outside a computation)."""
    return getattr(_held, "slots", 0) if getattr(_held, "depth", 0) > 0 else 0


def share_cores() -> None:
    """Between two steps of a greedy computation (it calls this at every step): if another computation
    waits for a slot and this thread holds more than one, give the extra slots and their threads back,
    so a run alone on every core never keeps a second student waiting for its end."""
    held = slots_held()
    if held > 1 and _waiting > 0:
        _set_threads(THREADS_PER_SLOT)
        _held.slots = 1
        for _ in range(held - 1):
            _slots.release()


def free_slots() -> int:
    """Slots nobody holds right now (a hint for splitting work; it may change at once)."""
    return max(0, _slots._value)  # CPython's Semaphore keeps its count here


def holding_slot() -> bool:
    return getattr(_held, "depth", 0) > 0


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
