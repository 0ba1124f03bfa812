"""Where model work waits its turn: the compute slots and how they share the cores and the GIL.

Thirty students clicking the same example should cost one model run. `compute_slot()`: at most
`COMPUTE_SLOTS` computations run at once, each with THREADS_PER_SLOT torch threads (the cores shared
out). Gradio may run many events at once, because a request that is a hit in the memory
(explainers/memory.py), or waits for an identical computation already under way (single flight),
holds no slot: it never queues behind other students' model runs. A computation that asks for it
(`greedy`: work big enough to gain from more threads, e.g. Text to image's batched runs) takes the
other slots too when they are free and nobody waits, with their threads: a student alone, or a
class's one shared run, gets every core (on 2 cores a 4-image Text to image run takes 0.50 s instead
of 0.81 s, one image 0.30 s instead of 0.44 s). The other computations start on one slot. The
sampling loops share the cores out again at every step (`sharing_cores`): a run takes a slot that
freed up while nobody waits and gives it back at its next step when somebody does (a 50-step
tiny-ddpm picture alone on an AMD EPYC core pair, `python -m benchmarks.share_cores`: 0.57 -> 0.50 s,
median of 16, when its fused graph was still built for one thread only; with a graph per thread
count, `models.diffusion.FastUNet.graph`, 0.57 -> 0.42 s, `python -m benchmarks.batching --threads 1 2`).
tiny-gpt's generation keeps one slot (a second thread made it no faster, with slower tails). The cores
are never oversubscribed, since threads come only with slots.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import TypeVar

import torch

T = TypeVar("T")

COMPUTE_SLOTS = 2  # model computations at once
THREADS_PER_SLOT = max(1, (os.cpu_count() or 2) // COMPUTE_SLOTS)  # torch threads of one slot
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
    """Between two steps of a computation (the sampling loops call this at every step), share the
    cores out again: if another computation waits for a slot and this thread holds more than one,
    give the extra slots and their threads back, so a run alone on every core never keeps a second
    student waiting for its end; if nobody waits and a slot is free, take it and its threads, so a
    core does not idle beside a class's last runs (the last of 30 students' Text to image runs, or
    the last batch of their denoising runs, goes on with every core once the others are done)."""
    held = slots_held()
    if held == 0:
        return
    if held > 1 and _waiting > 0:
        _set_threads(THREADS_PER_SLOT)
        _held.slots = 1
        for _ in range(held - 1):
            _slots.release()
    elif held < COMPUTE_SLOTS and _waiting == 0:
        with _waiting_lock:
            while _waiting == 0 and held < COMPUTE_SLOTS and _slots.acquire(blocking=False):
                held += 1
        if held != _held.slots:
            _held.slots = held
            _set_threads(THREADS_PER_SLOT * held)


def sharing_cores(progress: Callable[[int, int], None] | None = None) -> Callable[[int, int], None]:
    """A sampling loop's per-step callback that shares the cores out (`share_cores`), then reports
    progress(i, steps) if given."""

    def step(i: int, steps: int) -> None:
        share_cores()
        if progress is not None:
            progress(i, steps)

    return step


def free_slots() -> int:
    """Slots nobody holds right now (a hint for splitting work; it may change at once)."""
    return max(0, _slots._value)  # CPython's Semaphore keeps its count here


def holding_slot() -> bool:
    return getattr(_held, "depth", 0) > 0
