"""Text to image: the training data, the attention recorder, the sampler and the views, on a tiny
seeded config-built model (fast) and on the shipped `tiny-t2i` (API, browser)."""

from __future__ import annotations

import dataclasses
import html
import json
import re

import numpy as np
import pytest
import torch

import models
from explainers import t2i_comparisons
from models import catalog
from models.digits import held_out_mask, mnist_digits
from models.errors import InputError
from models.t2i_reader import read_layout
from models.text_image_data import (
    COLOURS,
    DIGIT_WORDS,
    EVAL_POSITION_PHRASES,
    EVAL_SIZE_WORDS,
    EVAL_TEMPLATES,
    HELD_OUT_PAIRS,
    POSITION_PHRASES,
    SIZE_PHRASES,
    SIZE_WORDS,
    SIZES,
    Scene,
    caption,
    fix_articles,
    offset,
    random_caption,
    random_scene,
    render,
    rich_caption,
    training_vocabulary,
)
from training.eval_tiny_t2i import layout_ceiling

TINY_KEY = "test-t2i"


def tiny_dit(seed: int = 0):
    from diffusers import PixArtTransformer2DModel

    torch.manual_seed(seed)
    return PixArtTransformer2DModel(sample_size=4, patch_size=1, in_channels=4, out_channels=4, num_layers=2,
                                    num_attention_heads=2, attention_head_dim=8, cross_attention_dim=16,
                                    caption_channels=384, interpolation_scale=1, norm_num_groups=4).eval()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A seeded random latent DiT + VAE + scheduler saved like the shipped one, registered under a test key."""
    from diffusers import AutoencoderKL, DDIMScheduler

    from training.train_tiny_t2i import SCHEDULER_CONFIG

    root = tmp_path_factory.mktemp("tiny-t2i")
    tiny_dit().save_pretrained(root / "transformer")
    torch.manual_seed(1)
    AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, sample_size=16, block_out_channels=(8, 8, 8),
                  down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
                  layers_per_block=1, norm_num_groups=4).save_pretrained(root / "vae")
    DDIMScheduler(**SCHEDULER_CONFIG).save_pretrained(root / "scheduler")
    spec = dataclasses.replace(catalog.REGISTRY["tiny-t2i"], key=TINY_KEY, location=str(root))
    catalog.REGISTRY[TINY_KEY] = spec
    yield TINY_KEY
    catalog.REGISTRY.pop(TINY_KEY, None)


# ---- the training data ---------------------------------------------------------------------

def test_captions_match_their_images():
    from models.digits import held_out_mask, mnist_digits

    x, y = mnist_digits()
    train = np.flatnonzero(~held_out_mask(len(x)))
    rng = np.random.default_rng(0)
    for _ in range(300):
        s = random_scene(rng, y, train)
        assert (s.digit, s.fg) not in HELD_OUT_PAIRS  # composition pairs never trained
        assert not held_out_mask(len(x))[s.digit_index]  # held-out digits never trained
        for text in (caption(s, rng), rich_caption(s, rng)):
            assert s.fg in text and s.bg in text
            assert re.search(rf"\b({s.digit}|{DIGIT_WORDS[s.digit]})\b", text)
            if s.size != "medium":
                assert any(w in text for w in SIZE_WORDS[s.size] + SIZE_PHRASES[s.size]), text
                other = "large" if s.size == "small" else "small"
                assert not any(re.search(rf"\b{w}\b", text) for w in SIZE_WORDS[other]), text
            if s.position != "centre":
                assert any(p in text for p in POSITION_PHRASES[s.position]), text
        img = render(s, x)
        fg, bg = np.array(COLOURS[s.fg]) / 255, np.array(COLOURS[s.bg]) / 255
        assert np.allclose(img[0, 0], bg, atol=1e-6)  # corners are background
        r, c = offset(s.size, s.position)
        k = SIZES[s.size]
        box = img[r:r + k, c:c + k].reshape(-1, 3)
        darkest = box[np.argmin(np.linalg.norm(box - fg, axis=1))]
        assert np.linalg.norm(darkest - fg) < 0.15  # the stroke's core has the digit's colour


def test_the_layout_reader_reads_rendered_scenes():
    """read_layout on real rendered scenes of held-out digits: the sizes the size figures ask for (small,
    large) and the positions of a medium digit, as the model card's ceiling says (99% / 96%)."""
    got = layout_ceiling(n=40, seed=4)
    assert got["size"] >= 0.95 and got["position"] >= 0.9, got
    x, y = mnist_digits()
    i = int(np.flatnonzero(held_out_mask(len(x)))[0])
    assert read_layout(render(Scene(i, int(y[i]), "red", "blue", "small", "bottom"), x)) == ("small", "bottom")
    assert read_layout(np.zeros((32, 32, 3))) == ("medium", "centre")  # a blank picture: nothing moved


