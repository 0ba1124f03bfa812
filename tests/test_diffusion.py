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

from explainers import denoising, diffusion_views, noising

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


@pytest.mark.parametrize("prompt", ["a photo of a cat", "hello", "a handwritten number"])
def test_off_topic_prompt_means_no_label(prompt):
    assert denoising.prompt_to_label(prompt)[0] is None


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
    hook = unet.register_forward_hook(lambda *a: calls.append(1))
    try:
        r = denoising.lookup("the number 3", steps=STEPS, guidance=2.0, seed=1)
        assert r.label == 3
        with pytest.raises(ValueError, match="Denoise"):
            denoising.lookup("the number 3", steps=STEPS, guidance=2.0, seed=2)  # never ran
    finally:
        hook.remove()
    assert calls == []


def test_views_and_gif():
    r = denoising.denoise("seven", steps=STEPS, guidance=3.0, seed=0)
    for fig in (diffusion_views.step_view(r, 0), diffusion_views.step_view(r, STEPS),
                diffusion_views.guidance_panel(r, 3), diffusion_views.filmstrip(r),
                diffusion_views.schedule_plot(r.alphas_cumprod, int(r.timesteps[3])),
                diffusion_views.similarity_bars(r.prompt, r.label, r.similarities)):
        assert fig.axes
    with Image.open(diffusion_views.animation_gif(r)) as gif:
        assert gif.n_frames == STEPS + 1
    with pytest.raises(ValueError, match="step must be between 0 and 10"):
        diffusion_views.step_view(r, STEPS + 1)


# ---- quality ------------------------------------------------------------------------------

@pytest.mark.quality
def test_prompts_draw_the_digit_they_ask_for():
    """10 per digit, DDIM 50, guidance 3, fixed seeds, judged by the SVC of models.eval_tiny_ddpm."""
    from models.eval_tiny_ddpm import judge

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
    summary, _, _, step, _, gif = call(client, "denoise", *settings)
    assert "Drawing a 7" in summary and str(gif).endswith(".gif")
    unet = denoising.models.load("tiny-ddpm").model
    calls = []
    hook = unet.register_forward_hook(lambda *a: calls.append(1))
    try:
        caption, view, schedule, guide = call(client, "denoise_step", *settings, 4, 0)
    finally:
        hook.remove()
    assert calls == [] and "Step 4 of 10" in caption and view and schedule and guide
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
    side, curves, caption, grid = call(client, "noising", handle_file(example), 250)
    assert "predict the noise" in caption and side and curves and grid
    big = tmp_path / "huge.png"
    Image.new("1", (10_000, 10_000)).save(big)
    assert "megapixels" in _app_error(client, "noising", handle_file(str(big)), 250)
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    assert "'notes.txt' is not an image" in _app_error(client, "noising", handle_file(str(text)), 250)
    assert re.search(r"t must be|maximum value 999", _app_error(client, "noising_step", handle_file(example), 5000))
    assert "predict the noise" in call(client, "noising_step", handle_file(example), 999)[2]
