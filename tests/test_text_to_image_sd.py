"""Stable Diffusion through the text-to-image explainer, offline: tiny random versions of every part of
`segmind/tiny-sd` (UNet2DConditionModel, AutoencoderKL, CLIPTextModel + a CLIPTokenizer made from a
vocabulary written here) and of `madebyollin/taesd` (AutoencoderTiny), built from configs the way
diffusers' and transformers' own tests do, saved into a temporary Hugging Face cache under the
registered ids, and run through the normal `models.load` path."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import models
from explainers import sd_timing
from explainers import text_to_image_sd as sd
from models import catalog, hub_sd
from models.t2i_sampler import DECODE_ATOL

SD_KEY, PREVIEW_KEY = "segmind/tiny-sd", "madebyollin/taesd"
PROMPT = "a red 7 on purple, blue"  # "purple" is not in the tiny vocabulary: six word pieces
LETTERS = list("abcdefghijklmnopqrstuvwxyz0123456789,.")


# ---- a temporary Hugging Face cache holding tiny random models under the registered ids ----

def snapshot_dir(cache: Path, repo: str) -> Path:
    """The cache layout huggingface_hub reads offline: models--org--name/{refs/main, snapshots/<rev>/}."""
    root = cache / f"models--{repo.replace('/', '--')}"
    rev = hashlib.sha1(repo.encode()).hexdigest()
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(rev)
    snap = root / "snapshots" / rev
    snap.mkdir(parents=True, exist_ok=True)
    return snap


def tiny_unet(mid: bool = True):
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    return UNet2DConditionModel(
        sample_size=16, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(16, 32, 32),
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        mid_block_type="UNetMidBlock2DCrossAttn" if mid else None,
        cross_attention_dim=32, attention_head_dim=4, norm_num_groups=8).eval()


def write_tiny_sd(snap: Path) -> None:
    from diffusers import AutoencoderKL, PNDMScheduler
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    tiny_unet().save_pretrained(snap / "unet")
    torch.manual_seed(1)
    AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 32),
                  down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                  layers_per_block=1, norm_num_groups=8, sample_size=32).save_pretrained(snap / "vae")
    vocab = LETTERS + [c + "</w>" for c in LETTERS] + ["re", "red</w>", "bl", "blu", "blue</w>", "on</w>",
                                                      "<|startoftext|>", "<|endoftext|>"]
    merges = ["#version: 0.2", "r e", "re d</w>", "b l", "bl u", "blu e</w>", "o n</w>"]
    words = snap / "words"
    words.mkdir()
    (words / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (words / "merges.txt").write_text("\n".join(merges) + "\n")
    tok = CLIPTokenizer(str(words / "vocab.json"), str(words / "merges.txt"), model_max_length=77,
                        pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    tok.save_pretrained(snap / "tokenizer")
    shutil.rmtree(words)
    torch.manual_seed(2)
    CLIPTextModel(CLIPTextConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                                 num_attention_heads=4, max_position_embeddings=77, bos_token_id=tok.bos_token_id,
                                 eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
                  ).save_pretrained(snap / "text_encoder")
    # SD 1.5 repos ship a PNDM scheduler; the loader builds a DDIM one from its config
    PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True,
                  steps_offset=1, set_alpha_to_one=False).save_pretrained(snap / "scheduler")
    (snap / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))


def write_tiny_taesd(snap: Path) -> None:
    from diffusers import AutoencoderTiny

    torch.manual_seed(3)
    AutoencoderTiny(encoder_block_out_channels=(16, 16), decoder_block_out_channels=(16, 16),
                    num_encoder_blocks=(1, 1), num_decoder_blocks=(1, 1), latent_channels=4).save_pretrained(snap)


def _reset() -> None:
    catalog.clear_cache()
    sd._generate_sd.cache_clear()
    sd_timing.calibrate.cache_clear()
    sd.MEASURED.clear()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread, as the app uses on 2 cores (app.main): two threads on a busy machine crawl."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory):
    """HF_HUB_CACHE -> a temporary cache with tiny-sd and taesd; the environment is restored after."""
    cache = tmp_path_factory.mktemp("hf-cache")
    write_tiny_sd(snapshot_dir(cache, SD_KEY))
    write_tiny_taesd(snapshot_dir(cache, PREVIEW_KEY))
    old = os.environ.get("HF_HUB_CACHE")
    os.environ["HF_HUB_CACHE"] = str(cache)
    _reset()
    yield cache
    if old is None:
        os.environ.pop("HF_HUB_CACHE", None)
    else:
        os.environ["HF_HUB_CACHE"] = old
    _reset()


@pytest.fixture(scope="module")
def run(hub_cache):
    return sd.generate_sd(models.load(SD_KEY), PROMPT, steps=4, guidance=5.0, seed=3, n_images=2)


# ---- registry and loading ------------------------------------------------------------------

def test_registered_never_as_a_generator_for_the_preview_decoder():
    assert models.spec(SD_KEY).family == "text-to-image" and models.spec(SD_KEY).source == "hub"
    assert models.spec(PREVIEW_KEY).family == "preview-decoder"
    assert PREVIEW_KEY not in [k for k, s in catalog.REGISTRY.items() if s.family == "text-to-image"]


def test_listed_only_while_the_cache_has_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    catalog.clear_cache()
    assert SD_KEY not in models.available("text-to-image")
    with pytest.raises(models.ModelUnavailable, match="not in the local cache"):
        models.load(SD_KEY)
    snap = snapshot_dir(tmp_path, SD_KEY)
    write_tiny_sd(snap)
    assert SD_KEY in models.available("text-to-image")
    assert models.available("text-to-image")[0] == "tiny-t2i"  # embedded first
    shutil.rmtree(snap.parent.parent)
    assert SD_KEY not in models.available("text-to-image")
    catalog.clear_cache()


def test_loads_every_part_through_the_registry(hub_cache):
    from diffusers import AutoencoderKL, AutoencoderTiny, DDIMScheduler, UNet2DConditionModel
    from diffusers.models.attention_processor import AttnProcessor2_0
    from transformers import CLIPTextModel

    from models.attention_capture import RecordingAttnProcessor

    b = models.load(SD_KEY)
    assert isinstance(b.model, UNet2DConditionModel) and isinstance(b.vae, AutoencoderKL)
    assert isinstance(b.text_encoder, CLIPTextModel) and isinstance(b.preview_vae, AutoencoderTiny)
    assert isinstance(b.scheduler, DDIMScheduler) and b.scheduler.config.beta_schedule == "scaled_linear"
    assert b.model.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    cross, self_ = hub_sd.recorded_layers(b.model)
    assert len(cross) == 7 and all(k.endswith("attn2") for k in cross)  # 2 down + 1 mid + 4 up
    assert self_ == ["mid_block.attentions.0.transformer_blocks.0.attn1"]  # the 4 x 4 level
    for name, proc in b.model.attn_processors.items():
        wanted = name.removesuffix(".processor") in set(cross) | set(self_)
        assert isinstance(proc, RecordingAttnProcessor if wanted else AttnProcessor2_0), name


def test_lowest_resolution_self_attention_without_a_mid_block():
    """tiny-sd's distillation removed blocks: the lowest level that still has attention is used."""
    _, self_ = hub_sd.recorded_layers(tiny_unet(mid=False))
    assert self_ == ["down_blocks.1.attentions.0.transformer_blocks.0.attn1",
                     "up_blocks.1.attentions.0.transformer_blocks.0.attn1",
                     "up_blocks.1.attentions.1.transformer_blocks.0.attn1"]


