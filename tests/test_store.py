"""The run store and the shared memory: single flight, a budget in bytes, frozen results,
explicit progress and lookups, and the error path (input errors are sentences, bugs are logged)."""

from __future__ import annotations

import gc
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import gradio as gr
import numpy as np
import pytest

import app  # noqa: F401 - builds the page, as the server does (the tabs register their warm-up work)
from explainers.memory import Memory, memoize, nbytes
from models.errors import InputError
from store import STORE, RunStore, warm_up
from ui import text_to_image as ui_t2i
from ui.common import friendly_errors


def test_budget_is_in_bytes_and_evicts_the_oldest():
    m = Memory(budget_bytes=3 * 1_000_000)
    for i in range(5):
        m.get("ns", i, lambda: np.zeros(1_000_000 // 8))  # ~1 MB each
    assert m.used <= m.budget and m.count("ns") == 2
    assert m.peek("ns", 0) is None and m.peek("ns", 4) is not None


def test_a_value_bigger_than_the_budget_is_returned_not_kept():
    m = Memory(budget_bytes=1000)
    v = m.get("ns", "big", lambda: np.zeros(10_000))
    assert v.shape == (10_000,) and m.used == 0 and m.peek("ns", "big") is None


def test_identical_requests_compute_once():
    m, runs = Memory(10**7), []

    def slow():
        runs.append(1)
        time.sleep(0.3)
        return np.arange(3)

    with ThreadPoolExecutor(8) as ex:
        out = list(ex.map(lambda _: m.get("ns", "k", slow, gate=False), range(8)))
    assert len(runs) == 1 and all(o is out[0] for o in out)


def test_stored_results_are_read_only():
    m = Memory(10**7)
    a = m.get("ns", "k", lambda: {"x": np.ones(4)})
    with pytest.raises(ValueError):
        a["x"][0] = 5


def test_progress_is_an_argument_left_out_of_the_key():
    calls = []

    @memoize(maxsize=4, unkeyed=("progress",))
    def work(n, progress=None):
        progress(n)
        return n * 2

    assert work(3, progress=calls.append) == 6 and work(3, progress=calls.append) == 6
    assert calls == [3]  # the second call was a lookup
    assert work.peek(3) == 6 and work.peek(4) is None  # peek never computes


def test_nbytes_counts_arrays_inside_dataclasses():
    from explainers.t2i_spec import Settings

    assert nbytes([np.zeros(1000), np.zeros(1000)]) >= 16_000
    assert nbytes(Settings()) < 2_000


def test_store_renders_a_view_once_per_key():
    store, renders = RunStore(Memory(10**7)), []

    def render():
        renders.append(1)
        return "<p>view</p>"

    with ThreadPoolExecutor(6) as ex:
        out = list(ex.map(lambda _: store.view("topic", "steps", ("settings",), render), range(6)))
    assert out == ["<p>view</p>"] * 6 and len(renders) == 1
    assert STORE.budget_bytes > 0


def test_input_error_becomes_its_sentence():
    @friendly_errors
    def bad():
        raise InputError("Steps must be between 2 and 100; got 500.")

    with pytest.raises(gr.Error, match="Steps must be between 2 and 100"):
        bad()


def test_a_bug_is_logged_with_its_traceback_not_called_bad_input(caplog):
    @friendly_errors
    def buggy():
        return len("abc") + "a"  # a TypeError: a bug, not bad input

    with caplog.at_level(logging.ERROR, logger="explainer"), pytest.raises(gr.Error) as e:
        buggy()
    assert "internal error" in str(e.value) and "TypeError" in str(e.value)
    assert any(r.exc_info and r.exc_info[0] is TypeError for r in caplog.records)


def test_a_failed_computation_is_not_stored_and_waiters_retry():
    m, tries = Memory(10**7), []
    gate = threading.Event()

    def flaky():
        tries.append(1)
        if len(tries) == 1:
            gate.wait(1)
            raise RuntimeError("first run failed")
        return "ok"

    with ThreadPoolExecutor(2) as ex:
        first = ex.submit(m.get, "ns", "k", flaky, False)
        time.sleep(0.1)
        second = ex.submit(m.get, "ns", "k", flaky, False)
        gate.set()
        with pytest.raises(RuntimeError):
            first.result()
        assert second.result() == "ok"


def test_models_loading_at_the_same_time_load_whole():
    """The warm-up thread and a first request load different models at once: tiny-gpt's output layer
    (tied to its token embeddings) must come out tied, not left uninitialised."""
    import torch

    import models
    from models.catalog import clear_cache

    clear_cache()
    with ThreadPoolExecutor(3) as ex:
        bundles = dict(zip(("tiny-gpt", "minilm", "tiny-t2i"), ex.map(models.load, ("tiny-gpt", "minilm", "tiny-t2i"))))
    gpt = bundles["tiny-gpt"].model
    assert torch.equal(gpt.lm_head.weight, gpt.transformer.wte.weight)
    with torch.inference_mode():
        logits = gpt(torch.tensor([[1, 2, 3]])).logits
    assert torch.isfinite(logits).all()


def test_warm_up_runs_the_tabs_jobs_after_the_models_and_logs_a_failing_one(caplog):
    store, done = RunStore(Memory(10**6)), []

    def broken():
        raise TypeError("a bug in a warm-up job")

    store.after_warm(lambda: done.append("first"))
    store.after_warm(broken)
    store.after_warm(lambda: done.append("after the broken one"))
    with caplog.at_level(logging.ERROR):
        warm_up(store, load_models=lambda: done.append("models")).join(30)
    assert store.warm.is_set()
    assert done == ["models", "first", "after the broken one"]
    assert "a bug in a warm-up job" in caplog.text and "Traceback" in caplog.text
    # what the warm-up left alive (this process: the page, the models) is out of the cyclic collector's walks
    try:
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()  # this test process goes on as before


def test_the_text_to_image_examples_are_stored_once_the_models_are_warm(monkeypatch):
    """A class pressing a listed example gets the stored run and its rendered first answer."""
    assert ui_t2i.prefill_examples in STORE.warm_jobs  # registered when the app's page is built
    example = ("a white 2 on green", "", 6, 3.0, 2)
    monkeypatch.setattr(ui_t2i, "EXAMPLES", [example])
    s = ui_t2i.t2i.validate(example[0], example[2], example[3], example[4], example[1], ui_t2i.t2i.DEFAULT_MODEL,
                            ui_t2i.t2i.DEFAULT_IMAGES)
    assert ui_t2i.t2i.peek(s) is None
    ui_t2i.prefill_examples()
    assert ui_t2i.t2i.peek(s) is not None
    assert STORE.memory.peek("view:text_to_image:steps", (s, True)) is not None  # (settings, skip [CLS]/[SEP])
    assert STORE.memory.peek("view:text_to_image:words", (s, True)) is None  # a sub-view: rendered when opened


def test_the_first_tabs_examples_are_stored_once_the_models_are_warm(monkeypatch):
    """Denoising, Attention and Next token register their listed examples too: after the warm-up a
    listed example's run and its rendered views are a lookup (the API's step endpoint finds them)."""
    from explainers import attention_views, denoising, diffusion_views
    from ui import attention as ui_attention
    from ui import denoising as ui_denoising
    from ui import next_token as ui_next_token

    for job in (ui_denoising.prefill_examples, ui_attention.prefill_examples, ui_next_token.prefill_examples):
        assert job in STORE.warm_jobs
    example = ["the number 6", 12, 2.0, 5, "ddim"]  # few steps: a quick test
    monkeypatch.setattr(ui_denoising, "EXAMPLES", [example])
    args = (*example, denoising.DEFAULT_MODEL, 1)
    with pytest.raises(InputError):
        denoising.lookup(*args)
    ui_denoising.prefill_examples()
    r = denoising.lookup(*args)  # stored: never a model run
    assert (r.prompt, r.steps, r.guidance, r.seed, r.label) == ("the number 6", 12, 2.0, 5, 6)
    assert STORE.memory.peek(diffusion_views.DENOISE_VIEWS, diffusion_views.result_key(r)) is not None
    sentence = ["A tired farmer lifted the heavy box.", "minilm"]
    monkeypatch.setattr(ui_attention, "EXAMPLES", [sentence])
    assert attention_views.attention_views.peek(*sentence, True) is None
    ui_attention.prefill_examples()
    assert attention_views.attention_views.peek(*sentence, True) is not None
