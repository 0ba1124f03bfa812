"""Attention explainer: unit tests on the embedded models, the Hub code path on tiny random
models in a temporary Hugging Face cache, and the app's attention endpoints."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import models
from explainers import attention, attention_views, bertviz_views, frames, positions_views
from models.errors import InputError
from tests.conftest import call

RIVER = "I sat on the bank of the river."
MONEY = "I deposited money at the bank."
STREAM = "We walked along the bank of the stream."


# ---- unit -------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["minilm", "tiny-gpt"])
def test_rows_sum_to_one_and_shapes_match_tokenizer(model):
    r = attention.attend(RIVER, model)
    bundle = models.load(model)
    ids = bundle.tokenizer(RIVER)["input_ids"]
    cfg = bundle.model.config
    assert r.ids == ids and len(r.tokens) == len(ids)
    assert r.weights.shape == (cfg.num_hidden_layers, cfg.num_attention_heads, len(ids), len(ids))
    np.testing.assert_allclose(r.weights.sum(-1), 1.0, atol=1e-4)


def test_decoder_attention_is_causal_encoder_is_not():
    dec = attention.attend(RIVER, "tiny-gpt")
    assert dec.causal
    upper = np.triu(np.ones(dec.weights.shape[-2:], dtype=bool), k=1)
    assert np.abs(dec.weights[..., upper]).max() == 0.0
    enc = attention.attend(RIVER, "minilm")
    assert not enc.causal and enc.weights[..., upper].max() > 0.01


def test_bank_meanings_separate_with_depth():
    river_money = attention.contextual_similarity(RIVER, MONEY, "bank").similarities
    river_stream = attention.contextual_similarity(RIVER, STREAM, "bank").similarities
    assert len(river_money) == 7  # embeddings + 6 layers
    assert river_stream[-1] > river_money[-1]  # same meaning stays closer in the last layer
    assert river_money[-1] < river_money[0]  # context pulls the two meanings apart


def test_truncation_is_flagged():
    r = attention.attend("word " * 400, "minilm")
    assert r.truncated and len(r.tokens) == attention.MAX_TOKENS and r.n_input_tokens > attention.MAX_TOKENS
    assert "Showing the first" in attention_views.token_chips_html(r)


@pytest.mark.parametrize("text,message", [("", "empty"), ("   \n", "empty"), ("x" * 20_000, "limit is 10,000")])
def test_bad_text_is_refused_with_a_message(text, message):
    with pytest.raises(ValueError, match=message):
        attention.attend(text, "minilm")


def test_unknown_model_and_wrong_family_refused():
    with pytest.raises(InputError, match="Unknown model"):
        attention.attend(RIVER, "../../etc/passwd")
    with pytest.raises(ValueError, match="diffusion"):
        attention.attend(RIVER, "tiny-ddpm")


def test_word_must_occur_in_both_sentences():
    with pytest.raises(ValueError, match="does not occur"):
        attention.contextual_similarity(RIVER, MONEY, "river")


def test_emoji_and_rtl_text_tokenize():
    for text in ("I love 🍕 and 🐍", "שלום עולם", "مرحبا بالعالم"):
        r = attention.attend(text, "tiny-gpt")
        np.testing.assert_allclose(r.weights.sum(-1), 1.0, atol=1e-4)


def _frames(html_: str) -> dict[str, str]:
    """{data-frame key: inner HTML} of a scrubber block, its packed pictures unpacked."""
    import re

    html_ = frames.unpack(html_)
    keys = re.findall(r'<div data-frame="([0-9-]+)"', html_)
    parts = re.split(r'<div data-frame="[0-9-]+"(?: hidden)?>', html_)[1:]
    return dict(zip(keys, parts))


def _label_text(html_: str) -> list[str]:
    """The token labels written once (CSS generated content) for every map of a block."""
    import re

    m = re.search(r'content:"(.*?)"}', html_)
    assert m, "no token labels"
    return [re.sub(r"\\([0-9a-f]+) ", lambda g: chr(int(g.group(1), 16)), t) for t in m.group(1).split("\\A ")]


@pytest.mark.parametrize("model", ["minilm", "tiny-gpt"])
def test_one_scrubber_holds_every_layer_and_head_with_labels(model):
    from explainers import frames

    r = attention.attend(MONEY, model)
    v = attention_views.attention_views.uncached(MONEY, model, True)
    got = _frames(v.scrubber)
    # every layer 1..L x head 0 (average) .. H, and nothing else
    assert set(got) == {f"{layer}-{head}" for layer in range(1, r.layers + 1) for head in range(r.heads + 1)}
    assert v.frames == r.layers * (r.heads + 1) == len(got)
    assert 'data-label="Layer"' in v.scrubber and 'data-label="Head"' in v.scrubber
    keep = [i for i, sp in enumerate(r.special) if not sp]
    assert _label_text(v.scrubber) == [r.tokens[i] for i in keep]  # labels: the shown tokens, in order
    for layer in range(1, r.layers + 1):
        for head in (0, 1, r.heads):
            frame = got[f"{layer}-{head}"]
            w = (r.weights[layer - 1].mean(0) if head == 0 else r.weights[layer - 1, head - 1])[np.ix_(keep, keep)]
            # the big image of this frame is exactly this layer / head's data, specials hidden
            assert f'src="{frames.heat_uri(w, 0.0, float(w.max()))}"' in frame, (layer, head)
            assert f"Layer {layer} of {r.layers}" in frame
            assert frame.count("<img") == (1 + r.heads if head == 0 else 1)  # the average frame holds the grid
            assert 'alt="Attention heatmap' in frame
    # the data behind the maps: every row a distribution (rows sum to 1 before hiding anything)
    np.testing.assert_allclose(r.weights.sum(-1), 1.0, atol=1e-4)


def test_special_tokens_hidden_by_default_and_shown_on_request():
    r = attention.attend(RIVER, "minilm")
    hidden = attention_views.attention_views(RIVER, "minilm")
    shown = attention_views.attention_views(RIVER, "minilm", False)
    assert "[CLS]" not in _label_text(hidden.scrubber) and "[SEP]" not in _label_text(hidden.scrubber)
    assert _label_text(shown.scrubber) == r.tokens
    assert "Special tokens are hidden" in hidden.scrubber and "Special tokens are hidden" not in shown.scrubber


def test_opens_on_a_head_that_shows_structure_not_the_cls_column():
    text = "The animal didn't cross the street because it was too tired."
    r = attention.attend(text, "minilm")
    v = attention_views.attention_views(text, "minilm")
    layer, head = v.start
    assert head >= 1 and (layer, head) != (r.layers, 0)
    assert f'<div data-frame="{layer}-{head}">' in v.scrubber  # the one frame not hidden
    keep = [i for i, sp in enumerate(r.special) if not sp]
    w = r.weights[layer - 1, head - 1][np.ix_(keep, keep)]
    off = w * (1 - np.eye(len(keep)))
    assert off.max(-1).mean() > 0.5  # its words look sharply at another word
    last_avg = r.weights[-1].mean(0)  # what the tab used to open on: one bright [CLS] column
    assert int(last_avg.mean(0).argmax()) == 0 and r.tokens[0] == "[CLS]"


def test_per_view_html_and_one_based_numbering():
    r = attention.attend(RIVER, "minilm")
    one = attention_views.heatmap_html(r, 2, 5)
    assert "Layer 2 of 6, head 5 of 12" in one and one.count("<img") == 1 and "river" in _label_text(one)
    avg = attention_views.heatmap_html(r, 6, 0)
    assert "average of all 12 heads" in avg
    grid = attention_views.heads_grid_html(r, 1)
    assert grid.count("<img") == 12 and "All 12 heads of layer 1" in grid and "river" in _label_text(grid)
    for bad in ((0, 1), (7, 1)):
        with pytest.raises(ValueError, match="layer must be between 1 and 6"):
            attention_views.heatmap_html(r, *bad)
    with pytest.raises(ValueError, match="head must be between 0 .* and 12"):
        attention_views.heatmap_html(r, 1, 13)


def test_same_word_chart_is_zoomed_and_has_a_control_line():
    s = attention.contextual_similarity(RIVER, MONEY, "bank")
    c = attention.contextual_similarity(RIVER, STREAM, "bank")
    page = positions_views.similarity_html(s, c, RIVER, MONEY, STREAM)
    assert page.count("<polyline") == 2 and "A vs C (control)" in page and "<svg" in page
    assert ">emb<" in page and all(f">{i}<" in page for i in range(1, 7))  # whole layer numbers only
    assert ">2.5<" not in page and "0.5<" not in page.split("<table")[0].split("layer")[0]
    # zoomed: the y axis labels stay within the data's range (+ a margin), not 0..1
    import re

    ys = [float(t) for t in re.findall(r'text-anchor="end">([0-9.]+)</text>', page)]
    lo = min(s.similarities.min(), c.similarities.min())
    assert ys and min(ys) > lo - 0.1 and min(ys) > 0.3
    assert f"{s.similarities[-1]:.3f}" in page and f"{c.similarities[-1]:.3f}" in page


def test_bertviz_is_offline():
    r = attention.attend(RIVER, "minilm")
    page = bertviz_views.bertviz_html(r, "model")
    assert "cdnjs" not in page and "<script src=" not in page and "srcdoc=" in page


# ---- the Hub path, without a network ---------------------------------------------------

def _fake_hub_snapshot(cache: Path, repo: str, model, tokenizer_dir: Path) -> None:
    """Lay out a Hugging Face cache entry exactly as a download would leave it."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    root = cache / f"models--{repo.replace('/', '--')}"
    snap = root / "snapshots" / commit
    model.save_pretrained(snap)
    for f in tokenizer_dir.iterdir():
        if f.name.startswith(("tokenizer", "vocab", "special_tokens")) and f.is_file():
            shutil.copy(f, snap / f.name)
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(commit)