def test_some_captions_are_empty_for_guidance():
    from models.digits import mnist_digits

    x, y = mnist_digits()
    rng = np.random.default_rng(1)
    caps = [random_caption(random_scene(rng, y, np.arange(100)), rng) for _ in range(2000)]
    assert 0.07 < np.mean([c == "" for c in caps]) < 0.13


def test_vocabulary_knows_training_words_only():
    vocab = training_vocabulary()
    assert {"red", "purple", "seven", "7", "background", "small", "left", "enormous", "upper", "backdrop"} <= vocab
    held_out = {"sketch", "tinted", "upon", "surface", "depict", "hue", "encircled", "scenery", "front", "symbol",
                "shaded", "request", "character", "ink", "paper"}
    assert all(w in " ".join(EVAL_TEMPLATES) for w in held_out)
    assert not held_out & vocab  # the evaluation phrasings' own words are never trained on
    assert not {w for ws in EVAL_SIZE_WORDS.values() for w in ws} & vocab
    assert not {"margin", "region"} & vocab and all(
        "margin" in ps[0] and "region" in ps[1] for ps in EVAL_POSITION_PHRASES.values())


def test_training_captions_never_use_held_out_words():
    from models.digits import mnist_digits

    x, y = mnist_digits()
    rng = np.random.default_rng(3)
    vocab = training_vocabulary()
    for _ in range(3000):
        text = random_caption(random_scene(rng, y, np.arange(4000)), rng)
        assert set(re.split(r"[\s,:-]+", text.strip()) if text else ()) <= vocab, text


def test_articles_agree():
    assert fix_articles("a orange 8 on a blue background") == "an orange 8 on a blue background"
    assert fix_articles("an red one") == "a red one" and fix_articles("draw a 8") == "draw an 8"


# ---- the attention recorder --------------------------------------------------------------

def test_recording_processor_matches_default_and_sums_to_one():
    from models.attention_capture import install_recorders, recording

    dit = tiny_dit()
    x = torch.randn(2, 4, 4, 4, generator=torch.Generator().manual_seed(0))
    text = torch.randn(2, 5, 384, generator=torch.Generator().manual_seed(1))
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    t = torch.tensor([10, 500])
    with torch.no_grad():
        ref = dit(x, encoder_hidden_states=text, encoder_attention_mask=mask, timestep=t).sample
        install_recorders(dit)
        with recording() as store:
            out = dit(x, encoder_hidden_states=text, encoder_attention_mask=mask, timestep=t).sample
        plain = dit(x, encoder_hidden_states=text, encoder_attention_mask=mask, timestep=t).sample
    assert torch.allclose(ref, out, atol=1e-5) and torch.allclose(ref, plain, atol=1e-5)
    cross = store.maps["transformer_blocks.0.attn2"][0]  # (batch, heads, patches, tokens)
    assert cross.shape == (2, 2, 16, 5)
    assert torch.allclose(cross.sum(-1), torch.ones(2, 2, 16), atol=1e-5)
    assert cross[0, :, :, 3:].abs().max() < 1e-6  # padded tokens get no attention
    selfa = store.maps["transformer_blocks.1.attn1"][0]
    assert selfa.shape == (2, 2, 16, 16)
    assert len(store.maps) == 4  # 2 blocks x (self, cross); nothing recorded outside `recording`


# ---- generate on the tiny model ------------------------------------------------------------

