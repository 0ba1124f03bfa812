"""Diffusion: the forward process against its closed form, the reverse process (shapes, seeds,
guidance, caching), prompt -> digit matching, the Denoising and Noising endpoints with bad
inputs, and (marked quality) whether tiny-ddpm draws the digit a prompt asks for."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from PIL import Image

from explainers import denoising, denoising_checkpoints, diffusion_views, frames, noising, noising_views
from models.errors import InputError

STEPS = 10  # short runs keep these tests fast on a 2-core CPU


@pytest.fixture(scope="module", autouse=True)
def one_thread_per_call():
    """As app.py does: on a small shared CPU, torch's default threads oversubscribe it (measured
    here under load: 0.9 s vs 0.14 s for one UNet pass)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digit() -> np.ndarray:
    return np.asarray(Image.open(noising.EXAMPLES_DIR / "mnist-digit-3.png"))  # (28, 28) uint8


# ---- forward process ----------------------------------------------------------------------

def test_linear_schedule_is_ho_et_al():
    betas = np.linspace(1e-4, 0.02, 1000, dtype=np.float64)
    ab = noising.alphas_cumprod("linear")
    np.testing.assert_allclose(ab, np.cumprod(1 - betas), rtol=1e-4)
    assert 3.5e-5 < ab[-1] < 4.5e-5  # alpha-bar_T ~ 4e-5: x_T is pure noise
    cos = noising.alphas_cumprod("cosine")
    assert np.all(np.diff(cos) <= 0) and cos[500] > ab[500]  # cosine keeps more signal mid-way


@pytest.mark.parametrize("t", [0, 50, 250, 500, 999])
def test_forward_statistics_match_closed_form(digit, t):
    x0 = torch.from_numpy(noising.load_image(digit) * 2 - 1).permute(2, 0, 1)  # (1, 28, 28) in [-1, 1]
    n = 4000
    gen = torch.Generator().manual_seed(t)
    noise = torch.randn((n, *x0.shape), generator=gen)  # (n, 1, 28, 28)
    sched = noising.scheduler("linear")
    x_t = sched.add_noise(x0.expand(n, -1, -1, -1), noise, torch.full((n,), t))  # (n, 1, 28, 28)
    ab = float(sched.alphas_cumprod[t])
    sem = math.sqrt(1 - ab) / math.sqrt(n)  # standard error of the per-pixel mean
    assert torch.allclose(x_t.mean(0), math.sqrt(ab) * x0, atol=5 * sem + 1e-6)
    np.testing.assert_allclose(x_t.var(0).mean().item(), 1 - ab, rtol=0.02, atol=1e-6)


def test_noise_image_is_the_formula_with_fixed_noise(digit):
    x_t, ab = noising.noise_image(digit, 300)
    again = noising.noise_image(digit, 300)
    np.testing.assert_array_equal(x_t, again.x_t)
    x0 = noising.load_image(digit) * 2 - 1  # (28, 28, 1)
    noise = torch.randn((1, 1, 28, 28), generator=torch.Generator().manual_seed(noising.NOISE_SEED))[0]
    expected = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * noise.permute(1, 2, 0).numpy()
    np.testing.assert_allclose(x_t, expected, atol=1e-5)
    assert noising.noise_image(digit, 300, "cosine").alpha_bar > ab


