"""Positional encoding and the feed-forward layer (explainers/positions*.py, feed_forward*.py)."""

from __future__ import annotations

import numpy as np
import pytest

from explainers.feed_forward import feed_forward
from explainers.feed_forward_views import feed_forward_view
from explainers.positions import same_word
from explainers.positions_views import position_view


@pytest.mark.parametrize("model", ["tiny-gpt", "minilm"])
def test_same_word_at_two_positions_gets_two_vectors(model):
    r = same_word("the", 1, 6, model)
    assert not np.allclose(r.vector_a, r.vector_b)
    assert -1 <= r.cosine < 0.999
    assert r.cosine_curve[1] == pytest.approx(1.0, abs=1e-5)  # the word vs itself at the same position
    assert r.cosine_curve[6] == pytest.approx(r.cosine, abs=1e-5)
    p = len(r.cosine_curve)
    assert r.matrix.shape == (p, r.token_vector.shape[0]) and r.position_similarity.shape == (p, p)
    assert np.allclose(np.diag(r.position_similarity), 1, atol=1e-5)
    # learned position vectors: neighbours are more alike than far-apart positions
    near = np.mean([r.position_similarity[i, i + 1] for i in range(1, p - 1)])
    far = np.mean([r.position_similarity[i, i + 40] for i in range(1, p - 40)])
    assert near > far


def test_same_position_gives_the_same_vector_and_gpt_adds_exactly():
    import models

    r = same_word("king", 5, 5, "tiny-gpt")
    assert r.cosine == pytest.approx(1.0, abs=1e-6)
    wpe = models.load("tiny-gpt").model.transformer.wpe.weight.detach().numpy()
    assert np.allclose(r.vector_a - r.token_vector, wpe[5], atol=1e-6)


@pytest.mark.parametrize("kw", [dict(model="tiny-ddpm"), dict(word=""), dict(position_a=10_000), dict(position_b=-1)])
def test_positions_bad_input(kw):
    with pytest.raises(ValueError):
        same_word(**{"word": "the", **kw})


def test_position_view_has_alt_text_and_the_number():
    r = same_word("the", 1, 6, "tiny-gpt")
    v = position_view(r)
    assert f"{r.cosine:.3f}" in v and v.count("alt=") >= 5 and "<svg" in v


def test_feed_forward_adds_its_output_and_mixes_no_tokens():
    r = feed_forward("ROMEO: But soft, what light", 3, -1, "tiny-gpt")
    assert np.allclose(r.after, r.before + r.added, atol=1e-5)
    assert r.hidden.shape == (4 * r.before.shape[0],)
    assert r.alone_error < 1e-4  # the MLP on the vector alone gives the same output: no mixing
    assert np.all(np.diff(r.top_values) <= 0) and r.hidden[r.top_units[0]] == r.hidden.max()
    assert [p for _, p in r.lens_before] == sorted((p for _, p in r.lens_before), reverse=True)
    assert 0 < r.norm_ratio and -1 <= r.cosine <= 1
    assert r.position == len(r.tokens) - 1


def test_feed_forward_differs_between_layers_and_positions():
    a = feed_forward("ROMEO: But soft, what light", 1, -1)
    b = feed_forward("ROMEO: But soft, what light", 6, -1)
    c = feed_forward("ROMEO: But soft, what light", 1, 0)
    assert not np.allclose(a.added, b.added) and not np.allclose(a.added, c.added)


@pytest.mark.parametrize("kw", [dict(layer=0), dict(layer=99), dict(position=500), dict(model="minilm"), dict(text="")])
def test_feed_forward_bad_input(kw):
    args = {"text": "ROMEO:", **kw}
    with pytest.raises(ValueError):
        feed_forward(**args)


def test_feed_forward_view_shows_units_and_lens():
    r = feed_forward("ROMEO: But soft, what light", 3)
    v = feed_forward_view(r)
    assert f"unit {int(r.top_units[0])}" in v and r.lens_after[0][0] in v and v.count("alt=") >= 3