def test_generate_shapes_sums_and_seeds(tiny_model):
    from explainers import text_to_image as t2i

    r = t2i.generate("a red 7 on a blue background", steps=4, guidance=3.0, seed=5, model=tiny_model, n_images=3)
    L = len(r.tokens)
    assert r.tokens[0] == "[CLS]" and r.tokens[-1] == "[SEP]" and "red" in r.tokens
    assert r.image.shape == (16, 16, 3) and r.images.shape == (3, 16, 16, 3)
    assert r.latents.shape == (5, 4, 4, 4) and r.decoded.shape == (5, 16, 16, 3)
    assert r.x0_decoded.shape == r.x0_uncond.shape == r.x0_cond.shape == (4, 16, 16, 3)
    assert r.cross_attention.shape == (4, L, 4, 4)
    assert r.cross_attention_heads.shape == (4, 2, 2, L, 4, 4)
    np.testing.assert_allclose(r.cross_attention.sum(axis=1), 1.0, atol=1e-5)  # every patch's weights over tokens
    np.testing.assert_allclose(r.self_attention.sum(axis=-1), 1.0, atol=1e-5)
    assert 0 <= r.image.min() and r.image.max() <= 1
    np.testing.assert_array_equal(r.image, r.decoded[-1])
    one = t2i.generate("a red 7 on a blue background", steps=4, guidance=3.0, seed=5, model=tiny_model)
    np.testing.assert_allclose(one.image, r.image, atol=1e-6)  # an image depends on its seed, not the batch
    other = t2i.generate("a red 7 on a blue background", steps=4, guidance=3.0, seed=6, model=tiny_model)
    assert np.abs(other.image - r.image).max() > 1e-3
    np.testing.assert_allclose(other.image, r.images[1], atol=1e-6)  # seed 6 is the batch's second image


def test_sampler_pinned_values(tiny_model):
    """Pinned output of the whole loop on the seeded tiny model (as diffusers' pipeline tests do)."""
    from explainers import text_to_image as t2i

    r = t2i.generate("a blue 3", steps=3, guidance=2.0, seed=0, model=tiny_model)
    got = r.latents[-1, 0, 0, :4]
    expected = np.array(PINNED)
    np.testing.assert_allclose(got, expected, atol=1e-4)


PINNED = [-0.13548, 0.37041, 0.75209, 1.24597]  # latents[-1, 0, 0, :4], computed once on torch 2.13 CPU


def test_guidance_zero_ignores_the_prompt(tiny_model):
    from explainers import text_to_image as t2i

    a = t2i.generate("a red 7", steps=3, guidance=0.0, seed=2, model=tiny_model)
    b = t2i.generate("a green 1 on white", steps=3, guidance=0.0, seed=2, model=tiny_model)
    np.testing.assert_allclose(a.image, b.image, atol=1e-6)
    c = t2i.generate("a green 1 on white", steps=3, guidance=1.0, seed=2, model=tiny_model)
    assert np.abs(c.image - b.image).max() > 1e-4


def test_long_prompt_is_cut_and_rare_words_found(tiny_model):
    from explainers import text_to_image as t2i

    long = "a red seven on a blue background " * 8
    r = t2i.generate(long, steps=2, model=tiny_model)
    assert r.truncated and len(r.tokens) == 32
    r = t2i.generate("a crimson 7 upon azure", steps=2, model=tiny_model)  # colours read through WordNet
    assert r.rare_words == ["upon"] and r.read_as == (("crimson", "red"), ("azure", "blue"))
    r = t2i.generate("a 7 upon a cat", steps=2, model=tiny_model)
    assert {"upon", "cat"} <= set(r.rare_words) and "7" not in r.rare_words and r.read_as == ()


@pytest.mark.parametrize("kw,msg", [
    (dict(steps=0), "Steps"), (dict(steps=1000), "Steps"), (dict(guidance=-1), "Guidance"),
    (dict(guidance=float("nan")), "Guidance"), (dict(seed=-3), "Seed"), (dict(prompt="x" * 600), "limit"),
    (dict(n_images=20), "Images"), (dict(prompt=3), "text"),
])
def test_bad_input_says_what_to_change(tiny_model, kw, msg):
    from explainers import text_to_image as t2i

    args = dict(prompt="a red 7", steps=2, model=tiny_model) | kw
    with pytest.raises(ValueError, match=msg):
        t2i.generate(**args)