def test_hub_models_load_from_cache_through_the_same_loader(tmp_path, monkeypatch):
    import torch
    from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    assert "bert-base-uncased" not in models.available("encoder")
    with pytest.raises(models.ModelUnavailable, match="not in the local cache"):
        models.load("gpt2")

    torch.manual_seed(0)
    bert = BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=64))
    gpt = GPT2LMHeadModel(GPT2Config(vocab_size=4096, n_embd=32, n_layer=2, n_head=2, n_positions=64))
    _fake_hub_snapshot(tmp_path, "bert-base-uncased", bert, Path(models.spec("minilm").path))
    _fake_hub_snapshot(tmp_path, "gpt2", gpt, Path(models.spec("tiny-gpt").path))

    assert "bert-base-uncased" in models.available("encoder")
    assert "gpt2" in models.available("decoder")
    try:
        from ui.common import model_choices

        assert "gpt2" in [key for _, key in model_choices("decoder")]
        r = attention.attend.uncached("the bank of the river", "bert-base-uncased")
        assert r.weights.shape[:2] == (2, 2)
        g = attention.attend.uncached("the bank of the river", "gpt2")
        assert g.causal and np.triu(g.weights[0, 0], 1).max() == 0
    finally:
        models.catalog.clear_cache()


# ---- API --------------------------------------------------------------------------------