def test_image_inputs(tmp_path):
    rgb = np.random.default_rng(0).random((600, 400, 3)).astype(np.float32)
    assert noising.load_image(rgb).shape == (256, 171, 3)  # long side shrunk to 256
    assert noising.load_image(Image.new("RGBA", (50, 30))).shape == (30, 50, 3)
    assert noising.noise_image(np.zeros((8, 8), np.uint8), 999).x_t.shape == (8, 8, 1)
    for bad, msg in [(np.zeros((4, 4, 2), np.uint8), "C = 1, 3 or 4"), (np.full((4, 4), 2.0), "between 0 and 1"),
                     (np.zeros((4, 4), np.int64), "uint8"), ("no/such/file.png", "No such image"),
                     (None, "No image"), ([1, 2], "numpy array")]:
        with pytest.raises(ValueError, match=msg):
            noising.load_image(bad)
    big = tmp_path / "big.png"
    Image.new("1", (10_000, 10_000)).save(big)  # 1 bit per pixel: cheap to write, 100 MP in the header
    with pytest.raises(ValueError, match="40 megapixels"):
        noising.load_image(str(big))
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    with pytest.raises(ValueError, match="not an image"):
        noising.load_image(str(text))
    for bad_t in (-1, 1000, float("nan")):
        with pytest.raises(ValueError, match="t must be"):
            noising.noise_image(np.zeros((8, 8), np.uint8), bad_t)
    with pytest.raises(ValueError, match="linear, cosine"):
        noising.noise_image(np.zeros((8, 8), np.uint8), 5, "sigmoid")


# ---- prompt -> digit ----------------------------------------------------------------------

@pytest.mark.parametrize("prompt, label", [("a handwritten 7", 7), ("seven", 7), ("the number 3", 3),
                                           ("draw a zero", 0), ("write a 5", 5), ("9", 9)])
def test_prompt_to_label(prompt, label):
    got, sims = denoising.prompt_to_label(prompt)
    assert got == label and sims.shape == (10,) and int(sims.argmax()) == label


@pytest.mark.parametrize("prompt", ["a photo of a cat", "hello", "a handwritten number", "draw me a sheep",
                                    "a handwritten letter A", "a 3 or a 5", "the number 17"])
def test_off_topic_prompt_means_no_label(prompt):
    assert denoising.prompt_to_label(prompt)[0] is None


@pytest.mark.parametrize("prompt, label", [("a bold 3", 3), ("a sloppy 2", 2), ("digit: 7", 7), ("generate a two", 2),
                                           ("a 4 written by a child", 4), ("number 1 please", 1)])
def test_a_prompt_that_names_one_digit_gets_it(prompt, label):
    """minilm alone does not choose these (below the threshold or without the lead); the named digit does,
    and the page's words say which rule chose it."""
    got, sims = denoising.prompt_to_label(prompt)
    assert denoising.clear_match(sims) is None and got == label
    reason = denoising.label_reason(prompt, got, sims)
    assert f"names {label}" in reason and f"{sims[label]:.2f}" in reason
    assert f"chose {label}: the prompt names {label}" in diffusion_views.similarity_bars(prompt, got, sims)


def test_named_digit():
    assert [denoising.named_digit(p) for p in ("a 7", "SEVEN", "draw one", "7 sevens", "a seven, a 7")] == [7, 7, 1, 7, 7]
    assert [denoising.named_digit(p) for p in ("seventeen", "10", "a 3 or a 5", "a cat", "3.5")] == [None] * 5


def test_the_reason_for_a_clear_match_and_for_none():
    _, sims = denoising.prompt_to_label("the number three")
    assert denoising.label_reason("the number three", 3, sims).startswith("closest to 'three'")
    label, sims = denoising.prompt_to_label("a photo of a cat")
    reason = denoising.label_reason("a photo of a cat", label, sims)
    assert label is None and "no digit named" in reason and str(denoising.THRESHOLD) in reason


# ---- reverse process ----------------------------------------------------------------------

def test_denoise_shapes_and_start_from_noise():
    r = denoising.denoise("a handwritten 7", steps=STEPS, guidance=3.0, seed=0)
    assert r.label == 7 and r.guided
    assert r.x_t.shape == (STEPS + 1, 28, 28, 1) and r.timesteps.shape == (STEPS,)
    for name in ("noise_pred", "x0_pred", "noise_uncond", "noise_cond"):
        assert getattr(r, name).shape == (STEPS, 28, 28, 1)
    for arr in (r.x_t, r.noise_pred, r.x0_pred):
        assert arr.dtype == np.float32 and arr.min() >= 0 and arr.max() <= 1
    assert abs(r.x_t_std[0] - 1) < 0.1  # x_T ~ N(0, I)
    assert r.x_t_std[-1] < r.x_t_std[0]
    assert list(r.timesteps) == sorted(r.timesteps, reverse=True)