def test_not_a_text_to_image_model():
    from explainers import text_to_image as t2i

    with pytest.raises(ValueError, match="not a text-to-image model"):
        t2i.generate("a red 7", model="tiny-ddpm")
    with pytest.raises(InputError, match="Unknown model"):
        t2i.generate("a red 7", model="stabilityai/anything")


def test_word_maps_merge_pieces():
    from explainers.text_to_image import word_maps

    maps = np.arange(5 * 2 * 2, dtype=float).reshape(5, 2, 2)
    words, m = word_maps(["[CLS]", "pur", "##ple", "7", "[SEP]"], maps)
    assert words == ["purple", "7"]
    np.testing.assert_allclose(m[0], (maps[1] + maps[2]) / 2)
    np.testing.assert_allclose(m[1], maps[3])


def test_views_ship_every_frame(tiny_model):
    from explainers import frames
    from explainers import text_to_image as t2i
    from explainers import text_to_image_views as views

    r = t2i.generate("a red 7 on a blue background", steps=4, guidance=3.0, seed=1, model=tiny_model)
    html = views.step_view(r)
    assert html.count("data-frame=") == 5 and 'aria-valuetext="Step 4"' in html
    assert "red" in html and "background" in html and "[CLS]" not in html.split("data-frame")[1]
    w = views.words_view(r)
    assert w.count("data-frame=") == 3 * 3  # (layers + mean) x (heads + mean)
    p = frames.unpack(views.patches_view(r))  # as the browser shows it: every frame's pictures
    assert p.count("data-frame=") == 4 * 16 and p.count("<img") == 4 * 16 + 1 and 'data-pick="1"' in p
    assert "rare" not in views.tokens_html(r)
    it = t2i_comparisons.interpolate("a red 7", seed=0, other_seed=9, k=3, steps=2, model=tiny_model)
    assert it.images.shape == (3, 16, 16, 3) and it.kind == "seeds"
    np.testing.assert_allclose(it.images[0], t2i.generate("a red 7", 2, t2i.DEFAULT_GUIDANCE, 0, model=tiny_model).image,
                               atol=1e-5)  # the strip's ends are the two seeds' own images
    it2 = t2i_comparisons.interpolate("a red 7", seed=0, other_prompt="a blue 1 on white", k=3, steps=2, model=tiny_model)
    assert it2.kind == "prompts" and it2.labels[-1] == "a blue 1 on white"


def test_embedded_model_is_registered_and_loads():
    b = models.load("tiny-t2i")
    assert b.vae is not None and b.scheduler.config.prediction_type == "v_prediction"
    assert b.model.config.caption_channels == 384  # it reads minilm's token vectors
    assert "tiny-t2i" in models.available("text-to-image")


# ---- through the app (shipped model) -------------------------------------------------------

@pytest.mark.api
def test_api_text_to_image_and_views(client):
    from tests.conftest import call

    args = ("a red 7 on a blue background", "", 10, 4.0, 0, 2, "tiny-t2i", False)
    summary, tokens, gallery, steps_html, words_html, patches_html = call(client, "text_to_image", *args)
    assert "10 steps" in summary and "red" in tokens and gallery.count("<img") == 2
    assert steps_html.count("data-frame=") == 11
    assert words_html == patches_html == ""  # the heavy sub-views come when opened, from the stored run
    assert call(client, "t2i_words", *args).count("data-frame=") == 7 * 5
    assert call(client, "t2i_patches", *args).count("data-frame=") == 10 * 64
    step = call(client, "t2i_step", "a red 7 on a blue background", 10, 4.0, 0, "", "tiny-t2i", 3)
    assert step["step"] == 3 and step["x0"].startswith("data:image/png;base64,")
    assert np.allclose(np.asarray(step["cross_attention"]).sum(axis=0), 1, atol=1e-3)
    swap = call(client, "t2i_swap", "a red 7 on a blue background", "a red 7 on a green background", 10, 4.0, 0, "",
                "tiny-t2i")
    assert "where they differ" in swap
    strip = call(client, "t2i_interpolate", "a red 7", "two seeds", 1, "", 10, 4.0, 0, "tiny-t2i")
    assert strip.count("<img") == 7
    assert "FLOPs" in call(client, "t2i_costs", "tiny-t2i")


