"""Diffusion writes text (explainers/text_diffusion.py) with the shipped tiny-diffusion-lm: the public
API's invariants, the views, the endpoint and the browser's scrubbing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from explainers import text_diffusion, text_diffusion_views
from models import masked_diffusion
from models.errors import InputError
from tests.conftest import call
from tests.test_browser import browser, run_then_scrub  # noqa: F401 - browser: the shared chromium fixture
from training.eval_tiny_diffusion_lm import held_out_check


def test_mask_id_and_context_come_from_the_shipped_model():
    cfg = json.loads((text_diffusion.ASSETS / "config.json").read_text())
    assert text_diffusion.MASK_ID == cfg["vocab_size"] - 1 == 4096  # one past tiny-gpt's vocabulary
    assert text_diffusion.CONTEXT == cfg["n_positions"] - 1 == 255
    assert cfg["is_causal"] is False  # it reads both ways


def test_the_cards_held_out_figures_are_these_weights():
    """training.json's small held-out cut, recomputed from the shipped weights (the card's full figure,
    324 windows x 16 values of t, takes minutes: `python -m training.eval_tiny_diffusion_lm`)."""
    card = text_diffusion.card()["training"]
    stored, now = card["held_out_check"], held_out_check()
    assert now["bound_ppl"] == pytest.approx(stored["bound_ppl"], rel=1e-3)
    assert now["tiny_gpt_ppl"] == pytest.approx(stored["tiny_gpt_ppl"], rel=1e-3)
    held = card["held_out"]
    assert held["ratio"] == pytest.approx(held["bound_ppl"] / held["tiny_gpt_ppl"], rel=1e-6)
    # the cut is 32 of the 324 windows: the same model, so the same gap within a sixth
    assert now["bound_ppl"] / now["tiny_gpt_ppl"] == pytest.approx(held["ratio"], rel=0.17)


def test_denoiser_logits_shape_and_both_ways():
    ids = torch.randint(0, 4096, (2, 12))
    ids[:, 5] = text_diffusion.MASK_ID
    out = text_diffusion.denoiser_logits(ids)
    assert out.shape == (2, 12, 4096) and torch.isfinite(out).all()
    changed = ids.clone()
    changed[:, 10] = (changed[:, 10] + 1) % 4096  # a token to the right of the mask
    assert not torch.allclose(text_diffusion.denoiser_logits(changed)[:, 5], out[:, 5])


@pytest.mark.parametrize("bad", [torch.zeros(3, dtype=torch.long), torch.full((1, 4), 5000),
                                 torch.zeros(1, 300, dtype=torch.long), torch.zeros(1, 3)])
def test_denoiser_logits_refuses_bad_ids(bad):
    with pytest.raises(InputError):
        text_diffusion.denoiser_logits(bad)


def test_generate_fills_every_mask_and_never_changes_a_shown_token():
    r = text_diffusion.generate("ROMEO:\nWhat light", length=24, steps=6, seed=3)
    p = r.prompt_tokens
    assert r.frames.shape == (7, p + 24) and r.passes == 6 and r.mask_id == text_diffusion.MASK_ID
    assert (r.frames[0, p:] == r.mask_id).all() and (r.frames[:, :p] == r.frames[0, :p]).all()
    assert not (r.frames[-1] == r.mask_id).any()
    for a, b in zip(r.frames[:-1], r.frames[1:]):
        shown = a != r.mask_id
        assert (b[shown] == a[shown]).all()
    assert sum(r.revealed_per_pass) == 24 and r.revealed_per_pass == [4] * 6
    assert r.text == r.prompt + r.continuation or r.text.startswith(r.prompt)
    assert ((r.confidence > 0) & (r.confidence <= 1)).all()
    again = text_diffusion.generate("ROMEO:\nWhat light", 24, 6, 3)
    assert again is r  # identical requests are computed once
    other = text_diffusion.generate("ROMEO:\nWhat light", 24, 6, 4)
    assert not np.array_equal(other.frames[-1], r.frames[-1])  # the seed matters (sampling at TEMPERATURE)


def test_keeping_the_surest_fills_the_text_with_line_breaks_as_the_page_says():
    """The tab says this model is surest of line breaks, which is why it keeps random guesses: with the
    page's temperature and blocks, keeping the surest writes far more line breaks than keeping random ones."""
    b = text_diffusion.bundle()
    breaks = {i for i in range(text_diffusion.MASK_ID) if "\n" in b.tokenizer.decode([i])}
    count = {"low_confidence": 0, "random": 0}
    for prompt in ("ROMEO:", "KING HENRY:", "First Citizen:\nWe are", "HAMLET:\nTo be, or"):
        ids = b.tokenizer(prompt)["input_ids"]
        for remasking in count:
            u = masked_diffusion.sample(b.model, ids, 64, 16, text_diffusion.MASK_ID, 0, text_diffusion.TEMPERATURE,
                                        blocks=text_diffusion.blocks_for(64, 16), remasking=remasking)
            count[remasking] += sum(t in breaks for t in u.frames[-1, len(ids):].tolist())
    assert text_diffusion.REMASKING == "random"
    assert count["low_confidence"] > 1.5 * count["random"], count


@pytest.mark.parametrize("args", [("", 8, 4, 0), ("hi", 8, 9, 0), ("hi", 0, 1, 0), ("hi", 500, 4, 0),
                                  ("hi", 8, 4, -1), (None, 8, 4, 0)])
def test_generate_refuses_bad_input_with_a_message(args):
    with pytest.raises(InputError):
        text_diffusion.generate(*args)


def test_views_hold_every_pass_and_the_summary_counts_them():
    r = text_diffusion.generate("KING HENRY:\nOnce more", 16, 4, 0)
    g = text_diffusion.autoregressive("KING HENRY:\nOnce more", 16, 0)
    view = text_diffusion_views.unmask_view(r)
    assert view.count("data-frame=") == 5 and view.count('class="td-new"') == 16
    assert text_diffusion_views.autoregressive_view(g).count("data-frame=") == 17
    s = text_diffusion_views.summary(r, g)
    assert "| 4 | 4 |" in s and "| 16 | 1 |" in s


def test_api_write(client):
    summary, unmask, ar = call(client, "write", "ROMEO:\nBut soft", 32, 8, 0)
    assert "| 8 | 4 |" in summary and unmask.count("data-frame=") == 9 and ar.count("data-frame=") == 33
    with pytest.raises(Exception, match="cannot be more than the length"):
        call(client, "write", "ROMEO", 8, 16, 0)


def test_write_scrubs_without_the_server(browser, app_url):  # noqa: F811
    pg = browser.new_page(viewport={"width": 1400, "height": 1600})
    try:
        view = "#write-diffusion"
        before, after, calls = run_then_scrub(pg, app_url, "Same job, other family", "Write it both ways", view,
                                              ".td-text", "Unmasking step")
        assert calls == [], calls
        assert after[0] == "0" and after != before
        assert pg.locator(f"{view} [data-frame]:not([hidden]) .td-m").count() == 64  # all masks at pass 0
    finally:
        pg.close()
