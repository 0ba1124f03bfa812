"""Next token, generation, logit lens and training progress: the explainers on the embedded
tiny-gpt, then the tab's endpoints through gradio_client (including bad inputs)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import models
from explainers import generation, logit_lens, next_token, next_token_views, training_progress
from tests.conftest import call

PROMPT = "To be, or not to"


def model_probs(text: str, model: str = "tiny-gpt") -> np.ndarray:
    b = models.load(model)
    ids = b.tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        return b.model(input_ids=ids).logits[0, -1].float().softmax(-1).numpy()


# ---- predict ---------------------------------------------------------------------------------

def test_predict_plain_softmax_of_the_models_logits():
    r = next_token.predict(PROMPT)
    p = model_probs(PROMPT)
    np.testing.assert_allclose(r.probs_before, p, atol=1e-6)
    np.testing.assert_allclose(r.probs_after, p, atol=1e-6)  # temperature 1, no top-k / top-p
    assert r.n_kept == len(p) and r.kept.all()
    assert abs(r.probs_before.sum() - 1) < 1e-4
    assert r.ids[0] == int(p.argmax()) and list(r.before) == sorted(r.before, reverse=True)
    np.testing.assert_allclose(r.before, p[r.ids], atol=1e-6)
    assert r.tokens[0] == "▁be"  # readable: the leading space shows


def test_top_p_keeps_the_minimal_set_with_mass_p():
    p = 0.6
    r = next_token.predict(PROMPT, top_p=p)
    kept = r.probs_after > 0
    mass = r.probs_before[kept].sum()
    assert mass >= p - 1e-5
    assert mass - r.probs_before[kept].min() < p  # dropping the least likely kept token falls short
    assert r.probs_before[~kept].max() <= r.probs_before[kept].min()  # the likeliest tokens are kept
    assert abs(r.probs_after.sum() - 1) < 1e-4
    np.testing.assert_allclose(r.probs_after[kept], r.probs_before[kept] / mass, rtol=1e-4)


def test_top_k_keeps_exactly_k_and_temperature_reshapes():
    r = next_token.predict(PROMPT, top_k=7)
    assert r.n_kept == 7 and int(r.kept.sum()) == 7 and len(r.ids) == 20
    assert set(np.flatnonzero(r.probs_after)) == set(np.argsort(-r.probs_before)[:7])
    assert not r.kept[7:].any() and (r.after[~r.kept] == 0).all()
    sharp, flat = next_token.predict(PROMPT, temperature=0.5), next_token.predict(PROMPT, temperature=2.0)
    assert sharp.probs_after.max() > r.probs_before.max() > flat.probs_after.max()
    greedy = next_token.predict(PROMPT, temperature=0)
    assert greedy.n_kept == 1 and greedy.probs_after[greedy.ids[0]] == 1.0


@pytest.mark.parametrize("kw", [dict(temperature=-1), dict(temperature=float("nan")), dict(top_k=-1),
                                dict(top_p=0), dict(top_p=1.5), dict(temperature=1e-9)])
def test_predict_refuses_bad_sampling(kw):
    with pytest.raises(ValueError, match="between"):
        next_token.predict(PROMPT, **kw)


def _widths(html_: str) -> list[tuple[str, float]]:
    """(series, width %) of every bar in a bars table, in order."""
    return [(cls, float(w)) for cls, w in re.findall(r"nt-bar nt-(model|after)' style='width:([0-9.]+)%", html_)]


def test_bars_share_one_axis_and_grey_out_cut_tokens_without_overlapping_text():
    r = next_token.predict(PROMPT, top_k=3)
    page = next_token_views.next_token_bars(r)
    assert "'▁be'" in page and "top-k 3" in page and "one scale for both columns" in page
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
    assert len(rows) == 20
    kept = [row for row in rows if "nt-cut" not in row]
    cut = [row for row in rows if "nt-cut" in row]
    assert len(kept) == 3 and len(cut) == 17
    for row in cut:  # greyed, says "cut" once, no orange bar and no "0" printed over it
        assert row.count("cut</td>") == 1 and "nt-after" not in row and ">0%<" not in row and "0.0%" not in row
    # one axis: a bar's width is its probability over the SAME top for both columns
    top = next_token_views.bars_vmax(r)
    assert top >= max(r.before.max(), r.after.max())
    widths = _widths(page)
    model = [w for c, w in widths if c == "model"]
    after = [w for c, w in widths if c == "after"]
    np.testing.assert_allclose(model, 100 * r.before[:20] / top, atol=0.06)
    np.testing.assert_allclose(after, 100 * r.after[:3] / top, atol=0.06)


def test_temperature_2_looks_flatter_on_the_shared_axis():
    flat = next_token.predict(PROMPT, temperature=2.0)
    widths = _widths(next_token_views.next_token_bars(flat))
    top_model = next(w for c, w in widths if c == "model")
    top_after = next(w for c, w in widths if c == "after")
    assert top_after < top_model / 3  # the favourite's bar visibly shrinks (it did not on per-panel axes)


# ---- generate --------------------------------------------------------------------------------

def test_same_seed_same_tokens_and_sampling_can_pick_unlikely_tokens():
    a = generation.generate.uncached("ROMEO:", "tiny-gpt", 12, 1.0, 0, 1.0, 3)
    b = generation.generate.uncached("ROMEO:", "tiny-gpt", 12, 1.0, 0, 1.0, 3)
    assert [s.chosen_id for s in a.steps] == [s.chosen_id for s in b.steps] and a.text == b.text
    for s in a.steps:
        assert s.chosen_id in s.ids and s.chosen_rank >= 1 and 0 < s.chosen_prob <= 1
    assert a.text.startswith("ROMEO:") and a.text == a.prompt + a.generated


def test_greedy_picks_the_argmax_every_step_and_counts_passes():
    n = 8
    for kw in (dict(temperature=0), dict(top_k=1)):
        r = generation.generate("The king is", max_new_tokens=n, **kw)
        assert r.forward_passes == n == len(r.steps) == len(r.seconds_per_pass)
        assert r.tokens_per_pass[0] == r.prompt_tokens and r.tokens_per_pass[1:] == [1] * (n - 1)
        for s in r.steps:
            assert s.chosen_rank == 1 and s.chosen_prob == s.before.max()
    b = models.load("tiny-gpt")  # the same tokens as transformers' own greedy search
    ids = b.tokenizer("The king is", return_tensors="pt")["input_ids"]
    ref = b.model.generate(ids, max_new_tokens=n, do_sample=False, pad_token_id=0)[0, ids.shape[1]:].tolist()
    assert [s.chosen_id for s in r.steps] == ref
    slow = generation.generate("The king is", max_new_tokens=n, temperature=0, use_cache=False)
    assert slow.tokens_per_pass == [slow.prompt_tokens + i for i in range(n)]
    assert [s.chosen_id for s in slow.steps] == [s.chosen_id for s in r.steps]


def test_generate_limits_and_left_truncation():
    for bad in (0, 101, 2.5):
        with pytest.raises(ValueError, match="max_new_tokens"):
            generation.generate("ROMEO:", max_new_tokens=bad)
    long = "KING: " + "to be or not to be " * 100  # ~600 tokens, context is 256
    r = generation.generate(long, max_new_tokens=5, temperature=0)
    assert r.truncated and "last 251" in r.note and r.prompt_tokens == 251


def test_generation_is_one_scrubber_of_every_step_on_one_axis():
    args = ("ROMEO:", "tiny-gpt", 7, 1.0, 0, 1.0, 5)
    summary, steps, passes = next_token_views.generation_views(*args)
    r = generation.generate(*args, True)
    keys = re.findall(r'<div data-frame="([0-9]+)"', steps)
    assert keys == [str(i) for i in range(1, 8)] and 'data-label="Step"' in steps and "data-play" in steps
    tops = set(re.findall(r"one scale for both columns</td><td><div class='nt-axis' aria-hidden='true'>"
                          r"(?:<span>[^<]*</span>){4}<span>([^<]*)</span>", steps))
    assert len(tops) == 1  # every step's bars share one axis
    for i, s in enumerate(r.steps, start=1):
        frame = steps.split(f'<div data-frame="{i}"')[1].split("<div data-frame=")[0]
        assert f"Step {i} of 7" in frame and "◀ drawn" in frame
        assert frame.count("nt-chosen") == 1 and s.chosen_token in frame
    assert "7 forward passes" in summary and "<svg" in passes and "<polyline" in passes
    assert next_token_views.cached_generation_step(*args, 3) == next_token_views.step_html(
        r, 3, max(next_token_views.bars_vmax(s) for s in r.steps))
    with pytest.raises(ValueError, match="step must be between 1 and 7"):
        next_token_views.cached_generation_step(*args, 8)


def test_passes_chart_counts_whole_passes():
    r = generation.generate("The king is", max_new_tokens=3, temperature=0)
    chart = next_token_views.passes_chart(r)
    assert all(f">{i}<" in chart for i in (1, 2, 3)) and ">1.5<" not in chart and ">2.5<" not in chart
    assert f"{sum(r.tokens_per_pass)} with the cache" in chart


def test_cached_generation_never_runs_the_model():
    args = ("The king is", "tiny-gpt", 6, 1.0, 0, 1.0, 11, True)
    generation.generate(*args)
    misses = generation.generate.misses
    assert generation.cached_generation(*args).forward_passes == 6
    with pytest.raises(ValueError, match="Generate"):
        generation.cached_generation("never generated", *args[1:])
    assert generation.generate.misses == misses


# ---- logit lens and training -----------------------------------------------------------------

def test_logit_lens_last_layer_is_the_models_distribution():
    r = logit_lens.lens(PROMPT, top_k=5)
    layers = models.load("tiny-gpt").model.config.n_layer
    assert r.probs.shape == (layers + 1, 5) and len(r.layer_names) == layers + 1
    np.testing.assert_allclose(r.distributions[-1], model_probs(PROMPT), atol=1e-5)
    np.testing.assert_allclose(r.distributions.sum(-1), 1, atol=1e-4)
    assert r.tokens[-1][0] == r.final_token == "▁be"
    assert r.layer_names[0] == "0 (embeddings)" and r.layer_names[1:] == [str(i) for i in range(1, layers + 1)]
    page = next_token_views.lens_html(r)
    rows = page.split("<tbody>")[1].split("<tr>")[1:]
    assert len(rows) == layers + 1 and rows[0].startswith(f"<th scope='row'>{layers}</th>")  # output on top
    assert rows[-1].startswith("<th scope='row'>0 (embeddings)</th>") and f"{r.probs[-1, 0]:.1%}" in rows[0]


def test_training_progress_is_only_for_tiny_gpt():
    r = training_progress.progress("ROMEO:", sample_tokens=5)
    assert r.steps[:3] == [0, 200, 1000] and r.labels[-1].startswith("final") and len(r.samples) == 4
    assert r.probs[0, 0] < 0.05 < r.probs[-1, 0]  # random at step 0, confident at the end
    page = next_token_views.progress_html(r)
    assert page.count("<table") == 4 and all(label in page for label in r.labels)
    # one scale for every checkpoint: step 0's flat guess is a sliver next to the final model's bar
    widths = np.array([float(w) for w in re.findall(r'fv-bar" style="width:([0-9.]+)%', page)]).reshape(4, 5)
    top = next(v for v in next_token_views.NICE if v >= r.probs.max())
    np.testing.assert_allclose(widths, 100 * r.probs / top, atol=0.06)
    assert widths[0].max() < 1 < widths[-1].max()
    with pytest.raises(ValueError, match="only available for tiny-gpt"):
        training_progress.progress("ROMEO:", "gpt2")


# ---- the tab's endpoints -----------------------------------------------------------------------

@pytest.mark.api
def test_endpoints_answer(client):
    bars, caption = call(client, "next_token", PROMPT, "tiny-gpt", 0.8, 10, 0.9)
    assert "'▁be'" in bars and "nt-cut" in bars and "be" in caption
    gen = ("ROMEO:", "tiny-gpt", 5, 1.0, 0, 1.0, 0)
    summary, steps, passes = call(client, "generate", *gen)
    assert "5 forward passes" in summary and steps.count("<div data-frame=") == 5 and "<svg" in passes
    misses = generation.generate.misses
    one = call(client, "generation_step", *gen, 3)
    assert "Step 3 of 5" in one and "nt-bars" in one
    assert one in steps  # the same view the page's Step slider shows
    assert generation.generate.misses == misses  # a lookup, not a model run
    lens, md = call(client, "logit_lens", PROMPT, "tiny-gpt")
    assert "nt-lens" in lens and "0 (embeddings)" in lens and "be" in md
    view, md = call(client, "training_progress", PROMPT, "tiny-gpt")
    assert view.count("<table") == 4 and "final" in md
    table, chart = call(client, "kv_cache_comparison", *gen)
    assert "with KV cache | 5 |" in table and chart.count("<polyline") == 2


def test_examples_offer_only_models_that_can_run(tmp_path, monkeypatch):
    from ui import next_token as ui_next_token

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache, offline: no Hub model can load
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ex = ui_next_token.examples()
    assert {m for _, m in ex} == {"tiny-gpt"} and len(ex) == 3


@pytest.mark.api
@pytest.mark.parametrize("api_name,args,message", [
    ("next_token", ("", "tiny-gpt", 1, 0, 1), "empty"),
    ("next_token", ("x" * 20_000, "tiny-gpt", 1, 0, 1), "limit"),
    ("next_token", (PROMPT, "tiny-gpt", -1, 0, 1), "temperature|minimum"),  # the slider's own check, or ours
    ("next_token", (PROMPT, "tiny-gpt", float("nan"), 0, 1), "JSON"),  # the client refuses to send NaN
    ("next_token", (PROMPT, "nope", 1, 0, 1), "Unknown model 'nope'"),
    ("generate", (PROMPT, "tiny-gpt", 0, 1, 0, 1, 0), "max_new_tokens|minimum"),
    ("generate", (PROMPT, "tiny-gpt", 1000, 1, 0, 1, 0), "max_new_tokens|maximum"),
    ("generate", (PROMPT, "tiny-gpt", 5, -1, 0, 1, 0), "temperature|minimum"),
    ("generate", ("", "tiny-gpt", 5, 1, 0, 1, 0), "empty"),
    ("generation_step", ("not generated yet", "tiny-gpt", 5, 1, 0, 1, 0, 1), "Generate"),
    ("logit_lens", ("", "tiny-gpt"), "empty"),
    ("training_progress", ("x" * 20_000, "tiny-gpt"), "limit"),
])
def test_bad_input_gives_a_clear_error_and_the_server_stays_up(client, api_name, args, message):
    with pytest.raises(Exception, match=message):
        call(client, api_name, *args)
    assert "be" in call(client, "next_token", PROMPT, "tiny-gpt", 1, 0, 1)[1]


@pytest.mark.api
def test_hub_model_offline_says_so(client, tmp_path, monkeypatch):
    # an empty Hugging Face cache (read at call time by the in-process server) and HF_HUB_OFFLINE=1:
    # gpt2 cannot be loaded, whatever this machine's real cache holds
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not models.catalog.is_available("gpt2")
    with pytest.raises(Exception, match="'gpt2' is a Hugging Face Hub model"):
        call(client, "next_token", PROMPT, "gpt2", 1, 0, 1)
    assert "unavailable" in call(client, "training_progress", PROMPT, "gpt2")[1]


@pytest.mark.api
@pytest.mark.parametrize("api_name,data", [("next_token", '["To be", "tiny-gpt", NaN, 0, 1]'),
                                           ("generate", '["To be", "tiny-gpt", 5, NaN, 0, 1, 0]')])
def test_nan_sent_as_raw_json_is_refused(app_url, client, api_name, data):
    """gradio_client cannot send NaN; a raw HTTP client can, and gets our message."""
    import httpx

    url = f"{app_url}gradio_api/call/{api_name}"
    event = httpx.post(url, content=f'{{"data": {data}}}', headers={"content-type": "application/json"}).json()
    with httpx.stream("GET", f"{url}/{event['event_id']}", timeout=120) as stream:
        body = stream.read().decode()
    assert "event: error" in body and "temperature must be between 0 and 5; got nan" in body
    assert "be" in call(client, "next_token", PROMPT, "tiny-gpt", 1, 0, 1)[1]