@pytest.mark.api
@pytest.mark.parametrize("args,msg", [
    (("a red 7", "", 500, 4.0, 0, 1, "tiny-t2i", False), "Steps"),
    (("a red 7", "", 10, 99.0, 0, 1, "tiny-t2i", False), "Guidance"),
    (("a red 7", "", 10, 4.0, -1, 1, "tiny-t2i", False), "Seed"),
    (("a red 7", "", 10, 4.0, 0, 1, "gpt2-xl", False), "Unknown model|not in the list of choices"),
])
def test_api_bad_input_gets_a_clear_message(client, args, msg):
    from gradio_client.exceptions import AppError

    from tests.conftest import call

    with pytest.raises(AppError, match=f"{msg}|maximum|minimum"):  # gradio's own range check answers first
        call(client, "text_to_image", *args)
    summary = call(client, "text_to_image", "", "", 5, 4.0, 0, 1, "tiny-t2i", False)  # still up; empty = unconditional
    assert "no prompt" in summary[0]


@pytest.mark.browser
def test_browser_step_slider_scrubs_without_the_server(app_url):
    from playwright.sync_api import sync_playwright

    from tests.conftest import open_app
    from tests.test_browser import CHROMIUM, FLAGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = b.new_page(viewport={"width": 1400, "height": 1600})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        open_app(page, app_url, timeout_ms=180_000)  # tabs drawn, then network idle where it comes
        page.get_by_role("tab", name="Text to image", exact=True).first.click()
        page.get_by_role("button", name="Generate", exact=True).click()
        slider = page.locator("#t2i-steps input[data-scrub]")
        slider.wait_for(timeout=240_000)
        shown = lambda: page.locator("#t2i-steps [data-frame]:not([hidden])").get_attribute("data-frame")  # noqa: E731
        before, n = shown(), len(requests)
        slider.focus()
        for _ in range(5):
            page.keyboard.press("ArrowLeft")
        assert shown() == str(int(before) - 5)
        assert page.get_by_role("slider", name="Step").count() >= 1  # the accessible name says what it moves
        assert [u for u in requests[n:] if "/gradio_api/" in u] == []  # scrubbing made no server call
        page.get_by_role("button", name="Self-attention between patches").click()  # a sub-view, drawn when opened
        page.locator("#t2i-patches img[data-pick]:not([hidden])").first.wait_for(state="attached")
        assert all(u.startswith(app_url.rstrip("/")) or u.startswith(("data:", "blob:")) for u in requests)
        b.close()


def test_the_first_answer_at_the_page_defaults_stays_small():
    """What a student's Generate sends (summary, tokens, gallery, the step view) at the page's defaults:
    the heavy sub-views are not part of it (they come when opened)."""
    from explainers import t2i_spec as spec
    from ui import text_to_image as tab

    s, r = tab.settings_and_run("a red 7 on a blue background", "", spec.DEFAULT_STEPS, spec.DEFAULT_GUIDANCE, 0,
                       spec.DEFAULT_IMAGES, spec.DEFAULT_MODEL)
    first = tab.rendered_views(s, r, False, tab.FIRST)
    assert sum(len(v) for v in first) < 600 * 1024
    assert tab.rendered_views(s, r, False, tab.FIRST) == first  # a second request gets the stored views


def test_words_it_never_learned_are_named_but_not_those_past_the_cut(tiny_model):
    from explainers import text_to_image as t2i
    from explainers import text_to_image_views as views

    r = t2i.generate("a cat riding a bicycle", steps=2, model=tiny_model)
    assert r.rare_words == ["cat", "riding", "bicycle"]
    note = html.unescape(views.tokens_html(r))
    assert "'cat', 'riding', 'bicycle' never appeared in a training caption" in note
    assert "8 colours" in note and "3 sizes" in note and "5 positions" in note
    r = t2i.generate("a red seven on a blue background " * 8 + "giraffe", steps=2, model=tiny_model)
    assert r.truncated and "giraffe" not in r.rare_words  # the model never read it: no word about it