# ---- the recorder: same output, and the probabilities the model really used -----------------

def test_captured_output_equals_uncaptured_and_maps_are_the_models(hub_cache):
    from diffusers import UNet2DConditionModel

    from models.attention_capture import AttentionStore, recording

    b = models.load(SD_KEY)
    plain = UNet2DConditionModel.from_pretrained(SD_KEY, subfolder="unet", cache_dir=str(hub_cache)).eval()
    torch.manual_seed(5)
    x, states = torch.randn(2, 4, 16, 16), torch.randn(2, 77, 32)
    seen = {}
    layer = b.model.get_submodule("down_blocks.0.attentions.0.transformer_blocks.0.attn2")
    hook = layer.register_forward_pre_hook(lambda m, args, kw: seen.update(h=args[0], e=kw["encoder_hidden_states"]),
                                           with_kwargs=True)
    with torch.inference_mode(), recording(AttentionStore(keep=slice(1, 2))) as store:
        got = b.model(x, torch.tensor(400), encoder_hidden_states=states).sample
        want = plain(x, torch.tensor(400), encoder_hidden_states=states).sample
    hook.remove()
    assert torch.allclose(got, want, atol=1e-5), float((got - want).abs().max())
    # softmax(QK^T / sqrt(d)) recomputed from the layer's own inputs, for the kept row (1)
    with torch.inference_mode():
        q, k = layer.to_q(seen["h"][1:2]), layer.to_k(seen["e"][1:2])
        q, k = (t.view(1, -1, layer.heads, t.shape[-1] // layer.heads).transpose(1, 2) for t in (q, k))
        probs = torch.softmax(q @ k.transpose(-1, -2) * layer.scale, dim=-1)
    rec = store.maps["down_blocks.0.attentions.0.transformer_blocks.0.attn2"][0]
    assert rec.shape == (1, layer.heads, 256, 77)
    assert torch.allclose(rec, probs, atol=1e-5)


# ---- generate_sd -------------------------------------------------------------------------

def test_result_fields_shapes_and_sums(run):
    r = run
    assert r.tokens == ["[CLS]", "a", "red", "7", "on", "p", "##u", "##r", "##p", "##l", "##e", ",", "blue", "[SEP]",
                        "[PAD]"]
    L, steps = len(r.tokens), 4
    assert r.image.shape == (32, 32, 3) and r.images.shape == (2, 32, 32, 3)
    assert r.latents.shape == (steps + 1, 4, 16, 16)
    assert r.decoded.shape == (steps + 1, 32, 32, 3)
    for a in (r.x0_decoded, r.x0_uncond, r.x0_cond):
        assert a.shape == (steps, 32, 32, 3)
    for a in (r.image, r.images, r.decoded, r.x0_decoded):
        assert a.min() >= 0 and a.max() <= 1 and np.isfinite(a).all()
    assert r.cross_attention.shape == (steps, L, 16, 16)
    heads = models.load(SD_KEY).model.get_submodule("mid_block.attentions.0.transformer_blocks.0.attn2").heads
    assert r.cross_attention_heads.shape == (steps, 7, heads, L, 16, 16) and r.cross_attention_heads.dtype == np.float16
    np.testing.assert_allclose(r.cross_attention.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(r.cross_attention_heads.astype(np.float32).sum(axis=3), 1.0, atol=1e-2)
    assert r.self_attention.shape == (steps, 16, 16)  # mid block at 4 x 4 = 16 patches
    np.testing.assert_allclose(r.self_attention.sum(axis=2), 1.0, atol=1e-5)
    assert r.timesteps.shape == (steps,) and (np.diff(r.timesteps) < 0).all()
    assert not r.truncated and r.rare_words == [] and r.seconds > 0
    assert not np.allclose(r.images[0], r.images[1])  # two seeds, two pictures


def test_same_seed_same_image_and_batch_independent(hub_cache, run):
    r1 = sd._generate_sd.uncached(SD_KEY, PROMPT, 4, 5.0, 3, "", 1)
    np.testing.assert_allclose(r1.image, run.image, atol=DECODE_ATOL)
    r2 = sd._generate_sd.uncached(SD_KEY, PROMPT, 4, 5.0, 4, "", 1)  # image 1 of the run is seed 4's image
    np.testing.assert_allclose(r2.image, run.images[1], atol=DECODE_ATOL)


def test_final_image_from_the_vae_previews_from_taesd(hub_cache, run):
    b = models.load(SD_KEY)
    final = sd.decode_images(b.vae, torch.from_numpy(run.latents[-1:]))
    np.testing.assert_allclose(run.image, final[0], atol=DECODE_ATOL)
    taesd = sd.decode_images(b.preview_vae, torch.from_numpy(run.latents[-1:]))
    np.testing.assert_allclose(run.decoded[-1], taesd[0], atol=DECODE_ATOL)
    assert not np.allclose(run.decoded[-1], run.image, atol=1e-2)  # random TAESD != random VAE


def test_without_taesd_the_previews_use_the_vae(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    write_tiny_sd(snapshot_dir(tmp_path, SD_KEY))
    _reset()
    try:
        b = models.load(SD_KEY)
        assert b.preview_vae is None
        r = sd.generate_sd(b, "a red 7", steps=2, guidance=3.0, seed=1)
        np.testing.assert_allclose(r.decoded[-1], r.image, atol=DECODE_ATOL)
    finally:
        _reset()


def test_guidance_breakdown(hub_cache):
    """guidance 1: the guided guess is the conditional one; guidance 0: the unconditional one."""
    one = sd.generate_sd(SD_KEY, "a red 7", steps=3, guidance=1.0, seed=2, negative_prompt="blue")
    np.testing.assert_allclose(one.x0_decoded, one.x0_cond, atol=1e-4)
    assert not np.allclose(one.x0_cond, one.x0_uncond, atol=1e-3)
    zero = sd.generate_sd(SD_KEY, "a red 7", steps=3, guidance=0.0, seed=2, negative_prompt="blue")
    np.testing.assert_allclose(zero.x0_decoded, zero.x0_uncond, atol=1e-4)


def test_tokens_words_and_truncation(hub_cache, run):
    from explainers.text_to_image import word_maps

    words, maps = word_maps(run.tokens, run.cross_attention)
    assert words == ["a", "red", "7", "on", "purple", ",", "blue"] and maps.shape == (4, 7, 16, 16)
    long = sd.generate_sd(SD_KEY, "red " * 100, steps=2, guidance=3.0)
    assert long.truncated and len(long.tokens) == 77 and long.tokens[-1] == "[SEP]" and "[PAD]" not in long.tokens
    np.testing.assert_allclose(long.cross_attention.sum(axis=1), 1.0, atol=1e-5)
    empty = sd.generate_sd(SD_KEY, "", steps=2, guidance=3.0)
    assert empty.tokens == ["[CLS]", "[SEP]", "[PAD]"] and empty.prompt == ""


def test_bad_input_is_a_clear_error(hub_cache):
    with pytest.raises(ValueError, match="Steps"):
        sd.generate_sd(SD_KEY, "a red 7", steps=0)
    with pytest.raises(ValueError, match="Guidance"):
        sd.generate_sd(SD_KEY, "a red 7", guidance=float("nan"))
    with pytest.raises(ValueError, match="not a Hub text-to-image"):
        sd.generate_sd("tiny-t2i", "a red 7")
    with pytest.raises(ValueError, match="characters long"):
        sd.generate_sd(SD_KEY, "x" * 501)


def test_expected_seconds_and_cpu_warning(hub_cache, run):
    secs = sd_timing.expected_seconds(SD_KEY, 25, 1)
    assert 0 < secs < 60
    assert sd_timing.expected_seconds(SD_KEY, 50, 2) > secs
    assert sd_timing.time_warning("tiny-t2i", 25) is None  # embedded: never warns, never loads anything
    if not torch.cuda.is_available():
        assert "CPU" in sd_timing.time_warning(SD_KEY, 25, 1, threshold=0.0)
        assert sd_timing.time_warning(SD_KEY, 25, 1, threshold=1e9) is None


def test_every_view_renders_a_stable_diffusion_run(hub_cache, run):
    """The embedded model's views take the SD result as it is; the time of each is printed."""
    from explainers import text_to_image_views as views

    other = sd.generate_sd(SD_KEY, "a blue 7 on purple, red", steps=4, guidance=5.0, seed=3)
    calls = {"tokens_html": lambda: views.tokens_html(run), "gallery": lambda: views.gallery(run),
             "step_view": lambda: views.step_view(run), "words_view": lambda: views.words_view(run),
             "patches_view": lambda: views.patches_view(run), "swap_view": lambda: views.swap_view(run, other)}
    for name, fn in calls.items():
        t0 = time.perf_counter()
        out = fn()
        print(f"tiny random SD, 4 steps: {name} {1000 * (time.perf_counter() - t0):.1f} ms, {len(out):,} characters")
        assert isinstance(out, str) and len(out) > 100
    print(f"tiny random SD: generate_sd, {run.steps} steps, {len(run.images)} images, capture on: {run.seconds:.2f} s "
          f"(device {models.load(SD_KEY).model.device})")
