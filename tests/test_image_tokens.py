"""Tests for the "Same job, other family" tab's painters: digits as tokens, the two samplers'
invariants (on tiny seeded models built from their configs), the MaskGIT training mask, the shipped
painters (API, browser, quality)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from explainers import image_tokens, image_tokens_views
from models.digits import held_out_mask, mnist_digits
from models.errors import InputError
from models.image_tokens import (
    CLASS_BASE,
    LEVELS,
    MASK,
    N_TOKENS,
    SIDE,
    VOCAB,
    cosine_schedule,
    detokenize,
    paint_autoregressive,
    paint_maskgit,
    tokenize,
)
from tests.conftest import call
from tests.test_browser import browser, run_then_scrub  # noqa: F401 - browser: the shared chromium fixture
from training.train_digit_painters import batch_loss

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_models():
    """Config-built painters with fixed random weights (no training): the samplers' invariants hold for any model."""
    from transformers import BertForMaskedLM, GPT2LMHeadModel

    from models.image_tokens import ar_config, maskgit_config

    torch.manual_seed(0)
    return GPT2LMHeadModel(ar_config()).eval(), BertForMaskedLM(maskgit_config()).eval()


# ---- unit: tokens ------------------------------------------------------------------------------

def test_tokens_round_trip_a_digit():
    x, _ = mnist_digits()
    t = tokenize(x[0])
    assert t.shape == (N_TOKENS,) and t.min() >= 0 and t.max() == LEVELS - 1
    back = detokenize(t)
    assert back.shape == (28, 28) and 0 <= back.min() and back.max() <= 1
    assert np.mean(tokenize(back) == t) > 0.9  # bilinear up, then 2 x 2 means: edges may move one level
    assert np.abs(back - x[0]).mean() < 0.12


def test_cosine_schedule_reveals_everything_in_at_most_16_passes():
    for passes in (4, 8, 12, 16):
        s = cosine_schedule(passes)
        assert len(s) == passes and sum(s) == N_TOKENS and min(s) >= 1
        assert s[0] < s[-1]  # few first, many at the end


# ---- unit: samplers on tiny seeded models ----------------------------------------------------------

def test_autoregressive_paints_in_raster_order_from_its_own_distribution(tiny_models):
    ar, _ = tiny_models
    p = paint_autoregressive(ar, 3, seed=0)
    assert p.order == tuple((i,) for i in range(N_TOKENS))
    assert p.probs.shape == (N_TOKENS, LEVELS) and np.allclose(p.probs.sum(1), 1, atol=1e-5)
    assert np.allclose(p.confidence, p.probs[np.arange(N_TOKENS), p.tokens])
    # the KV cache changes nothing: the last pixel's distribution equals a full pass over the sequence
    ids = torch.tensor([[LEVELS + 3, *p.tokens[:-1]]])
    full = torch.softmax(ar(input_ids=ids).logits[0, -1, :LEVELS], -1).detach().numpy()
    assert np.allclose(full, p.probs[-1], atol=1e-4)
    assert np.array_equal(paint_autoregressive(ar, 3, seed=0).tokens, p.tokens)  # seeded


def test_maskgit_reveals_each_token_once_and_never_changes_it(tiny_models):
    _, mg = tiny_models
    p = paint_maskgit(mg, 5, passes=12, seed=1)
    assert len(p.order) == 12 and [len(o) for o in p.order] == cosine_schedule(12)
    flat = [i for o in p.order for i in o]
    assert sorted(flat) == list(range(N_TOKENS))  # every token exactly once
    assert MASK not in p.tokens and p.tokens.max() < LEVELS
    assert np.all((p.confidence > 0) & (p.confidence <= 1))


def test_the_maskgit_training_mask_hides_between_one_and_all_tokens():
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, input_ids, labels):
            seen.append((input_ids.clone(), labels.clone()))
            return type("O", (), {"loss": torch.tensor(0.0)})

    toks = torch.randint(0, LEVELS, (64, N_TOKENS))
    batch_loss(Spy(), "maskgit", toks, torch.arange(64) % 10, torch.Generator().manual_seed(0))
    ids, labels = seen[0]
    masked = ids[:, 1:] == MASK
    assert (masked.sum(1) >= 1).all() and (masked.sum(1) <= N_TOKENS).all()
    assert torch.equal(labels[:, 1:][masked], toks[masked]) and (labels[:, 1:][~masked] == -100).all()
    assert (labels[:, 0] == -100).all() and torch.equal(ids[:, 0], LEVELS + torch.arange(64) % 10)
    assert masked.float().mean(1).std() > 0.1  # the ratio varies from sequence to sequence


def test_class_dropout_hides_the_digit_in_about_that_share_of_sequences():
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, input_ids, labels):
            seen.append(input_ids.clone())
            return type("O", (), {"loss": torch.tensor(0.0)})

    toks, digits = torch.randint(0, LEVELS, (400, N_TOKENS)), torch.arange(400) % 10
    batch_loss(Spy(), "maskgit", toks, digits, torch.Generator().manual_seed(0), class_dropout=0.25)
    batch_loss(Spy(), "maskgit", toks, digits, torch.Generator().manual_seed(0))
    hidden = seen[0][:, 0] == MASK
    assert 0.18 < hidden.float().mean() < 0.32
    assert torch.equal(seen[0][~hidden, 0], LEVELS + digits[~hidden])
    assert not (seen[1][:, 0] == MASK).any()