@pytest.mark.api
def test_attention_endpoints(client):
    tokens, maps = call(client, "attention", RIVER, "minilm")[:2]  # (the third output is the hidden last-run record)
    assert "bank" in tokens and "[CLS]" in tokens
    assert len(_frames(maps)) == 6 * 13 and "river" in _label_text(maps)
    one = call(client, "heatmap", RIVER, "minilm", 2, 5, False)
    assert "Layer 2 of 6, head 5 of 12" in one and "[CLS]" in _label_text(one)
    with pytest.raises(Exception, match="layer must be between 1 and 6"):
        call(client, "heatmap", RIVER, "minilm", 0, 5, True)
    assert call(client, "heads_grid", RIVER, "minilm", 1, True).count("<img") == 12
    html = call(client, "bertviz", RIVER, "minilm", "head")
    assert "srcdoc" in html and "cdnjs" not in html
    chart, summary = call(client, "similarity", RIVER, MONEY, "bank", "minilm", STREAM)
    assert chart.count("<polyline") == 2 and "bank" in summary and "control" in summary


@pytest.mark.api
@pytest.mark.parametrize("text,model,message", [
    ("", "minilm", "empty"),
    ("x" * 20_000, "minilm", "10,000"),
    ("🦜🦜🦜 parrots 🦜", "nope", "Unknown model|not in the list of choices"),
])
def test_attention_bad_inputs_then_server_still_answers(client, text, model, message):
    with pytest.raises(Exception, match=message):
        call(client, "attention", text, model)
    tokens = call(client, "attention", "A short healthy sentence.", "minilm")[0]
    assert "healthy" in tokens


@pytest.mark.api
def test_emoji_through_the_api(client):
    tokens, maps = call(client, "attention", "I 💙 the river 🏞️", "minilm")[:2]
    assert "river" in tokens and tokens.count("[UNK]") == 2  # minilm's vocabulary has no emoji
    assert _label_text(maps) == ["i", "[UNK]", "the", "river", "[UNK]"]


def test_a_repeated_word_says_which_occurrence_is_compared():
    a, b = "The bank by the river, then the bank again.", "The bank lent her money."
    sim = attention.contextual_similarity(a, b, "bank", "minilm")
    assert sim.occurrences == (2, 1)
    page = positions_views.similarity_html(sim, None, a, b)
    assert "occurs 2 times in A: the first occurrence in each sentence is compared" in page.replace("&#x27;", "'")
