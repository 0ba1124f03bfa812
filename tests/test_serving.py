"""Serving a class at once: compute slots, single flight, batched denoising, cheap sessions.

Behaviour only (which requests wait for what, what each one gets back); the speed itself is
measured by `python -m benchmarks --only classroom`.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from explainers import compute as cache
from explainers import denoise_batch
from explainers.compute import compute_slot, holding_slot
from explainers.memory import memoize


def _hold_all_slots(n: int | None = None):
    """Occupy n (default: every free) compute slots, one per thread, until the returned event is set."""
    n = cache.free_slots() if n is None else n
    release, ready = threading.Event(), threading.Barrier(n + 1)

    def hold():
        with compute_slot(greedy=False):
            ready.wait()
            release.wait(30)

    threads = [threading.Thread(target=hold) for _ in range(n)]
    for t in threads:
        t.start()
    ready.wait(10)
    return release, threads


def test_a_cache_hit_and_a_single_flight_waiter_hold_no_slot():
    calls = []
    gate_open = threading.Event()

    @memoize(maxsize=4)
    def slow(x):
        calls.append(x)
        gate_open.wait(10)
        return x * 2

    assert slow(1) == 2 and calls == [1]
    gate_open.clear()
    results = {}
    owner = threading.Thread(target=lambda: results.setdefault("owner", slow(5)))
    owner.start()
    time.sleep(0.2)  # the owner now holds a slot and waits inside slow(5)
    release, holders = _hold_all_slots()  # the owner holds one or (alone, greedy) all of them
    waiter = None
    try:
        waiter = threading.Thread(target=lambda: results.setdefault("waiter", slow(5)))
        waiter.start()
        # every slot is taken, yet a hit is served at once
        t0 = time.perf_counter()
        assert slow(1) == 2
        assert time.perf_counter() - t0 < 1
    finally:
        gate_open.set()
        release.set()
        for t in [owner, waiter, *holders]:
            if t is not None:
                t.join(10)
    assert results == {"owner": 10, "waiter": 10}
    assert calls == [1, 5], "the identical request waited for the first one instead of computing again"


def test_nested_cached_calls_do_not_deadlock_while_all_slots_are_taken():
    @memoize(maxsize=4)
    def inner(x):
        assert holding_slot()
        return x + 1

    @memoize(maxsize=4)
    def outer(x):
        return inner(x) * 10

    out = {}
    threads = [threading.Thread(target=lambda i=i: out.setdefault(i, outer(i % 2))) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads), "nested cached calls deadlocked"
    assert out == {i: (i % 2 + 1) * 10 for i in range(6)}
    assert not holding_slot()


def test_a_failed_computation_is_not_cached_and_its_waiters_retry():
    attempts = []

    @memoize(maxsize=4)
    def flaky(x):
        attempts.append(x)
        if len(attempts) == 1:
            time.sleep(0.2)
            raise ValueError("first try fails")
        return x

    errors, values = [], []

    def call():
        try:
            values.append(flaky(3))
        except ValueError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == ["first try fails"]
    assert values == [3, 3] and len(attempts) == 2


def test_compute_slot_with_a_timeout_reports_failure_and_holds_nothing():
    release, holders = _hold_all_slots()
    try:
        with compute_slot(timeout=0.05) as got:
            assert got is False and not holding_slot()
    finally:
        release.set()
        for t in holders:
            t.join(10)
    with compute_slot(timeout=1) as got:
        assert got is True and holding_slot()
    assert cache.free_slots() == cache.COMPUTE_SLOTS


def test_a_computation_alone_takes_every_core_and_gives_them_back_when_another_waits():
    """Alone: every slot and its threads; a second computation arriving meanwhile waits only until the
    first one's next step (share_cores), then both run on their own slot's threads."""
    assert cache.free_slots() == cache.COMPUTE_SLOTS
    seen, before = {}, torch.get_num_threads()
    with compute_slot(greedy=True):
        seen["alone"] = (cache.slots_held(), torch.get_num_threads())
        started = threading.Event()

        def second():
            with compute_slot(greedy=True):
                seen["second"] = cache.slots_held()
                started.set()

        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.3)
        assert not started.is_set()  # every slot is held: it waits
        cache.share_cores()  # the first computation's next step
        assert started.wait(5)
        seen["after"] = (cache.slots_held(), torch.get_num_threads())
        t.join(5)
    assert seen["alone"] == (cache.COMPUTE_SLOTS, cache.COMPUTE_SLOTS * cache.THREADS_PER_SLOT)
    assert seen["second"] >= 1 and seen["after"] == (1, cache.THREADS_PER_SLOT) and torch.get_num_threads() == before
    assert cache.free_slots() == cache.COMPUTE_SLOTS and cache.slots_held() == 0
    with compute_slot():  # not greedy (the default: small models gain nothing from a second thread)
        assert cache.slots_held() == 1


def test_a_run_takes_the_cores_that_free_up_at_its_next_step_and_gives_them_back_when_one_waits():
    """A class's last runs: one slot each while others run; when the other slot frees up and nobody
    waits, a step (share_cores, through the sampling loops' `sharing_cores` callback) takes it and its
    threads once the run has timed PACE_STEPS steps on one slot (to judge whether more pays); a
    computation arriving later gets it back at the step after."""
    assert cache.COMPUTE_SLOTS >= 2
    release, holders = _hold_all_slots(cache.COMPUTE_SLOTS - 1)  # another student's run
    seen, before, reported = {}, torch.get_num_threads(), []
    step = cache.sharing_cores(lambda i, n: reported.append((i, n)))
    last = 2 + cache.PACE_STEPS
    with compute_slot():
        step(1, last)
        seen["busy"] = (cache.slots_held(), torch.get_num_threads())  # nothing free: one slot
        release.set()
        for t in holders:
            t.join(5)
        for i in range(2, 1 + cache.PACE_STEPS):
            step(i, last)
            assert cache.slots_held() == 1  # a slot is free, but the run is still timing its steps on one
        step(1 + cache.PACE_STEPS, last)
        seen["alone"] = (cache.slots_held(), torch.get_num_threads())
        started = threading.Event()

        def later():
            with compute_slot():
                started.set()

        t = threading.Thread(target=later)
        t.start()
        time.sleep(0.3)
        assert not started.is_set()  # every slot is held by the last run: it waits for its next step
        step(last, last)
        assert started.wait(5)
        seen["shared"] = (cache.slots_held(), torch.get_num_threads())
        t.join(5)
    assert seen["busy"] == (1, cache.THREADS_PER_SLOT)
    assert seen["alone"] == (cache.COMPUTE_SLOTS, cache.COMPUTE_SLOTS * cache.THREADS_PER_SLOT)
    assert seen["shared"] == (1, cache.THREADS_PER_SLOT)
    assert reported == [(i, last) for i in range(1, last + 1)]
    assert torch.get_num_threads() == before and cache.free_slots() == cache.COMPUTE_SLOTS
    cache.share_cores()  # outside a computation: nothing to share
    assert cache.slots_held() == 0 and cache.free_slots() == cache.COMPUTE_SLOTS


def _paced(pace: cache.Pace, seconds: list[float], slots: int, now: list[float]) -> list[tuple[bool, bool]]:
    """Steps of the given lengths on `slots` slots, as `sharing_cores` times them: the plan after each."""
    plans = []
    for dt in seconds:
        pace.slots = slots  # held during this step
        now[0] += dt
        pace.tick(now[0])
        plans.append(pace.plan(slots))
    return plans


def test_a_run_keeps_more_slots_only_while_its_steps_go_faster_on_them():
    """Beside a busy process a step on two threads can take longer than on one (measured: a Denoise run
    1.12 s against 0.58 s). A run times PACE_STEPS steps on one slot before it takes more, keeps more
    while their fastest recent step takes at most PACE_GAIN of one slot's (so one hiccup does not
    count), and otherwise goes back to one slot for PACE_HOLD steps before it tries again."""
    k, now = cache.PACE_STEPS, [0.0]
    fast = cache.Pace()
    fast.tick(now[0])  # the loop's set-up is not timed
    assert _paced(fast, [0.010] * (k - 1), 1, now) == [(False, False)] * (k - 1)  # still timing one slot
    assert _paced(fast, [0.010], 1, now) == [(True, False)]  # timed: take a free slot
    assert _paced(fast, [0.006] * k, 2, now)[-1] == (True, False)  # 0.6x a step on one: keep it
    assert _paced(fast, [0.030, 0.006], 2, now) == [(True, False)] * 2  # one hiccup is not a verdict
    assert _paced(fast, [0.030] * cache.PACE_WINDOW, 2, now)[-1] == (False, True)  # slow ever since: give back
    slow = cache.Pace()
    slow.tick(now[0])
    _paced(slow, [0.010] * k, 1, now)
    assert _paced(slow, [0.012] * k, 2, now)[-1] == (False, True)  # slower on two: give it back
    first, longest = cache.PACE_HOLD
    for hold in (first, 2 * first):  # while more keeps not paying, it waits twice as long each time
        held = _paced(slow, [0.010] * (hold + k), 1, now)
        assert held[:hold] == [(False, True)] * hold and held[-1] == (True, False)  # one slot, then it tries again
        if hold == first:
            assert _paced(slow, [0.012] * k, 2, now)[-1] == (False, True)
    assert _paced(slow, [0.0084] * k, 2, now)[-1] == (True, False)  # 0.84x: pays now (PACE_GAIN 0.85)
    assert slow.backoff == first and 2 * first <= longest


def test_a_run_that_starts_on_every_slot_times_one_slot_before_it_keeps_them():
    """A greedy run (Text to image alone) starts on every slot: after PACE_STEPS steps it goes to one slot
    for PACE_STEPS steps, then keeps every slot only if that was faster."""
    k, now = cache.PACE_STEPS, [0.0]
    for more_step, keeps in ((0.020, True), (0.040, False)):
        pace = cache.Pace()
        pace.tick(now[0])
        assert _paced(pace, [more_step] * k, 2, now)[-1] == (False, True)  # time one slot too
        assert _paced(pace, [0.035] * k, 1, now)[-1] == ((True, False) if keeps else (False, True))


def test_computations_that_waited_together_take_one_slot_each_and_restore_their_threads():
    """Two computations queued behind busy slots: when the slots free up, neither takes the other's
    (someone else is waiting), so both run at once, each on one slot's threads."""
    assert cache.COMPUTE_SLOTS >= 2  # the app's setting (a constant): two computations can share the cores
    release, holders = _hold_all_slots()
    inside, got = threading.Barrier(2), {}

    def queued(name):
        before = torch.get_num_threads()
        with compute_slot(greedy=True):
            got[name] = (cache.slots_held(), torch.get_num_threads())
            inside.wait(5)  # both inside at once, or the barrier breaks
        got[name + " after"] = torch.get_num_threads() == before

    threads = [threading.Thread(target=queued, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    time.sleep(0.3)  # both are blocked on the slots
    release.set()
    for t in holders + threads:
        t.join(10)
    assert got["a"] == got["b"] == (1, cache.THREADS_PER_SLOT), got
    assert got["a after"] and got["b after"] and cache.free_slots() == cache.COMPUTE_SLOTS


def _trajectory_images(traj):
    return torch.cat(traj.x_t).numpy()


@pytest.fixture
def set_bf16(monkeypatch):
    """set_bf16(True / False): sample in bfloat16 or float32 (EXPLAINER_BF16), undone afterwards.
    True works on any CPU (bfloat16 is emulated where it is not native: slower, same numbers)."""
    from models import diffusion

    def set_(on: bool):
        monkeypatch.setenv("EXPLAINER_BF16", "1" if on else "0")
        diffusion.native_bf16.cache_clear()

    yield set_
    monkeypatch.undo()
    diffusion.native_bf16.cache_clear()


def test_batched_requests_get_the_images_they_would_get_alone(set_bf16):
    """In float32 a request's images are the ones it would get alone, up to float rounding."""
    import models
    from models.digits import NULL_CLASS

    set_bf16(False)
    bundle = models.load("tiny-ddpm")
    # one guided, one unconditional (guidance 0: the null class), one conditional (guidance 1)
    specs = [(3, 3.0, 11), (NULL_CLASS, 0.0, 12), (7, 1.0, 13)]
    together = [denoise_batch.Job(("tiny-ddpm", 12), lab, g, seed, None) for lab, g, seed in specs]
    denoise_batch.DenoiseBatcher._sample(together, bundle, NULL_CLASS)
    for job in together:
        alone = denoise_batch.Job(job.group, job.label, job.guidance, job.seed, None)
        denoise_batch.DenoiseBatcher._sample([alone], bundle, NULL_CLASS)
        assert job.shared_with == 2 and alone.shared_with == 0
        np.testing.assert_allclose(_trajectory_images(job.traj), _trajectory_images(alone.traj), atol=1e-3)
        assert len(job.traj.noise_uncond) == len(alone.traj.noise_uncond) == (12 if job.guidance == 3.0 else 0)
    # and not the same picture three times
    finals = [j.traj.x_t[-1] for j in together]
    assert float((finals[0] - finals[2]).abs().mean()) > 0.05


def test_bfloat16_sampling_stays_within_rounding_of_float32(set_bf16):
    """Where the CPU has native bfloat16 the UNet samples in it (forced here, so this runs on any
    CPU): batched or alone, the pictures differ from float32 ones only by rounding, and the run
    says which precision it used."""
    import models
    from models import diffusion
    from models.digits import NULL_CLASS

    set_bf16(True)
    bundle = models.load("tiny-ddpm")
    assert diffusion.precision(bundle.model) == "bfloat16"
    assert diffusion.inference_unet(bundle.model) is diffusion.inference_unet(bundle.model)  # one copy
    specs = [(3, 3.0, 21), (NULL_CLASS, 0.0, 22), (7, 1.0, 23), (5, 2.0, 24)]
    fast = [denoise_batch.Job(("tiny-ddpm", 20), lab, g, seed, None) for lab, g, seed in specs]
    denoise_batch.DenoiseBatcher._sample(fast, bundle, NULL_CLASS)
    set_bf16(False)
    assert diffusion.precision(bundle.model) == "float32"
    for job in fast:
        exact = denoise_batch.Job(job.group, job.label, job.guidance, job.seed, None)
        denoise_batch.DenoiseBatcher._sample([exact], bundle, NULL_CLASS)
        a, b = job.traj.x_t[-1], exact.traj.x_t[-1]
        # rounding moves the odd edge pixel, never the picture: mean |difference| (measured: ~0.003-0.008
        # of the [-1, 1] range) and the share of pixels off by more than an eighth of the range
        assert float((a - b).abs().mean()) < 0.02 and float(((a - b).abs() > 0.25).float().mean()) < 0.02
        assert float(a.abs().mean()) > 0.1  # a picture, not an empty one


def test_requests_arriving_while_the_slots_are_busy_share_a_batch():
    from explainers import denoising

    denoising._denoise.cache_clear()
    denoising.denoise("a handwritten 5", 10, 3.0, 1)  # the model loaded and traced before
    for i in range(3):  # each prompt's digit is read before: the requests go straight to the sampler
        denoising.prompt_to_label(f"a handwritten {i}")
    release, holders = _hold_all_slots()
    out: dict = {}
    try:
        threads = [threading.Thread(target=lambda i=i: out.setdefault(i, denoising.denoise(
            f"a handwritten {i}", 10, 2.0 + i, 900 + i))) for i in range(3)]
        for t in threads:
            t.start()
        time.sleep(1.0)  # all three queue up behind the busy slots
    finally:
        release.set()
        for t in holders:
            t.join(10)
    for t in threads:
        t.join(60)
    # three queued requests, two slots freed at once: they run as at most two batches, not three
    runs = sum(1 / (r.shared_with + 1) for r in out.values())
    assert round(runs) <= min(2, cache.COMPUTE_SLOTS) and max(r.shared_with for r in out.values()) >= 1
    for i, r in out.items():  # each keeps its own digit, guidance and seed
        assert (r.label, r.guidance, r.seed) == (i, 2.0 + i, 900 + i)
        alone = denoising._denoise.uncached(f"a handwritten {i}", 10, 2.0 + i, 900 + i, "ddim", "tiny-ddpm", 1)
        assert alone.shared_with == 0
        # the same picture up to rounding: exact in float32, bfloat16 rounding where the CPU samples in it
        # (fused kernels of another batch shape round differently); images are in [0, 1] here
        diff = np.abs(np.asarray(r.x_t) - np.asarray(alone.x_t))
        assert diff.mean() < 0.01 and (diff > 0.125).mean() < 0.02, (diff.mean(), (diff > 0.125).mean())


def test_a_new_visitor_session_does_not_serialise_every_block():
    from gradio import state_holder

    import app
    from ui import sessions

    assert sessions.install()
    state = state_holder.SessionState(app.demo)
    assert dict.__len__(state.config_values) == 0  # nothing computed yet
    some_id = next(iter(app.demo.blocks))
    assert some_id in state.config_values  # what Gradio checks before recording an output's value
    assert state.config_values[some_id]["id"] == some_id
    # a full listing (Gradio's own deep links) still sees every block, as the eager original did
    lazy = list(state.components)
    original = sessions._original_init
    eager = object.__new__(state_holder.SessionState)
    original(eager, app.demo)
    assert lazy == list(eager.components)
    assert len(lazy) > 100


@pytest.mark.parametrize("api", ["attention", "next_token", "denoise"])
def test_a_press_from_a_brand_new_session_gets_its_result(app_url, api):
    """What every student's first press is: a session the server has never seen (benchmarks/press.py)."""
    from benchmarks.__main__ import DEFAULTS
    from benchmarks.press import Endpoints

    seconds, data = Endpoints(app_url).press(api, DEFAULTS[api], timeout=300)
    views = data[:3] if api == "denoise" else data  # a denoise answer's GIF slot is empty: it comes when asked
    assert seconds > 0 and views and all(d is not None for d in views)
    if api == "denoise":
        assert len(data) == 4 and data[3] is None


@pytest.mark.parametrize("bf16,fuse", [(False, True), (True, False), (True, True)])
def test_traced_unet_gives_the_eager_models_outputs(set_bf16, monkeypatch, bf16, fuse):
    """The sampling UNet is traced with TorchScript (no Python between ops: immune to the web server
    holding the GIL); over batch sizes (padded ones too), timesteps and labels it returns exactly what
    the same weights return eagerly, and with oneDNN's fused kernels (bfloat16 only) the same within
    bfloat16 rounding. EXPLAINER_JIT=0 samples eagerly."""
    import copy

    import models
    from models import diffusion

    set_bf16(bf16)
    monkeypatch.setenv("EXPLAINER_FUSE", "1" if fuse else "0")
    unet = models.load("tiny-ddpm").model
    fast = diffusion.inference_unet(unet)
    assert fast.traced and fast.dtype_name == ("bfloat16" if bf16 else "float32")
    assert fast.fused == (bf16 and fuse)  # float32 is never fused
    eager = torch.nn.Module.to(copy.deepcopy(unet), torch.bfloat16) if bf16 else unet
    gen = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        for rows, t in [(1, 999), (3, 500), (5, 250), (8, 1)]:  # 5 rows: padded to 6 when fused
            x = torch.randn(rows, 1, 28, 28, generator=gen)
            labels = torch.randint(0, 11, (rows,), generator=gen)
            want = eager(x.to(eager.dtype), torch.tensor(t), class_labels=labels).sample.float()
            got = fast(x, torch.tensor(t), class_labels=labels).sample
            assert got.dtype == torch.float32 and got.shape == want.shape, (rows, t)
            if fast.fused:  # measured: mean |difference| about 0.002 of outputs whose mean size is about 0.8
                assert float((got - want).abs().mean()) < 0.01 and float((got - want).abs().max()) < 0.25, (rows, t)
            else:
                assert torch.equal(got, want), (rows, t)
    monkeypatch.setenv("EXPLAINER_JIT", "0")
    plain = diffusion.inference_unet(unet)
    assert not plain.traced and plain is not fast


def test_each_torch_thread_count_samples_with_a_graph_built_for_it(set_bf16, monkeypatch):
    """A fused graph keeps the thread count its kernels were built with (run with another, a second
    thread only burned CPU), so a run that takes or gives back a compute slot switches graphs: one per
    thread count, built once, each giving the eager model's outputs within bfloat16 rounding."""
    import copy

    import models
    from models import diffusion

    set_bf16(True)
    monkeypatch.setenv("EXPLAINER_FUSE", "1")
    unet = models.load("tiny-ddpm").model
    fast = diffusion.inference_unet(unet)
    eager = torch.nn.Module.to(copy.deepcopy(unet), torch.bfloat16)
    x, t, labels = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(1)), torch.tensor(300), torch.tensor([10, 4])
    with torch.inference_mode():
        want = eager(x.to(torch.bfloat16), t, class_labels=labels).sample.float()
    before, graphs, outs = torch.get_num_threads(), {}, {}
    try:
        for threads in (1, 2, 1, 2):
            torch.set_num_threads(threads)
            graphs.setdefault(threads, fast.graph())
            assert fast.graph() is graphs[threads]  # built once per count
            with torch.inference_mode():
                outs[threads] = fast(x, t, class_labels=labels).sample
    finally:
        torch.set_num_threads(before)
    assert graphs[1] is not graphs[2] and fast.traced
    for threads, got in outs.items():
        assert float((got - want).abs().mean()) < 0.01 and float((got - want).abs().max()) < 0.25, threads


def test_a_unet_that_fails_to_fuse_is_traced_without_fusion(set_bf16, monkeypatch, caplog):
    """oneDNN Graph is an optimisation: if tracing with it fails, the UNet is traced unfused (still free of
    Python between ops), and the log says why, with its traceback."""
    import logging

    import models
    from models import diffusion

    set_bf16(True)
    monkeypatch.setenv("EXPLAINER_FUSE", "1")
    real = diffusion._set_fusion

    def refuse(on: bool) -> None:
        if on:
            raise RuntimeError("no fusion on this CPU")
        real(on)

    monkeypatch.setattr(diffusion, "_set_fusion", refuse)
    unet = models.load("tiny-ddpm").model
    with caplog.at_level(logging.WARNING):
        fast = diffusion.FastUNet(unet, bf16=True, jit=True, fuse=True)
    assert fast.traced and not fast.fused
    assert "no fusion on this CPU" in caplog.text and "Traceback" in caplog.text
    with torch.inference_mode():
        assert fast(torch.zeros(3, 1, 28, 28), torch.tensor(10), torch.tensor([1, 2, 3])).sample.shape == (3, 1, 28, 28)


def test_a_text_to_image_run_alone_gives_a_core_back_at_its_next_step_when_another_computation_waits():
    from explainers import text_to_image as t2i

    s = t2i.validate("a yellow 6 on a purple background", 40, 3.0, 4321, "", t2i.DEFAULT_MODEL, 4)
    t2i.run(t2i.validate("warm up", 2, 3.0, 1, "", t2i.DEFAULT_MODEL, 1))  # the model loaded before
    runner = threading.Thread(target=lambda: t2i.run(s))
    runner.start()
    t0 = time.perf_counter()
    while cache.free_slots() > 0 and time.perf_counter() - t0 < 10:  # until the run holds every slot
        time.sleep(0.005)
    assert cache.free_slots() == 0
    with compute_slot():  # waits for the run's next step, not for its end
        still_running = runner.is_alive()
    runner.join(60)
    assert still_running and t2i.peek(s) is not None


def test_a_thread_that_first_used_torch_during_a_greedy_run_computes_on_one_slot_s_threads():
    """torch.set_num_threads also sets new threads' default: a thread born while a greedy run held every
    slot must not keep that many threads when it computes beside another run later."""
    later, seen = threading.Event(), {}

    def born_during_the_run():
        torch.ones(4).sum()  # its first torch call: it takes the default of this moment
        seen["born with"] = torch.get_num_threads()
        later.wait(10)
        with compute_slot():
            seen["computes with"] = torch.get_num_threads()

    with compute_slot(greedy=True):
        t = threading.Thread(target=born_during_the_run)
        t.start()
        while "born with" not in seen and t.is_alive():
            time.sleep(0.01)
    later.set()
    t.join(10)
    assert seen["computes with"] == cache.THREADS_PER_SLOT, seen


def test_the_gil_switch_interval_and_a_bad_override(monkeypatch, caplog):
    import sys

    before = sys.getswitchinterval()
    try:
        cache.share_the_gil()
        assert sys.getswitchinterval() == pytest.approx(cache.GIL_SWITCH_S)
        monkeypatch.setenv("EXPLAINER_GIL_SWITCH_MS", "5")
        cache.share_the_gil()
        assert sys.getswitchinterval() == pytest.approx(0.005)
        for bad in ("fast", "0", "-1"):
            monkeypatch.setenv("EXPLAINER_GIL_SWITCH_MS", bad)
            cache.share_the_gil()  # logged, the default kept: the app still starts
            assert sys.getswitchinterval() == pytest.approx(cache.GIL_SWITCH_S)
        assert "not a positive number" in caplog.text
    finally:
        sys.setswitchinterval(before)


def test_t2i_decoders_in_bfloat16_draw_the_float32_pictures(set_bf16):
    """On a CPU with native bfloat16 tiny-t2i's decoders run in it (twice as fast): the pictures stay
    within a few 8-bit levels of float32's, for the full decoder and the preview decoder."""
    import models
    from explainers import t2i_spec
    from models.t2i_sampler import decode, preview, start_noise

    bundle = models.load(t2i_spec.DEFAULT_MODEL)
    latents = start_noise(bundle, [0, 1, 2]) * 0.8
    set_bf16(False)
    full32, prev32 = decode(bundle, latents), preview(bundle, latents)
    set_bf16(True)
    full16, prev16 = decode(bundle, latents), preview(bundle, latents)
    for a, b in ((full32, full16), (prev32, prev16)):
        assert a.shape == b.shape == (3, 32, 32, 3) and a.dtype == b.dtype == np.float32
        assert np.abs(a - b).mean() < 1 / 255 and np.abs(a - b).max() < 8 / 255