def test_guidance_also_asks_with_no_digit_and_pushes_away_from_it():
    """guidance 1: one sequence per pass; guidance g: the digit's and a MASK-headed twin in one batch,
    and the levels drawn from u + g (c - u)."""
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, input_ids):
            seen.append(input_ids.clone())
            logits = torch.zeros(input_ids.shape[0], input_ids.shape[1], VOCAB)
            logits[:, :, 1] = torch.where(input_ids[:, :1] == MASK, 0.0, 0.5)  # asked: level 1 a bit likelier
            return type("O", (), {"logits": logits})

    plain = paint_maskgit(Spy(), 3, 4, seed=0)
    assert all(ids.shape[0] == 1 and ids[0, 0] == CLASS_BASE + 3 for ids in seen)
    seen.clear()
    guided = paint_maskgit(Spy(), 3, 4, seed=0, guidance=5.0)
    assert all(ids.shape[0] == 2 and ids[0, 0] == CLASS_BASE + 3 and ids[1, 0] == MASK for ids in seen)
    assert torch.equal(seen[0][0, 1:], seen[0][1, 1:])  # the twin sees the same pixels
    # level 1's logit: 0.5 alone (p 0.35); 0 + 5 * (0.5 - 0) = 2.5 guided (p 0.8)
    assert (guided.tokens == 1).mean() > (plain.tokens == 1).mean() + 0.3


def test_the_page_paints_with_the_settings_chosen_on_validation_seeds():
    chosen = json.loads((ROOT / "assets" / "models" / "tiny-painters" / "sampling.json").read_text())["chosen"]
    assert (image_tokens.MASKGIT_PASSES, image_tokens.MASKGIT_TEMPERATURE, image_tokens.MASKGIT_GUIDANCE) == (
        chosen["passes"], chosen["temperature"], chosen["guidance"])


def test_painting_input_is_checked():
    for bad in ("ten", 10, -1, 2.5, None):
        with pytest.raises(InputError, match="digit from 0 to 9"):
            image_tokens.generate(bad, "maskgit", 0)
    with pytest.raises(InputError, match="method"):
        image_tokens.generate(3, "diffusion", 0)


# ---- the shipped painters -------------------------------------------------------------------

def test_the_shipped_painters_paint_and_the_views_hold_every_pass():
    ar = image_tokens.generate(3, "autoregressive", 0)
    mg = image_tokens.generate(3, "maskgit", 0)
    assert ar.passes == N_TOKENS and mg.passes == image_tokens.MASKGIT_PASSES
    assert ar.image.shape == mg.image.shape == (28, 28)
    view = image_tokens_views.paint_view(mg)
    assert view.count("data-frame=") == mg.passes + 1
    assert mg.canvas(0).min() == -1 and mg.canvas(mg.passes).min() >= 0
    assert image_tokens_views.order_view(mg).count("<img") == 1
    assert image_tokens.generate(3, "maskgit", 0) is mg


def test_api_paint(client):
    summary, ar, mg, order, diff = call(client, "paint", "7", 1)
    assert "forward passes" in summary and "| 196 |" in summary and "| 12 |" in summary and "| 50 |" in summary
    assert ar.count("data-frame=") == N_TOKENS + 1 and diff.count("data-frame=") == 50
    with pytest.raises(Exception, match="not in the list of choices"):  # Gradio checks a dropdown's value first
        call(client, "paint", "x", 0)


def test_paint_tab_scrubs_without_the_server(browser, app_url):  # noqa: F811
    pg = browser.new_page(viewport={"width": 1400, "height": 1600})
    try:
        before, after, calls = run_then_scrub(pg, app_url, "Same job, other family", "Paint it three ways",
                                              "#paint-maskgit", "img", "Unmasking pass")
        assert calls == [], calls
        assert after[0] == "0" and after != before
    finally:
        pg.close()


@pytest.mark.quality
def test_quality_the_vit_reads_the_digit_asked():
    hits = {"autoregressive": 0, "maskgit": 0}
    n = 3
    for method in hits:
        for digit in range(10):
            for i in range(n):
                r = image_tokens.generate(digit, method, 5000 + i)  # seeds neither the card nor the page use
                hits[method] += int(r.read_as == digit)
    card = {r["key"]: r["read_as_asked"] for r in image_tokens_views.metrics()["rows"]}
    for method in hits:  # the model card's figure (200 paintings) holds on 30 others, within binomial noise
        assert hits[method] / (10 * n) >= card[method] - 0.2, (method, hits[method], card[method])
    assert card["autoregressive"] >= 0.9 and card["maskgit"] >= 0.85  # the bars


def test_held_out_digits_survive_tokenising_for_the_vit():
    """What models/image_tokens.py says: cutting a digit into tokens loses nothing the ViT needs."""
    from explainers import vision

    x, y = mnist_digits()
    idx = np.flatnonzero(held_out_mask(len(x)))[::10]
    raw = np.mean([vision.classify(x[i]).prediction == y[i] for i in idx])
    tok = np.mean([vision.classify(detokenize(tokenize(x[i]))).prediction == y[i] for i in idx])
    assert tok >= raw - 0.03
    assert SIDE * SIDE == N_TOKENS
