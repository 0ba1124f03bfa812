"""Side by side: FLOPs per pass behave as the theory says, passes are counted for real, the
attention exponent is about 2, and the tab's endpoints answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import models
from explainers import compare, compare_views, pass_counts, step_counts
from explainers.generation import sample_loop
from explainers.next_token import Sampling
from tests.conftest import call


@pytest.fixture(scope="module")
def race_result():
    return compare.race("ROMEO:", "a handwritten 5", new_tokens=6, steps=10, seed=0)


def test_gpt_flops_flat_with_cache_growing_without(race_result):
    with_cache = np.array([p.flops for p in race_result.gpt[1:]])  # after the prompt pass: one token each
    assert with_cache.max() / with_cache.min() < 1.2
    without = np.array(race_result.gpt_no_cache_flops)
    assert np.all(np.diff(without) > 0)  # the whole growing context every pass
    assert without[-1] > 3 * with_cache[-1]


def test_unet_flops_identical_every_step(race_result):
    flops = {p.flops for p in race_result.unet}
    assert len(flops) == 1 and flops.pop() > 0


def test_flops_are_counted_once_per_call_signature():
    """A pass's FLOPs depend only on its inputs' shapes (and a KV cache's length): each signature is
    counted under FlopCounterMode once, and the shared count equals a direct count."""
    unet = models.load("tiny-ddpm").model
    x, labels = torch.zeros(2, 1, 28, 28), torch.tensor([3, 10])
    with torch.inference_mode(), FlopCounterMode(display=False) as fc:
        unet(x, torch.tensor(500), class_labels=labels)
    with torch.inference_mode(), pass_counts.counting(unet, "all") as c:
        for t in (900, 500, 100):
            unet(x, torch.tensor(t), class_labels=labels)
    assert c.calls == 3 and c.flops == [fc.get_total_flops()] * 3 and c.counted <= 1

    bundle = models.load("tiny-gpt")

    def loop():
        with pass_counts.counting(bundle.model, "all") as c:
            sample_loop(bundle, torch.tensor([[5, 6, 7]]), 5, Sampling(1.0, 0, 1.0), 0, True)
        return c

    first, again = loop(), loop()
    assert first.flops == again.flops and again.counted == 0 and again.calls == 5
    assert np.all(np.diff(first.flops[1:]) > 0)  # with the cache, each pass attends to one more key


def test_reported_passes_equal_calls_actually_made():
    gpt, unet = models.load("tiny-gpt").model, models.load("tiny-ddpm").model
    calls = {"gpt": 0, "unet": 0}
    h1 = gpt.register_forward_hook(lambda *a: calls.__setitem__("gpt", calls["gpt"] + 1))
    h2 = unet.register_forward_hook(lambda *a: calls.__setitem__("unet", calls["unet"] + 1))
    try:
        pass_counts.forget(gpt)
        pass_counts.forget(unet)
        r = compare.race.uncached("ROMEO:", "a handwritten 3", new_tokens=4, steps=10, seed=1)
        first = dict(calls)
        again = compare.race.uncached("ROMEO:", "a handwritten 3", new_tokens=4, steps=10, seed=2)
    finally:
        h1.remove()
        h2.remove()
    # new passes: the GPT runs three times (timed, FLOP-counted, FLOP-counted without cache), the UNet twice
    assert first == {"gpt": 3 * len(r.gpt), "unet": 2 * len(r.unet)} == {"gpt": 12, "unet": 20}
    # passes of signatures counted before: only the timed runs and the run without cache
    assert calls["gpt"] - first["gpt"] == 8 and calls["unet"] - first["unet"] == 10
    assert [p.index for p in r.gpt] == [1, 2, 3, 4]
    assert [p.flops for p in again.gpt] == [p.flops for p in r.gpt] and again.gpt_no_cache_flops == r.gpt_no_cache_flops
    assert {p.flops for p in again.unet} == {p.flops for p in r.unet}


def test_attention_flops_exponent_is_quadratic():
    c = compare.attention_cost.uncached("tiny-gpt", (64, 128, 256, 512), repeats=1)
    assert abs(c.exponent - 2.0) < 0.1
    ratio = np.array(c.attention_flops) / np.array(c.other_flops)
    assert np.all(np.diff(ratio) > 0)  # attention takes a growing share as the sequence grows
    # timed in the dtype the app runs tiny-gpt in (its config's float16 made every pass ~10x slower on a CPU)
    assert c.dtype == str(next(models.load("tiny-gpt").model.parameters()).dtype).removeprefix("torch.") == "float32"


def test_patches_make_a_sequence():
    img = np.arange(28 * 28, dtype=float).reshape(28, 28)
    seq = compare.patches(img, 4)
    assert seq.shape == (49, 4, 4)
    np.testing.assert_array_equal(seq[1], img[0:4, 4:8])
    with pytest.raises(ValueError, match="divisible"):
        compare.patches(img, 5)


def test_race_rejects_bad_settings():
    with pytest.raises(ValueError, match="new tokens"):
        compare.race("ROMEO:", "a 5", new_tokens=0)
    with pytest.raises(ValueError, match="steps"):
        compare.race("ROMEO:", "a 5", steps=10**6)


@pytest.mark.api
def test_race_endpoints(client):
    import re

    from explainers.frames import unpack

    passes, timeline, strip, table = call(client, "race", "ROMEO:", "a handwritten 5", 5, 10, 0)
    frames = re.findall(r'<div data-frame="(\d+)"', passes)
    assert frames == [str(i) for i in range(1, 11)]  # max(5 tokens, 10 steps) passes, all in the page
    passes = unpack(passes)  # hidden frames' pictures travel packed in shared sheets
    assert passes.count("data:image/png") == 2 * 10 and "Transformer, pass 5 (finished after 5 passes)" in passes
    assert timeline.count("<svg") == 2 and "<img" in strip
    assert not re.search(r">\d+\.5</text>", timeline)  # whole pass numbers on the pass axes
    assert "Measured just now" in table and "FLOPs per pass" in table
    # each family's measured figure sits in its own column of the general table
    general = table.split("The two families in general")[1]
    row = re.search(r"<tr><th>Core mechanism</th><td>(.*?)</td><td>(.*?)</td></tr>", general)
    assert "measured here" in row.group(1) and "KV cache" in row.group(1) and "KV cache" not in row.group(2)
    step = call(client, "race_step", "ROMEO:", "a handwritten 5", 5, 10, 0, 3)
    assert step["index"] == 3 and step["text"].startswith("ROMEO:") and step["x_t"].startswith("data:image/png")
    with pytest.raises(Exception, match="new tokens|between|minimum"):
        call(client, "race", "ROMEO:", "a handwritten 5", 0, 10, 0)
    assert "49 patch tokens" in call(client, "patches", 7)


def test_steps_tradeoff_shows_where_fewer_steps_cost():
    s = step_counts.steps_tradeoff("a handwritten 5", (1, 3, 10, 50), 0)
    diff = [float(np.abs(img - s.images[-1]).mean()) for img in s.images]
    assert diff[0] > 3 * diff[2]  # one step is far from fifty; ten are close
    view = compare_views.steps_html(s)
    assert view.count("<img") == 4 and "<svg" in view and "1 step from t = 0:" in view


def test_concurrent_races_count_their_own_passes():
    """The UNet and the GPT are shared by requests: each race counts only its own calls."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as ex:
        a, b = ex.map(lambda seed: compare.race.uncached("ROMEO:", "a 3", new_tokens=3, steps=10, seed=seed), (11, 12))
    assert len(a.unet) == len(b.unet) == 10 and len(a.gpt) == len(b.gpt) == 3


def test_few_step_runs_say_where_they_start():
    """A 1-step DDIM run with 'leading' spacing evaluates the model at t = 0 only: the page says so
    instead of promising a blurry average."""
    s = step_counts.steps_tradeoff("a handwritten 5", (1, 2, 50), 0)
    assert s.first_timestep[0] == 0 and s.first_timestep[1] == 500 and s.first_timestep[2] > 900
    html = compare_views.steps_html(s)
    assert "from t = 0" in html and "t = 0 for 1 step" in html and "blurry average" not in html
