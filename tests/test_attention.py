"""Attention explainer: unit tests on the embedded models, the Hub code path on tiny random
models in a temporary Hugging Face cache, and the app's attention endpoints."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import models
from explainers import attention, attention_views
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
    with pytest.raises(KeyError, match="Unknown model"):
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


def test_figures_and_bertviz_are_offline():
    r = attention.attend(RIVER, "minilm")
    fig = attention_views.attention_heatmap(r, 0, 3)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == r.tokens
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    with pytest.raises(ValueError, match="layer must be"):
        attention_views.attention_heatmap(r, 6, 0)
    page = attention_views.bertviz_html(r, "model")
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
    tokens, heat, grid, layer, head = call(client, "attention", RIVER, "minilm")
    assert "bank" in tokens and "[CLS]" in tokens
    assert heat is not None and grid is not None
    assert call(client, "heatmap", RIVER, "minilm", 2, 5, False) is not None
    assert call(client, "heads_grid", RIVER, "minilm", 1) is not None
    html = call(client, "bertviz", RIVER, "minilm", "head")
    assert "srcdoc" in html and "cdnjs" not in html
    plot, summary = call(client, "similarity", RIVER, MONEY, "bank", "minilm")
    assert plot is not None and "bank" in summary


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
    tokens = call(client, "attention", "I 💙 the river 🏞️", "minilm")[0]
    assert "[UNK]" in tokens or "river" in tokens
