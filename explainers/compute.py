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
A run keeps a slot it took only while its steps go faster on it (`Pace`): a free slot is not a free core,
and beside a busy process two threads are slower than one (`python -m benchmarks.share_cores --beside-busy`).
tiny-gpt's generation keeps one slot (a second thread made it no faster, with slower tails). The cores
are never oversubscribed, since threads come only with slots.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
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


def share_cores(grow: bool = True, shrink: bool = False) -> None:
    """Between two steps of a computation (the sampling loops call this at every step, through
    `sharing_cores`), share the cores out again: if another computation waits for a slot (or `shrink`)
    and this thread holds more than one, give the extra slots and their threads back, so a run alone on
    every core never keeps a second student waiting for its end; else, if `grow`, nobody waits and a
    slot is free, take it and its threads, so a core does not idle beside a class's last runs (the last
    of 30 students' Text to image runs, or the last batch of their denoising runs, goes on with every
    core once the others are done)."""
    held = slots_held()
    if held == 0:
        return
    if held > 1 and (_waiting > 0 or shrink):
        _set_threads(THREADS_PER_SLOT)
        _held.slots = 1
        for _ in range(held - 1):
            _slots.release()
    elif grow and held < COMPUTE_SLOTS and _waiting == 0:
        with _waiting_lock:
            while _waiting == 0 and held < COMPUTE_SLOTS and _slots.acquire(blocking=False):
                held += 1
        if held != _held.slots:
            _held.slots = held
            _set_threads(THREADS_PER_SLOT * held)


# A free slot is not a free core: beside a busy process (a browser, another program, a neighbour on a shared
# machine), a step on two OpenMP threads waits at every op for the thread that lost its core. Measured on
# 2 cores beside one busy process, run alone: a 50-step Denoise 1.12 s on two threads against 0.58 s on one
# (idle: 0.37 / 0.56 s), a 4-image Text to image run 2.06 s against 0.90 s (idle: 0.55 / 0.89 s). So a run
# times its steps on one slot and on more, and keeps more only while they pay.
PACE_STEPS = 2  # steps a run times on each side before it judges
PACE_WINDOW = 4  # the recent steps it judges by, on each side: their fastest, so one hiccup does not count
PACE_GAIN = 0.85  # more slots pay when their fastest recent step takes at most this share of one slot's
PACE_HOLD = (4, 32)  # steps a run stays on one slot after more did not pay: 4, doubling while it keeps not
# paying (a busy neighbour), back to 4 once it pays (a client's burst beside a class's last run is brief)


class Pace:
    """One run's recent step times on one slot and on more: whether taking more slots pays (`plan`)."""

    def __init__(self):
        self.last: float | None = None  # when the last step ended
        self.slots = 0  # slots held during the step being timed (0: not timed, e.g. the loop's set-up)
        self.one: list[float] = []
        self.more: list[float] = []
        self.hold = 0  # steps left on one slot
        self.backoff = PACE_HOLD[0]  # the next hold

    def tick(self, now: float | None = None) -> None:
        """A step ended: its time counts for the slots held during it (`slots`, which the caller sets)."""
        now = time.perf_counter() if now is None else now
        if self.last is not None and self.slots:
            times = self.one if self.slots == 1 else self.more
            times.append(now - self.last)
            del times[:-PACE_WINDOW]
        self.last = now

    def plan(self, slots: int) -> tuple[bool, bool]:
        """(grow, shrink) for `share_cores`, holding `slots` now."""
        if self.hold > 0:
            self.hold -= 1
            return False, True
        if len(self.one) >= PACE_STEPS and len(self.more) >= PACE_STEPS:
            if min(self.more) > PACE_GAIN * min(self.one):  # more threads did not pay: one slot for a while
                self.hold, self.one, self.more = self.backoff, [], []
                self.backoff = min(2 * self.backoff, PACE_HOLD[1])
                return False, True
            self.backoff = PACE_HOLD[0]
            return True, False
        if slots > 1 and len(self.more) >= PACE_STEPS:  # it started on every slot (greedy): time one slot too
            return False, True
        return len(self.one) >= PACE_STEPS, False


def sharing_cores(progress: Callable[[int, int], None] | None = None) -> Callable[[int, int], None]:
    """A sampling loop's per-step callback that shares the cores out (`share_cores`, taking more slots only
    while they pay: `Pace`), then reports progress(i, steps) if given."""
    pace = Pace()

    def step(i: int, steps: int) -> None:
        pace.tick()
        share_cores(*pace.plan(slots_held()))
        pace.slots = slots_held()
        if progress is not None:
            progress(i, steps)

    return step


def free_slots() -> int:
    """Slots nobody holds right now (a hint for splitting work; it may change at once)."""
    return max(0, _slots._value)  # CPython's Semaphore keeps its count here


def holding_slot() -> bool:
    return getattr(_held, "depth", 0) > 0
