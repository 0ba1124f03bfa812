"""Tests for the Vision tab: tiny-vit (preprocessing, attention, rollout), "when is the picture
decided", SDEdit, the endpoints (gradio_client, incl. a blank sketch) and the browser views."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explainers import editing, editing_views, vision, vision_views
from models.digits import held_out_mask, mnist_digits
from tests.conftest import open_app
from tests.test_browser import browser  # noqa: F401 - the shared chromium fixture


@pytest.fixture(scope="module")
def digits():
    x, y = mnist_digits()
    held = np.flatnonzero(held_out_mask(len(x)))
    return x, y, held


def sketch(kind: str = "seven", size: int = 280) -> np.ndarray:
    """A mouse-like drawing: black strokes on a white RGBA canvas (like gr.Sketchpad's composite)."""
    from PIL import Image, ImageDraw

    im = Image.new("RGBA", (size, size), (255, 255, 255, 255))
    pen = ImageDraw.Draw(im)
    s = size / 280
    lines = {"seven": [((80, 60), (200, 60)), ((200, 60), (110, 230))],
             "one": [((140, 40), (140, 240))]}[kind]
    for (a, b), (c, d) in lines:
        pen.line(((a * s, b * s), (c * s, d * s)), fill=(0, 0, 0, 255), width=int(18 * s))
    return np.asarray(im)


# ---- unit: preprocessing ------------------------------------------------------------------

def test_preprocess_makes_an_mnist_like_digit(digits):
    x, _, held = digits
    img = vision.preprocess(sketch())
    assert img.shape == (28, 28) and img.dtype == np.float32 and 0 <= img.min() and img.max() <= 1
    assert img[0].max() == 0 and img[:, 0].max() == 0  # ink is cropped and centred: clear borders
    ys, xs = np.nonzero(img > 0.1)
    assert max(ys.max() - ys.min(), xs.max() - xs.min()) <= 21  # the longer side fits 20 px
    com = np.array([(np.arange(28)[:, None] * img).sum(), (np.arange(28)[None] * img).sum()]) / img.sum()
    assert np.all(np.abs(com - 13.5) <= 1.0)  # centred by its centre of mass, as MNIST
    # white-on-black, dark-on-light, uint8, float and sizes all land on the same picture
    a = vision.preprocess(sketch(size=560))
    b = vision.preprocess(255 - sketch()[..., :3])  # white strokes on black RGB
    assert np.abs(a - img).mean() < 0.03 and np.abs(b - img).mean() < 0.03
    mn = x[held[0]]
    assert np.allclose(vision.preprocess(mn, centre=False), mn)
    assert np.allclose(vision.preprocess((mn * 255).astype(np.uint8), centre=False), mn, atol=1 / 255)


def test_transparent_canvas_strokes_count_as_ink():
    rgba = np.zeros((200, 200, 4), np.uint8)  # transparent canvas
    rgba[40:160, 95:105] = (0, 0, 0, 255)  # a black stroke
    img = vision.preprocess(rgba)
    assert img.max() == 1.0 and (img > 0.5).sum() > 20


@pytest.mark.parametrize("bad, words", [
    (np.zeros((28, 28), np.float32), "blank"),
    (np.full((280, 280, 4), 255, np.uint8), "blank"),  # an untouched white canvas
    (np.zeros((280, 280, 4), np.uint8), "blank"),  # an untouched transparent canvas
    ({"background": None, "layers": [], "composite": None}, "blank"),
    (np.random.default_rng(0).uniform(0.3, 1, (64, 64)), "does not look like"),  # noise / a photo
    ("a seven", "Expected an image"),
    (np.zeros((5000, 20)), "limit"),
    (np.zeros((2, 2)), "too small"),
    (np.full((28, 28), np.nan), "NaN"),
    (np.zeros((3, 28, 28, 2)), "shape"),
])
def test_bad_images_give_a_clear_value_error(bad, words):
    with pytest.raises(ValueError, match=words):
        vision.preprocess(bad)


# ---- unit: the model pass -------------------------------------------------------------------

def test_classify_shapes_and_the_models_own_attention(digits):
    x, y, held = digits
    r = vision.classify(x[held[0]])
    cfg = vision.models.load("tiny-vit").model.config
    g = 28 // cfg.patch_size
    t = 1 + g * g
    assert r.probs.shape == (10,) and abs(r.probs.sum() - 1) < 1e-5
    assert r.patches.shape == (g * g, cfg.patch_size, cfg.patch_size)
    assert np.allclose(r.patches[1], r.image[:cfg.patch_size, cfg.patch_size:2 * cfg.patch_size])  # row by row
    assert r.attentions.shape == (cfg.num_hidden_layers, cfg.num_attention_heads, t, t)
    assert np.allclose(r.attentions.sum(-1), 1, atol=1e-5)  # every row (incl. the CLS row) sums to 1
    assert np.allclose(r.attentions[:, :, 0].sum(-1), 1, atol=1e-5)
    assert r.rollout.shape == (t, t) and np.allclose(r.rollout.sum(-1), 1, atol=1e-5)
    assert (r.rollout >= 0).all()
    assert r.cls_map(0, 0).shape == (g, g) and r.cls_map(None).shape == (g, g)
    # equal to a fresh pass of the model itself
    b = vision.models.load("tiny-vit")
    mean, std = b.processor.image_mean[0], b.processor.image_std[0]
    with torch.inference_mode():
        out = b.model(pixel_values=(torch.from_numpy(r.image)[None, None] - mean) / std, output_attentions=True)
    assert np.allclose(torch.stack(out.attentions)[:, 0].numpy(), r.attentions, atol=1e-6)
    assert np.allclose(torch.softmax(out.logits[0], -1).numpy(), r.probs, atol=1e-6)


def test_rollout_matches_its_definition():
    rng = np.random.default_rng(0)
    a = rng.uniform(size=(3, 2, 5, 5)).astype(np.float32)
    a /= a.sum(-1, keepdims=True)
    expect = np.eye(5)
    for layer in a:
        m = 0.5 * layer.mean(0) + 0.5 * np.eye(5)
        expect = (m / m.sum(-1, keepdims=True)) @ expect
    assert np.allclose(vision.rollout_of(a), expect, atol=1e-6)
    assert np.allclose(vision.rollout_of(a[:1]), 0.5 * a[0].mean(0) + 0.5 * np.eye(5), atol=1e-6)


def test_a_drawn_digit_is_read_and_identical_images_are_computed_once():
    r = vision.classify(sketch("one"))
    assert r.prediction == 1, r.probs.round(2)
    hits = vision._classify.hits
    assert vision.classify(sketch("one")) is r and vision._classify.hits == hits + 1


def test_views_ship_every_frame_once(digits):
    x, _, held = digits
    r = vision.classify(x[held[5]])
    html = vision_views.attention_scrubber(r)
    assert html.count("data-frame=") == r.layers * r.heads
    assert 'aria-valuetext="Layer' in html and 'aria-valuetext="Head' in html
    html = vision_views.patch_scrubber(r)
    assert html.count("data-frame=") == r.layers * r.grid ** 2
    assert vision_views.tokens_html(r).count('class="vz-tok"') == r.grid ** 2
    assert "unsure" in vision_views.verdict(np.full(10, 0.1)) and "reads a 3" in vision_views.verdict(np.eye(10)[3])


# ---- "when is the picture decided?" and SDEdit --------------------------------------------

def test_decided_reads_every_x0(digits):
    d = vision.decided("a handwritten 7", steps=20, guidance=3.0, seed=0)
    assert d.label == 7 and d.probs.shape == (20, 10) and d.x0.shape == (20, 28, 28)
    assert np.allclose(d.probs.sum(1), 1, atol=1e-5)
    assert np.allclose(d.probs, vision.vit_probs(d.x0), atol=1e-6)
    assert d.final == 7  # the ViT reads what tiny-ddpm was asked for
    assert 0 <= d.decided_step < 20 and (d.probs[d.decided_step:].argmax(1) == d.final).all()
    html = vision_views.decided_view(d)
    assert html.count("data-frame=") == 20 and "<svg" in html


def test_sketch_to_image_trades_the_drawing_for_the_label():
    lo = editing.sketch_to_image(sketch("one"), 100, "8", steps=50, seed=0)
    hi = editing.sketch_to_image(sketch("one"), 900, "8", steps=50, seed=0)
    assert lo.x_t.shape == (len(lo.timesteps) + 1, 28, 28) and lo.t <= 100 and hi.t <= 900
    assert len(hi.timesteps) > len(lo.timesteps)
    assert lo.distance < hi.distance  # small t keeps the drawing
    assert int(hi.vit_probs.argmax()) == 8  # large t keeps only the label
    runs = editing.sketch_sweep(sketch("one"), "8", steps=20, ts=(200, 800))
    html = editing_views.sweep_view(runs)
    assert html.count("data-frame=") == 2 * (editing.SNAPSHOTS + 1)
    assert editing_views.hit_rate(runs).shape == (2,)
    with pytest.raises(ValueError, match="t"):
        editing.sketch_to_image(sketch(), 1000, "8")
    with pytest.raises(ValueError, match="blank"):
        editing.sketch_to_image(np.full((280, 280, 4), 255, np.uint8), 500, "8")


def test_inpaint_keeps_the_known_pixels_and_fills_the_hole(digits):
    x, _, held = digits
    eight = x[held[8 * 100]]  # a held-out 8
    r = editing.inpaint(eight, "top half", "", steps=20, seed=0)
    keep = r.fill == 0
    assert r.fill[:14].all() and not r.fill[14:].any()
    assert np.abs(r.result - r.sketch)[keep].max() < 0.02  # the kept half is the original
    assert np.abs(r.result - r.sketch)[~keep].mean() > 0.0  # the hole was redrawn
    assert r.result[~keep].max() > 0.5  # with ink in it
    assert editing_views.inpaint_view(r).count("data-frame=") == 21
    with pytest.raises(ValueError, match="mask"):
        editing.inpaint(eight, "everything", "")
    with pytest.raises(ValueError, match="empty"):
        editing.inpaint(eight, np.zeros((28, 28)), "")


# ---- API ---------------------------------------------------------------------------------

def _png(tmp_path, arr, name="x.png") -> str:
    from PIL import Image

    p = tmp_path / name
    Image.fromarray(arr).save(p)
    return str(p)


@pytest.mark.api
def test_api_classify_a_sketch_and_say_a_blank_one_is_blank(client, tmp_path):
    from gradio_client import handle_file

    from tests.conftest import call

    drawn = {"background": None, "layers": [], "composite": handle_file(_png(tmp_path, sketch("seven")))}
    verdict, bars, tokens, att, patch = call(client, "classify", drawn)[:5]  # (6th: which picture was read last)
    assert "reads a 7" in verdict and "fv-bars" in bars and att.count("data-frame=") >= 16
    blank = {"background": None, "layers": [],
             "composite": handle_file(_png(tmp_path, np.full((280, 280, 4), 255, np.uint8), "blank.png"))}
    assert "blank" in call(client, "classify", blank)[0]  # said in the verdict; the other views are kept
    out = call(client, "classify_upload", handle_file(_png(tmp_path, (mnist_digits()[0][2450] * 255).astype(np.uint8))))
    assert "reads a 4" in out[0]
    fake = tmp_path / "holiday.png"  # a text file with a picture's name: a sentence, not gradio's internals
    fake.write_text("not a picture")
    with pytest.raises(Exception) as info:
        call(client, "classify_upload", handle_file(str(fake)))
    assert "'holiday.png' is not an image" in str(info.value) and "preprocess" not in str(info.value)


@pytest.mark.api
def test_api_decided_and_sketch_to_image(client, tmp_path):
    from gradio_client import handle_file

    from tests.conftest import call

    summary, view = call(client, "decided", "the number 3", 20, 3.0, 0)
    assert "asked for a **3**" in summary and view.count("data-frame=") == 20
    drawn = {"background": None, "layers": [], "composite": handle_file(_png(tmp_path, sketch("one")))}
    summary, view = call(client, "sketch_to_image", drawn, None, "sketch", "8", 3.0, 0)
    assert "Asked for an **8**" in summary and view.count("data-frame=") == len(editing.SWEEP) * (editing.SNAPSHOTS + 1)
    summary, view = call(client, "inpaint", drawn, None, "sketch", "top half", "7", 3.0, 0)
    assert "Filled the top half toward a **7**" in summary and view.count("data-frame=") == 51


# ---- browser -------------------------------------------------------------------------------

@pytest.mark.browser
def test_vision_tab_draw_read_and_scrub_without_the_server(browser, app_url):  # noqa: F811
    from tests.test_browser import _shown

    pg = browser.new_page(viewport={"width": 1400, "height": 1600})
    try:
        open_app(pg, app_url, timeout_ms=90_000)
        pg.get_by_role("tab", name="Vision", exact=True).first.click()
        # draw a "1" with the mouse on the sketchpad, as a student would: no tool picked first (item 8)
        pad = pg.locator("#vision-sketch")
        box = pad.locator("canvas").first.bounding_box()
        x, y, w, h = box["x"], box["y"], box["width"], box["height"]
        pg.mouse.move(x + w * 0.5, y + h * 0.2)
        pg.mouse.down()
        for i in range(15):
            pg.mouse.move(x + w * 0.5, y + h * (0.2 + 0.04 * i))
        pg.mouse.up()
        pg.get_by_role("button", name="Read it").click()
        view = "#vision-attention"
        pg.locator(f"{view} [data-frame]:not([hidden]) img").first.wait_for(timeout=180_000)
        # the click may race the canvas's upload of the stroke; the stroke's own change event follows
        pg.locator("#vision-verdict", has_text="The ViT reads a 1").wait_for(timeout=30_000)
        for part in ("#vision-tokens", "#vision-attention", "#vision-patch"):
            assert "Error" not in pg.locator(part).inner_text(), part  # no error badge on any view
        assert pg.locator("#vision-tokens .vz-tok").count() == 50  # CLS + 49 patches
        pg.wait_for_load_state("networkidle")  # the stroke's own read (a change event) has finished too
        pg.wait_for_timeout(1000)
        slider = pg.locator(view).get_by_role("slider", name="Layer", exact=True)
        before = _shown(pg, view)
        calls: list[str] = []
        pg.on("request", lambda r: calls.append(r.url) if "/gradio_api/" in r.url and "heartbeat" not in r.url
              else None)
        slider.focus()
        pg.keyboard.press("ArrowLeft")
        pg.wait_for_timeout(300)
        after = _shown(pg, view)
        assert calls == [], calls  # answered in the browser
        assert after[0] != before[0] and after[1] != before[1]
        assert slider.get_attribute("aria-valuetext") == "Layer 3"
    finally:
        pg.close()


def test_decided_on_the_text_to_image_model():
    """The ViT reads tiny-t2i's decoded x0 (cut to its stroke) at every step; the prompt's digit is known."""
    d = vision.decided("a red 7 on a blue background", 15, 5.0, 0, model="tiny-t2i")
    assert d.model == "tiny-t2i" and d.label == 7 and d.probs.shape == (15, 10) and d.seen.shape == (15, 28, 28)
    assert d.x0.shape == (15, 32, 32, 3) and d.x_t.shape == (16, 32, 32, 3)
    np.testing.assert_allclose(d.probs.sum(1), 1, atol=1e-5)
    assert d.probs[-1, 7] > d.probs[0, 7] + 0.3  # the identity emerges as the steps go
    assert vision.digit_in("seven in red on black") == 7 and vision.digit_in("a green 3") == 3
    assert vision.digit_in("a red square") is None
    with pytest.raises(ValueError, match="runs on"):
        vision.decided("a 7", 10, 3.0, 0, model="gpt2")


def test_decided_summary_says_what_this_run_did():
    """The sentence under the curve comes from the run: an early confident 8 that became a 7 at step 14
    of 50 is reported as overturned and settled late, not as 'fixed early'."""
    from explainers.vision import DecidedResult
    from explainers.vision_views import decided_summary

    probs = np.full((50, 10), 0.01)
    probs[:13, 8], probs[13:, 7] = 0.9, 0.95
    d = DecidedResult("a 7", 7, 50, np.arange(999, 0, -20)[:50], np.zeros((50, 28, 28)), np.zeros((51, 28, 28)),
                      probs, final=7)
    text = decided_summary(d)
    assert "step 14 of 50" in text and "reads an **8** (90% on average)" in text and "overturned" in text
    assert "fixed early" not in text and "settled only after 28%" in text