def test_an_unseen_word_is_shown_with_the_nearest_word_the_model_learned():
    """minilm's vectors, read in one probe sentence: a trained word is its own nearest (1.0); 'teeny' lands
    next to a trained small word (the card measured it followed), 'wee' far from every one; for a word
    the WordNet lexicon does not list ('microscopic') the page says its nearest learned word, with the
    card's measurement of what that did to the pictures."""
    from explainers import text_to_image as t2i
    from explainers import text_to_image_views as views
    from models.text_image_data import EVAL_SIZE_WORDS

    assert t2i.nearest_learned("tiny") == ("tiny", 1.0)
    word, sim = t2i.nearest_learned("teeny")
    assert word in SIZE_WORDS["small"] and sim > 0.8
    assert t2i.nearest_learned("wee")[1] < 0.6
    word, sim = t2i.nearest_learned("microscopic")
    r = t2i.generate("a microscopic red 3 on a blue background", steps=2)
    assert r.rare_nearest == (("microscopic", word, sim),) and r.read_as == ()
    note = html.unescape(views.tokens_html(r))
    assert f"'microscopic' -> '{word}' {sim:.2f}" in note
    for w in (w for ws in EVAL_SIZE_WORDS.values() for w in ws):  # the card's figures, from eval.json
        assert f"'{w}' (" in note


def test_a_size_word_it_never_learned_is_read_through_wordnet_and_the_page_says_so():
    """'wee' and 'jumbo' (no training caption uses them; minilm puts 'wee' as near the large words as the
    small ones) are read as 'small' and 'large' before the text encoder: the tokens are what the model
    read, the page names each swap and the shipped measurement; a known word or one the lexicon does not
    list is left as typed."""
    from explainers import t2i_lexicon
    from explainers import text_to_image as t2i
    from explainers import text_to_image_views as views

    assert t2i_lexicon.read_as("A Wee red 3, jumbo!") == ("A small red 3, large!", (("Wee", "small"), ("jumbo", "large")))
    assert t2i_lexicon.read_as("a tiny 3 and a microscopic 4") == ("a tiny 3 and a microscopic 4", ())
    r = t2i.generate("a wee red 3 on a blue background", steps=2)
    assert r.read_as == (("wee", "small"),) and "small" in r.tokens and "wee" not in r.tokens and r.rare_words == []
    note = html.unescape(views.tokens_html(r))
    assert "'wee' as 'small'" in note and "WordNet" in note
    table = json.loads((models.catalog.ASSETS / "tiny-t2i-digits" / "eval_read_as.json").read_text())["read_as"]
    assert f"{100 * table['lexicon']['read_as']['size']:.0f}% of the time read this way" in note
    assert t2i.generate("a red 3", steps=2, negative_prompt="crimson").read_as == (("crimson", "red"),)  # said too
    data = views.step_data(r, 1)  # API clients get the swaps too
    assert data["read_as"] == [["wee", "small"]] and data["rare_words"] == [] and "small" in data["tokens"]
    plain = t2i.encode_prompt("a wee red 3", read_unknown=False)
    assert "wee" in plain.tokens and plain.read_as == ()


def test_why_latents_table_states_the_measured_ratios_under_named_columns():
    """The cost table's ratios are the measured values (latent values vs pixels, DiT FLOPs vs the UNet's),
    and every column has a header."""
    from explainers import text_to_image_views as views

    c = t2i_comparisons.latent_costs("tiny-t2i")
    page = views.costs_table(c)
    assert page.count("<th scope='col'>") == 4
    assert f"{c.pixel_values / c.latent_values:.0f}x fewer" in page and f"{c.unet_flops / c.dit_flops:.1f}x fewer" in page
    assert c.latent_values == 4 * 16 * 16 and c.pixel_values == 3 * 32 * 32
