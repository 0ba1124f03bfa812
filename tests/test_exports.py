"""Exports: every scrubber view saves what it shows as a PNG (drawn in the browser from the
frame on screen), and a text generation downloads as an animated GIF, one frame per token."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.conftest import open_app
from tests.test_browser import browser, page  # noqa: F401 - shared fixtures (offline check included)


def test_generation_gif_has_a_frame_per_token():
    from explainers import next_token_views

    path = next_token_views.generation_gif_of("ROMEO:", "tiny-gpt", 6, 1.0, 0, 1.0, 0)
    im = Image.open(path)
    assert im.format == "GIF" and im.n_frames == 6 and im.size[0] == next_token_views.GIF_WIDTH
    frames = []
    for k in (0, 5):
        im.seek(k)
        frames.append(im.convert("RGB"))
    assert frames[0].tobytes() != frames[1].tobytes()  # the text grows
    # the same run again is one file, not a second rendering
    assert next_token_views.generation_gif_of("ROMEO:", "tiny-gpt", 6, 1.0, 0, 1.0, 0) == path


@pytest.mark.browser
def test_save_png_downloads_the_frame_on_screen(page, app_url, tmp_path):  # noqa: F811
    open_app(page, app_url + "?tab=denoising&prompt=a%20handwritten%203&steps=10&step=4", timeout_ms=120_000)
    view = page.locator("#denoise-view")
    view.get_by_role("slider", name="Step", exact=True).wait_for(timeout=120_000)
    page.wait_for_function("() => document.querySelector('#denoise-view input[data-scrub]')?.value === '4'",
                           timeout=30_000)
    with page.expect_download(timeout=30_000) as info:
        view.get_by_role("button", name="Save PNG of the view shown").click()
    d = info.value
    assert d.suggested_filename.startswith("step-4")
    out = tmp_path / d.suggested_filename
    d.save_as(out)
    img = Image.open(out)
    assert img.format == "PNG" and img.size[0] > 200 and img.size[1] > 150
    colours = img.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 20  # pictures, not a blank canvas


def test_save_png_only_where_a_frame_has_pictures():
    """A scrubber of text or bars alone gets no Save PNG button (it would save nothing)."""
    from explainers import frames

    axis = [frames.Axis("Step", 0, 1, 0)]
    assert "data-save" not in frames.scrubber(axis, {(0,): "<p>one</p>", (1,): "<p>two</p>"})
    pic = frames.img_tag(frames.rgb_uri(np.zeros((4, 4, 3))), "a black square")
    assert "data-save" in frames.scrubber(axis, {(0,): pic, (1,): pic})
