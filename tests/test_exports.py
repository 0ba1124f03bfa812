"""Exports: every scrubber view saves what it shows as a PNG (drawn in the browser from the
frame on screen), and a text generation downloads as an animated GIF, one frame per token."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.conftest import open_app
from tests.test_browser import browser, page  # noqa: F401 - shared fixtures (offline check included)


def test_generation_gif_has_a_frame_per_token():
    from explainers import generation_gif

    path = generation_gif.generation_gif_of("ROMEO:", "tiny-gpt", 6, 1.0, 0, 1.0, 0)
    im = Image.open(path)
    assert im.format == "GIF" and im.n_frames == 6 and im.size[0] == generation_gif.GIF_WIDTH
    frames = []
    for k in (0, 5):
        im.seek(k)
        frames.append(im.convert("RGB"))
    assert frames[0].tobytes() != frames[1].tobytes()  # the text grows
    # the same run again is one file, not a second rendering
    assert generation_gif.generation_gif_of("ROMEO:", "tiny-gpt", 6, 1.0, 0, 1.0, 0) == path


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


# ---- a caption names the slider position it is shown at ------------------------------------

def caption_disagreements(view: str) -> list[str]:
    """Every frame of a scrubber whose text names an axis position other than the one it is shown at
    ('Step 26' under the slider's Step 10, 'Image 1' under Image 2, 't = 600' under t = 300)."""
    import html as html_lib
    import re

    names = re.findall(r'data-label="([^"]+)"', view)
    values = []
    for ctl in re.findall(r"<input[^>]*data-scrub[^>]*>", view):
        lo = int(re.search(r'min="(\d+)"', ctl).group(1))
        listed = re.search(r'data-values="([^"]*)"', ctl)
        values.append((lo, listed.group(1).split(",") if listed else None))
    bad = []
    for key, body in re.findall(r'<div data-frame="([\d-]+)"[^>]*>(.*?)</div>(?=<div data-frame|</div>)', view, re.S):
        text = html_lib.unescape(re.sub(r"<[^>]+>", " ", body))
        for name, pos, (lo, listed) in zip(names, key.split("-"), values):
            shown = listed[int(pos) - lo] if listed else pos
            pattern = {"t": r"\bt = (\d+)"}.get(name, rf"\b{re.escape(name)} (\d+)\b")
            said = re.findall(pattern, text)
            if said and said[0] != shown:
                bad.append(f"frame {key}: {name} is {shown}, the text says {said[0]}")
    return bad


def test_captions_name_the_slider_position_they_are_shown_at():
    from explainers import diffusion_views, editing, editing_views
    from explainers.denoising import denoise
    from models.catalog import ASSETS

    view = diffusion_views.denoise_view(denoise("a 3", steps=10, seed=1, batch=3))
    assert 'data-label="Image"' in view and not caption_disagreements(view)
    sketch = np.asarray(Image.open(ASSETS.parent / "examples" / "vision" / "sketch-4.png"))
    runs = editing.sketch_sweep(sketch, "a 4", steps=10, ts=(300, 600))
    sweep = editing_views.sweep_view(runs)
    assert 'data-label="Step"' in sweep and not caption_disagreements(sweep)
    # the checker itself finds the defect the issue reported ('Step 10' on the slider, 'step 26' in the caption)
    broken = sweep.replace("Step 1 of the slider", "Step 3 of the slider", 1)
    assert broken != sweep and caption_disagreements(broken)
