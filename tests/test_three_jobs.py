"""One block, three jobs: the masks are what each model really does, the figures are measured
(they move when the input moves), and the endpoint answers with a clear message on bad input."""

from __future__ import annotations

import numpy as np
import pytest

import models
from explainers import three_jobs, three_jobs_views
from tests.conftest import call


@pytest.fixture(scope="module")
def jobs():
    return three_jobs.three_jobs("To be, or not to be, that is the", 700, "a red 7 on a blue background")


def test_the_masks_are_what_the_models_compute(jobs):
    gpt, vit, dit = jobs.jobs
    # GPT: the attention it computed is zero wherever the causal mask forbids it, and nonzero on the diagonal
    assert np.all(gpt.attention[gpt.mask == 0] == 0) and np.all(np.diag(gpt.attention) > 0)
    assert gpt.mask.sum() == len(gpt.tokens) * (len(gpt.tokens) + 1) / 2
    # ViT and DiT: full attention, so looking "ahead" (above the diagonal) carries real weight
    for job in (vit, dit):
        t = len(job.tokens)
        assert job.mask.sum() == t * t and job.attention[np.triu_indices(t, 1)].sum() > 0.2 * t
    for job in jobs.jobs:
        np.testing.assert_allclose(job.attention.sum(-1), 1, atol=1e-4)
    assert len(vit.tokens) == 50 and vit.tokens[0] == "CLS" and len(vit.token_images) == 49
    # DiT: 8x8 latent patches reading the prompt's own tokens through cross-attention
    assert len(dit.tokens) == 64 and dit.cross_tokens == ["[CLS]", "a", "red", "7", "on", "a", "blue", "background",
                                                          "[SEP]"]
    np.testing.assert_allclose(dit.cross_attention.sum(-1), 1, atol=1e-4)


def test_parameters_and_flops_are_counted_from_the_models(jobs):
    gpt, vit, dit = jobs.jobs
    for job, key in ((gpt, "tiny-gpt"), (vit, "tiny-vit"), (dit, "tiny-t2i")):
        model = models.load(key).model
        assert job.parameters == sum(p.numel() for p in model.parameters())
        assert sum(p for _, p in job.block_parts) == job.block_parameters
        assert job.blocks * job.block_parameters < job.parameters
        assert 0 < job.block_flops < job.flops and job.seconds > 0
    assert [n for n, _ in dit.block_parts if n.startswith("attn")] == ["attn1", "attn2"]  # self + cross
    # what one pass outputs: distributions that sum to 1 (GPT: top 5 of them), a DiT guess image
    assert vit.output_probs.sum() == pytest.approx(1, abs=1e-4) and vit.output_labels[int(vit.output_probs.argmax())] == "7"
    assert gpt.output_probs.sum() <= 1 and len(gpt.output_labels) == 5
    assert dit.output_image.shape == (32, 32, 3) and dit.input_image.shape == (32, 32, 3)


def test_figures_move_with_the_input(jobs):
    short = three_jobs.three_jobs("To be", 700, "a red 7 on a blue background")
    ratio = jobs.jobs[0].flops / short.jobs[0].flops
    n_long, n_short = len(jobs.jobs[0].tokens), len(short.jobs[0].tokens)
    assert n_long > n_short and ratio > 0.8 * n_long / n_short  # GPT FLOPs grow with its tokens
    longer_prompt = three_jobs.three_jobs("To be", 700, "a small purple 2 on the left, on a yellow background")
    assert longer_prompt.jobs[2].flops > short.jobs[2].flops  # cross-attention reads more words
    assert longer_prompt.jobs[2].attention.shape == short.jobs[2].attention.shape  # but the patches stay 64
    other_digit = three_jobs.three_jobs("To be", 205, "a red 7 on a blue background")
    assert other_digit.jobs[1].output_labels[int(other_digit.jobs[1].output_probs.argmax())] == "2"


def test_view_has_every_figure_as_text(jobs):
    h = three_jobs_views.three_jobs_html(jobs)
    gpt, vit, dit = jobs.jobs
    for job in jobs.jobs:
        assert f"{job.parameters:,}" in h and job.title in h
    assert h.count("<img") >= 6 + 49 and "cross-attention" in h and "causal" in h
    assert all('alt=""' not in part for part in h.split("<img")[1:])


@pytest.mark.parametrize("args, words", [(("", 700, "a red 7"), "empty|text"), (("hello", 1000, "a red 7"), "digit index"),
                                         (("hello", 3, "x" * 600), "limit")])
def test_bad_input_is_named(args, words):
    with pytest.raises(ValueError, match=words):
        three_jobs.three_jobs(*args)


@pytest.mark.api
def test_api_three_jobs(client):
    h = call(client, "three_jobs", "ROMEO:", 0, "a green 3 on black")
    assert "GPT writes text" in h and "DiT draws latents" in h and "reads a <b>0</b>" in h
    with pytest.raises(Exception, match="digit index|maximum|greater"):
        call(client, "three_jobs", "ROMEO:", 5000, "a green 3 on black")