def test_same_seed_same_images_other_seed_differs():
    r = denoising.denoise("seven", steps=STEPS, guidance=3.0, seed=5)
    fresh = denoising._denoise.uncached("seven", STEPS, 3.0, 5, "ddim", "tiny-ddpm", 1)  # bypass the cache
    np.testing.assert_array_equal(r.x_t, fresh.x_t)
    np.testing.assert_array_equal(r.x0_pred, fresh.x0_pred)
    other = denoising.denoise("seven", steps=STEPS, guidance=3.0, seed=6)
    assert not np.array_equal(r.x_t[-1], other.x_t[-1])


def test_guidance_modes_batch_and_ddpm():
    plain = denoising.denoise("seven", steps=STEPS, guidance=1.0, seed=0)
    assert plain.label == 7 and not plain.guided and plain.noise_uncond is None
    free = denoising.denoise("hello", steps=STEPS, guidance=3.0, seed=0, batch=2)
    assert free.label is None and free.guidance == 0 and free.x_t.shape == (2, STEPS + 1, 28, 28, 1)
    assert free.images("x_t", 1).shape == (STEPS + 1, 28, 28, 1)
    ddpm = denoising.denoise("seven", steps=STEPS, guidance=3.0, seed=0, scheduler="ddpm")
    assert ddpm.x_t.shape == (STEPS + 1, 28, 28, 1)


