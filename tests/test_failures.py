"""Tests for the "When it fails" tab: calibration against an independent computation of the same
definition, the seen-in-training marks, the endpoints and the browser view."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import models
from explainers import failures, failures_views
from models.errors import InputError
from models.shakespeare import corpus
from tests.conftest import call, open_app
from tests.test_browser import browser  # noqa: F401 - the shared chromium fixture


def independent_ece(text: str, bins: int = 10) -> tuple[float, np.ndarray]:
    """The issue's definition, written again: windows of 257 overlapping by one; one prediction per token."""
    b = models.load("tiny-gpt")
    ids = b.tokenizer(text, add_special_tokens=False)["input_ids"]
    conf, right = [], []
    i = 0
    while i + 1 < len(ids):
        window = ids[i:i + 257]
        with torch.no_grad():
            probs = b.model(torch.tensor([window[:-1]])).logits[0].softmax(-1)
        for j in range(len(window) - 1):
            p, k = probs[j].max(0)
            conf.append(float(p))
            right.append(int(k) == window[j + 1])
        i += 256
    conf, right = np.array(conf), np.array(right, float)
    edges = np.linspace(0, 1, bins + 1)
    ece, counts = 0.0, []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf >= lo) & ((conf < hi) if hi < 1 else (conf <= hi))
        counts.append(int(m.sum()))
        if m.any():
            ece += m.mean() * abs(right[m].mean() - conf[m].mean())
    return ece, np.array(counts)


@pytest.mark.parametrize("text", [corpus("validation")[:2500], "To be, or not to be, that is the question. " * 30])
def test_calibration_matches_the_definition_computed_independently(text):
    c = failures.calibration(text)
    ece, counts = independent_ece(text)
    assert abs(c.ece - ece) < 1e-4
    assert c.counts.sum() == c.n == counts.sum()
    assert np.abs(c.counts - counts).sum() <= 2  # a probability exactly on a bin edge may fall either side
    filled = c.counts > 0
    assert np.all(c.confidence[filled] >= np.arange(10)[filled] / 10 - 1e-9)


def test_calibration_input_is_checked():
    with pytest.raises(InputError, match="empty"):
        failures.calibration("   ")
    with pytest.raises(InputError, match="two tokens"):
        failures.calibration("a")
    with pytest.raises(InputError, match="bins"):
        failures.calibration("some text here", bins=1)
    with pytest.raises(InputError, match="not a decoder"):
        failures.calibration("some text here", model="minilm")


def test_seen_in_training_finds_a_training_line_and_not_noise():
    b = models.load("tiny-gpt")
    line = corpus("train")[5000:5200]
    ids = b.tokenizer(line, add_special_tokens=False)["input_ids"]
    assert failures.seen_in_training(ids).mean() > 0.95
    rng = np.random.default_rng(0)
    noise = rng.integers(0, len(b.tokenizer), 60).tolist()
    assert failures.seen_in_training(noise).mean() < 0.2


def test_training_runs_are_those_of_the_whole_text():
    """Tokenized paragraph by paragraph (fast), the plays give the same token runs as tokenized whole."""
    tok = models.load("tiny-gpt").tokenizer
    ids = np.asarray(tok(corpus("train"), add_special_tokens=False)["input_ids"], dtype=np.int64)
    runs = failures.training_runs("tiny-gpt")
    assert len(runs) > 100_000
    np.testing.assert_array_equal(runs, np.unique(failures.codes(ids, len(tok))))


def test_remembered_marks_and_summary():
    r = failures.remembered(failures.PROMPTS[0], 40, 0.8, 0)
    assert len(r.tokens) == len(r.confidence) == len(r.seen) == 40
    s = failures_views.remembered_summary(r)
    assert f"{r.seen_share:.0%}" in s and "Sycophancy" in s
    view = failures_views.remembered_view(r)
    assert view.count("fl-seen") + view.count("fl-new") >= 40


def test_api_calibration_and_remembered(client):
    summary, view = call(client, "calibration", corpus("validation")[:1500], 10)
    assert "ECE" in summary and "<svg" in view
    summary, view = call(client, "remembered", "ROMEO:", 0)
    assert "training plays" in summary and "fl-tok" in view


def test_when_it_fails_tab_draws_the_reliability_diagram(browser, app_url):  # noqa: F811
    pg = browser.new_page(viewport={"width": 1400, "height": 1400})
    try:
        open_app(pg, app_url, timeout_ms=90_000)
        pg.get_by_role("tab", name="When it fails", exact=True).first.click()
        pg.get_by_role("button", name="Measure calibration").click()
        pg.locator("#calibration-view svg[aria-label^='Reliability diagram']").wait_for(timeout=180_000)
        assert "ECE" in pg.locator("#calibration-summary").inner_text()
    finally:
        pg.close()