@pytest.mark.parametrize("kwargs, msg", [
    (dict(steps=0), "steps"), (dict(steps=10**6), "steps"), (dict(steps=500), "between 10 and 250"),
    (dict(guidance=-5), "guidance"), (dict(guidance=float("nan")), "guidance"), (dict(batch=9), "batch"),
    (dict(seed=-1), "seed"), (dict(scheduler="euler"), "ddim, ddpm"), (dict(model="minilm"), "diffusion"),
])
def test_denoise_refuses_bad_settings(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        denoising.denoise("seven", **kwargs)


def test_lookup_never_runs_the_model():
    denoising.denoise("the number 3", steps=STEPS, guidance=2.0, seed=1)
    unet = denoising.models.load("tiny-ddpm").model
    calls = []
    hooks = [m.register_forward_hook(lambda *a: calls.append(1)) for m in {unet, denoising.inference_unet(unet)}]
    try:
        r = denoising.lookup("the number 3", steps=STEPS, guidance=2.0, seed=1)
        assert r.label == 3
        with pytest.raises(ValueError, match="Denoise"):
            denoising.lookup("the number 3", steps=STEPS, guidance=2.0, seed=2)  # never ran
    finally:
        for h in hooks:
            h.remove()
    assert calls == []


def _frames(html_text: str) -> list[str]:
    return re.findall(r'<div data-frame="([^"]+)"', html_text)


def _decoded(html_text: str) -> list[Image.Image]:
    """Every data-URI image in a view, decoded (fails if one is not a valid PNG/JPEG)."""
    import base64
    import io

    out = []
    html_text = frames.unpack(html_text)  # hidden frames' pictures travel packed in shared sheets
    for _kind, b64 in re.findall(r'src="data:image/(png|jpeg);base64,([^"]+)"', html_text):
        im = Image.open(io.BytesIO(base64.b64decode(b64)))
        im.load()
        out.append(im)
    return out


def test_denoise_view_carries_every_step():
    r = denoising.denoise("seven", steps=STEPS, guidance=3.0, seed=0)
    view = diffusion_views.denoise_view(r)
    assert _frames(view) == [str(i) for i in range(STEPS + 1)]  # one frame per step, noise to image
    assert 'aria-valuetext="Step 10"' in view and "data-play" in view
    images = _decoded(view)
    assert len(images) == (STEPS + 1) * 7  # x_t, noise, x0 + four guidance pictures per frame
    assert {im.size for im in images} == {(28, 28)}
    # frame 0 shows the starting noise x_T, the last one the final image (exactly the run's arrays)
    first = np.asarray(images[0], dtype=np.float32) / 255
    np.testing.assert_allclose(first, r.x_t[0][..., 0], atol=1 / 255)
    assert "Step 3 of 10" in view and "the run draws a 7" in view
    assert diffusion_views.denoise_view(r) is view  # rendered once: the same string comes back
    for step in (0, STEPS):
        data = diffusion_views.step_data(r, step)
        assert data["step"] == step and data["x_t"].startswith("data:image/png")
    with Image.open(diffusion_views.animation_gif(r)) as gif:
        assert gif.n_frames == STEPS + 1
    assert diffusion_views.animation_gif(r) == diffusion_views.animation_gif(r)  # written once


def test_denoise_view_batch_and_long_runs():
    r = denoising.denoise("hello", steps=STEPS, guidance=3.0, seed=0, batch=3)
    view = diffusion_views.denoise_view(r)
    keys = _frames(view)
    assert len(keys) == (STEPS + 1) * 3 and "0-2" in keys and f"{STEPS}-0" in keys
    assert 'data-label="Image"' in view and "No guidance panel: no digit was chosen" in view
    assert len(_decoded(view)) == (STEPS + 1) * 3 * 3  # no guidance pictures: the run used no label
    positions = diffusion_views.step_positions(1000, 1)
    assert positions[0] == 0 and positions[-1] == 1000 and len(positions) <= diffusion_views.MAX_FRAMES_PER_IMAGE
    assert len(diffusion_views.step_positions(250, 8)) * 8 <= diffusion_views.MAX_FRAMES_TOTAL


def test_similarity_bars_and_summary_grammar():
    from ui.denoising import _summary

    eight = denoising.denoise("a fat eight", steps=STEPS, guidance=1.0, seed=0)
    assert eight.label == 8
    text = _summary(eight, 1.0)
    assert "Drawing an 8" in text and "1 prediction each" in text and "1 image:" in text
    ignored = denoising.denoise("seven", steps=STEPS, guidance=0.0, seed=0)
    assert "Guidance 0: the label is ignored" in _summary(ignored, 0.0) and "Drawing" not in _summary(ignored, 0.0)
    free = denoising.denoise("a photo of a cat", steps=STEPS, guidance=3.0, seed=0)
    assert "guidance slider (3) was not used" in _summary(free, 3.0) and "guidance used 0" in _summary(free, 3.0)
    bars = diffusion_views.similarity_bars(eight.prompt, eight.label, eight.similarities)
    assert bars.count("<tr") == 10 and "chose 8" in bars and 'class="fv-row fv-hi"><th scope="row">8 eight' in bars


def test_noising_view_every_tenth_step_both_schedules():
    example = str(noising.EXAMPLES_DIR / "mnist-digit-3.png")
    f = noising.forward_run(example, 123)
    assert f.ts[:3] == [0, 10, 20] and 123 in f.ts and f.ts[-1] == 999
    view, grid = noising_views.noising_views(example, 123)
    assert len(_frames(view)) == len(f.ts)
    assert 'aria-valuetext="Step t 123"' in view  # opens on the chosen t, and says t, not a position
    assert len(_decoded(view)) == 2 * len(f.ts) + 1  # both schedules per frame, plus the clean image
    expected = noising.to_display(noising.noise_image(example, 500, "cosine").x_t)
    np.testing.assert_allclose(f.x_t["cosine"][f.ts.index(500)], expected, atol=1e-5)  # the same formula and noise
    text = re.sub(r'src="data:[^"]+"', "", view)
    assert not re.search(r"\d\.?\d*e[-+]\d", text), re.search(r".{60}\d\.?\d*e[-+]\d.{20}", text)  # plain numbers
    assert len(_decoded(grid)) == 2 * len(noising.GRID_STEPS)
    assert noising_views.noising_views(example, 123) is not None
    assert noising_views._noising_views.hits >= 1
    # the curves' numbers for screen readers once per view, not once per frame (101 copies were
    # 37,000 elements the browser re-built on every run)
    assert view.count('class="sr-only"') == 1
    # and the charts' axes and curves once: each frame's chart draws them with <use> (+ the one <defs>)
    assert view.count("<svg") == len(f.ts) + 1 and view.count('<use href="#fvc-') == len(f.ts)
    assert view.count("<polyline") == len(noising.SCHEDULES)
    assert len(re.findall(r"<[a-zA-Z]", view)) < 3000


def test_same_seed_through_training_checkpoints():
    tr = denoising_checkpoints.through_training("seven", steps=STEPS, guidance=3.0, seed=0)
    assert tr.names[0].startswith("step 0") and tr.names[-1].startswith("final") and len(tr.names) == 4
    final = denoising.denoise("seven", steps=STEPS, guidance=3.0, seed=0)
    np.testing.assert_allclose(tr.x_t[-1], final.x_t, atol=1e-6)  # the last row is the shipped model's run
    assert all(np.array_equal(x[0], tr.x_t[0][0]) for x in tr.x_t)  # the same starting noise everywhere
    assert np.abs(tr.x_t[0][-1] - tr.x_t[-1][-1]).mean() > 0.1  # random weights draw something else
    view = diffusion_views.training_view(tr)
    assert view.count('<tr><th scope="row">') == 4 and len(_decoded(view)) == 4 * 8


# ---- the sampling loop, pinned (as diffusers' tests/pipelines/ddpm/test_ddpm.py) --------------

def _tiny_unet():
    from diffusers import UNet2DModel

    torch.manual_seed(0)
    return UNet2DModel(sample_size=8, in_channels=1, out_channels=1, layers_per_block=1, block_out_channels=(8, 16),
                       down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                       norm_num_groups=4, num_class_embeds=11).eval()


@pytest.mark.parametrize("name, final, eps_uncond", [
    ("DDIMScheduler", [1.0, -1.0, 1.0, 0.3135, -1.0, -1.0, -1.0, 0.9984],
     [0.2315, -0.0601, 0.4475, -0.4755, -0.3815, -0.3174, 0.1601, 0.2894]),
    ("DDPMScheduler", [1.0, 0.9946, 0.5358, -0.0122, -1.0, 1.0, 0.9847, -0.6513],
     [0.442, -0.093, -0.5058, 0.1922, 0.403, 0.0792, 0.3692, -0.1427]),
])
def test_sampling_loop_pinned_values(name, final, eps_uncond):
    """A tiny seeded config-built UNet2DModel, 5 steps, guidance 2, labels (3, 7): values computed
    once with this code and pinned. A change to the loop (guidance mix, clipping, DDIM's
    use_clipped_model_output, the seeding) moves them."""
    import diffusers

    from models.diffusion import sample

    cfg = dict(num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4, beta_end=0.02, clip_sample=True)
    sched = getattr(diffusers, name)(**cfg)
    x, traj = sample(_tiny_unet(), sched, torch.tensor([3, 7]), 5, 2.0, 0, null_class=10, capture=True)
    assert x.shape == (2, 1, 8, 8) and traj.timesteps == [800, 600, 400, 200, 0]
    assert len(traj.x_t) == 6 and len(traj.noise_uncond) == len(traj.noise_cond) == 5
    np.testing.assert_allclose(x[1, 0, 4, :].numpy(), final, atol=1e-3)
    np.testing.assert_allclose(traj.noise_uncond[3][0, 0, 2, :].numpy(), eps_uncond, atol=1e-3)
    np.testing.assert_allclose(traj.noise_pred[0][1, 0, 4, :].numpy(),
                               [0.2424, -0.3005, -0.1701, 0.5287, -1.3161, -0.1101, 0.5025, 0.1193], atol=1e-3)
    guided = traj.noise_uncond[2] + 2.0 * (traj.noise_cond[2] - traj.noise_uncond[2])
    torch.testing.assert_close(traj.noise_pred[2], guided)


# ---- quality ------------------------------------------------------------------------------

@pytest.mark.quality
def test_prompts_draw_the_digit_they_ask_for():
    """10 per digit, DDIM 50, guidance 3, fixed seeds, judged by the SVC of training.eval_tiny_ddpm."""
    from training.eval_tiny_ddpm import judge

    clf, judge_accuracy, _, _ = judge()
    assert judge_accuracy > 0.9
    images, labels = [], []
    for d, word in enumerate(denoising.DIGIT_WORDS):
        for seed in (0, 1):
            r = denoising.denoise(f"the number {word}", steps=50, guidance=3.0, seed=seed, batch=5)
            assert r.label == d
            images.append(r.x_t[:, -1, ..., 0].reshape(5, -1))  # final images, (5, 784) in [0, 1]
            labels += [d] * 5
    accuracy = float((clf.predict(np.concatenate(images)) == np.array(labels)).mean())
    assert accuracy >= 0.95, accuracy


# ---- API ----------------------------------------------------------------------------------

def _app_error(client, api_name, *args) -> str:
    with pytest.raises(Exception) as info:  # gradio_client raises AppError with the gr.Error message
        from tests.conftest import call

        call(client, api_name, *args, timeout=120)
    return str(info.value)


@pytest.mark.api
def test_api_denoise_then_step_is_a_lookup(client):
    from tests.conftest import call

    settings = ("seven", STEPS, 3.0, 3, "ddim", "tiny-ddpm", 1)
    summary, bars, view, gif = call(client, "denoise", *settings)
    assert "Drawing a 7" in summary and gif is None and "chose 7" in bars  # the GIF comes when asked
    assert len(_frames(view)) == STEPS + 1 and len(_decoded(view)) == (STEPS + 1) * 7
    unet = denoising.models.load("tiny-ddpm").model
    calls = []
    hooks = [m.register_forward_hook(lambda *a: calls.append(1)) for m in {unet, denoising.inference_unet(unet)}]
    try:
        step = call(client, "denoise_step", *settings, 4, 0)
    finally:
        for h in hooks:
            h.remove()
    assert calls == [] and step["step"] == 4 and "Step 4 of 10" in step["caption"] and step["x0_pred"]
    calls.clear()
    hooks = [m.register_forward_hook(lambda *a: calls.append(1)) for m in {unet, denoising.inference_unet(unet)}]
    try:
        gif = call(client, "denoise_gif", *settings)  # the stored run's animation: no model call
    finally:
        for h in hooks:
            h.remove()
    with Image.open(gif) as im:
        assert calls == [] and im.format == "GIF" and im.n_frames == STEPS + 1
    assert "press 'Denoise' first" in _app_error(client, "denoise_step", "seven", STEPS, 3.0, 99, "ddim",
                                                  "tiny-ddpm", 1, 4, 0)


@pytest.mark.api
@pytest.mark.parametrize("steps, guidance, scheduler, msg", [  # gradio's own bounds check or ours: both name the limit
    (0, 3.0, "ddim", r"minimum value 10|between 10"), (10**6, 3.0, "ddim", r"maximum value 250|and 250"),
    (STEPS, -5, "ddim", r"minimum value 0|guidance must be"), (STEPS, 3.0, "euler", r"ddim.*ddpm"),
])
def test_api_denoise_bad_inputs(client, steps, guidance, scheduler, msg):
    from tests.conftest import call

    assert re.search(msg, _app_error(client, "denoise", "seven", steps, guidance, 0, scheduler, "tiny-ddpm", 1))
    assert "Drawing a 7" in call(client, "denoise", "seven", STEPS, 3.0, 0, "ddim", "tiny-ddpm", 1)[0]


@pytest.mark.api
def test_api_denoise_nan_guidance(client, app_url):
    """JSON has no NaN, so gradio_client refuses to send one; a raw request with the NaN token
    (which Python's JSON parser accepts) reaches the server and gets a clear error."""
    import httpx

    from tests.conftest import call

    assert "not JSON compliant" in _app_error(client, "denoise", "seven", STEPS, float("nan"), 0, "ddim", "tiny-ddpm", 1)
    body = '{"data": ["seven", 10, NaN, 0, "ddim", "tiny-ddpm", 1]}'
    post = httpx.post(f"{app_url}gradio_api/call/denoise", content=body, headers={"Content-Type": "application/json"})
    event_id = post.json()["event_id"]
    stream = httpx.get(f"{app_url}gradio_api/call/denoise/{event_id}", timeout=120).text
    assert "event: error" in stream and "guidance must be between 0 and 10" in stream
    assert "Drawing a 7" in call(client, "denoise", "seven", STEPS, 3.0, 0, "ddim", "tiny-ddpm", 1)[0]


@pytest.mark.api
def test_api_noising_and_bad_uploads(client, tmp_path):
    from gradio_client import handle_file

    from tests.conftest import call

    example = str(noising.EXAMPLES_DIR / "sklearn-flower.jpg")
    view, grid = call(client, "noising", handle_file(example), 250)
    assert "predict the noise" in view and 250 in noising.frame_steps(250) and len(_decoded(grid)) == 14
    assert len(_frames(view)) == len(noising.frame_steps(250))
    big = tmp_path / "huge.png"
    Image.new("1", (10_000, 10_000)).save(big)
    assert "megapixels" in _app_error(client, "noising", handle_file(str(big)), 250)
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    assert "'notes.txt' is not an image" in _app_error(client, "noising", handle_file(str(text)), 250)
    fake = tmp_path / "holiday.png"  # a text file with a picture's name
    fake.write_text("not a picture either")
    message = _app_error(client, "noising", handle_file(str(fake)), 250)
    assert "'holiday.png' is not an image" in message and "/tmp" not in message and "gradio" not in message.lower()
    assert re.search(r"t must be|maximum value 999", _app_error(client, "noising_step", handle_file(example), 5000))
    last = call(client, "noising_step", handle_file(example), 999)
    assert "predict the noise" in last["caption"] and last["t"] == 999 and last["cosine"]["image"].startswith("data:")


def test_the_gif_button_animates_the_run_on_screen_not_the_moved_sliders():
    """A student presses Denoise, moves the seed, then asks for the GIF: it is the shown run's, from the
    store (the moved settings are never run)."""
    from ui import denoising as ui_denoising

    shown = ("a handwritten 2", STEPS, 3.0, 11, "ddim", "tiny-ddpm", 1)
    moved = ("a handwritten 2", STEPS, 3.0, 12, "ddim", "tiny-ddpm", 1)
    r = denoising.denoise(*shown)
    quiet = lambda *a, **k: None  # noqa: E731 - no page to report progress to
    path = ui_denoising.gif_of_shown_run(list(shown), *moved, progress=quiet)
    assert path == diffusion_views.animation_gif(r)
    with pytest.raises(InputError):
        denoising.lookup(*moved)  # the moved settings were not run for it
    # with no run shown (views opened by a link), the settings on the page are the run's
    assert ui_denoising.gif_of_shown_run(None, *shown, progress=quiet) == path
