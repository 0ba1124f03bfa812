"""Loading the registry's models (models/registry.py), with a bounded cache: every model, embedded or
Hub, goes through the same `from_pretrained` path. The registry and availability are re-exported here
for callers that read them as `models.catalog.X`.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.availability import available, hub_cache_dir, hub_offline, hub_reachable, in_hf_cache, is_available  # noqa: F401
from models.errors import InputError
from models.registry import ASSETS, FAMILIES, REGISTRY, ModelSpec, spec  # noqa: F401


@dataclass
class Bundle:
    """What `load` returns: the model in eval mode plus what it needs to be used."""

    spec: ModelSpec
    model: Any
    tokenizer: Any = None
    scheduler: Any = None
    vae: Any = None  # text-to-image: the autoencoder between pixels and latents
    processor: Any = None  # vision: the image processor (pixel mean and std)
    text_encoder: Any = None  # Hub text-to-image (Stable Diffusion): CLIP's text model
    preview_vae: Any = None  # text-to-image: a tiny decoder for per-step previews (TAESD, tiny-t2i's own), or None

    @property
    def key(self) -> str:
        return self.spec.key


class ModelUnavailable(RuntimeError):
    """A registry model that cannot be loaded here and now (e.g. a Hub model while offline)."""


# ---- loading, with a bounded LRU cache ----------------------------------------------------

MAX_CACHED = int(os.environ.get("EXPLAINER_MAX_MODELS", "6"))
_cache: OrderedDict[tuple[str, str | None], Bundle] = OrderedDict()
_locks: dict[tuple[str, str | None], threading.Lock] = {}
_cache_lock = threading.Lock()
load_count = 0  # how many times a model was actually read from disk (tests count this)


# transformers and diffusers load through process-wide switches (weight-init patches, meta-device
# contexts, tied-weight bookkeeping): two different models loading at once in two threads (the
# warm-up and a first request) left tiny-gpt's tied output layer uninitialised, and every
# next-token request then failed on NaN probabilities. Loading is rare and CPU-bound: one at a time.
_loading = threading.RLock()


def load(key: str, checkpoint: str | None = None) -> Bundle:
    """The loaded model bundle for a registry key (cached; at most MAX_CACHED bundles kept).

    checkpoint: for embedded models, a training checkpoint under `checkpoints/` (e.g.
    "step-00200"), used by the training-progress views.
    """
    s = spec(key)
    if checkpoint is not None:
        if s.source != "embedded" or checkpoint not in checkpoints(key):
            raise InputError(f"{key!r} has no checkpoint {str(checkpoint)[:40]!r}; it has: {checkpoints(key)}")
    cache_key = (key, checkpoint)
    with _cache_lock:
        if cache_key in _cache:
            _cache.move_to_end(cache_key)
            return _cache[cache_key]
        lock = _locks.setdefault(cache_key, threading.Lock())
    with lock:  # one thread loads; the others wait and then share it
        with _cache_lock:
            if cache_key in _cache:
                return _cache[cache_key]
        if s.source == "hub" and not is_available(key):
            raise ModelUnavailable(f"{key!r} is a Hugging Face Hub model that is not in the local cache, "
                                   "and the Hub cannot be reached (or HF_HUB_OFFLINE is set). "
                                   "The embedded models keep working.")
        try:
            with _loading:  # one load at a time, whatever the key (see _loading)
                bundle = _load_uncached(s, checkpoint)
        except Exception as e:  # noqa: BLE001 - a broken download or config must not take the app down
            if s.source == "hub":
                raise ModelUnavailable(f"Could not load {key!r} from the Hub: {type(e).__name__}: {str(e)[:200]}") from e
            raise
        with _cache_lock:
            _cache[cache_key] = bundle
            while len(_cache) > MAX_CACHED:
                _cache.popitem(last=False)
        return bundle


def checkpoints(key: str) -> list[str]:
    d = Path(spec(key).path) / "checkpoints"
    return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []


def _load_uncached(s: ModelSpec, checkpoint: str | None) -> Bundle:
    global load_count
    import torch

    load_count += 1
    where = s.path if checkpoint is None else str(Path(s.path) / "checkpoints" / checkpoint)
    common = dict(dtype=torch.float32, trust_remote_code=False)
    hub = dict(cache_dir=hub_cache_dir()) if s.source == "hub" else {}
    if s.family in ("encoder", "decoder"):
        from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

        cls = AutoModelForCausalLM if s.family == "decoder" else AutoModel
        model = cls.from_pretrained(where, attn_implementation="eager", **common, **hub).eval()
        tokenizer = AutoTokenizer.from_pretrained(s.path, trust_remote_code=False, **hub)
        return Bundle(s, model, tokenizer=tokenizer)
    if s.family == "encoder-decoder":
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        model = AutoModelForSeq2SeqLM.from_pretrained(where, attn_implementation="eager", **common).eval()
        return Bundle(s, model, tokenizer=AutoTokenizer.from_pretrained(s.path, trust_remote_code=False))
    if s.family == "text-diffusion":
        from transformers import AutoTokenizer, GPT2LMHeadModel

        model = GPT2LMHeadModel.from_pretrained(where, **common).eval()
        return Bundle(s, model, tokenizer=AutoTokenizer.from_pretrained(s.path, trust_remote_code=False))
    if s.family == "painter":
        from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

        cls = AutoModelForCausalLM if s.key.endswith("-ar") else AutoModelForMaskedLM
        return Bundle(s, cls.from_pretrained(where, **common).eval())
    if s.family == "text-to-image":
        return _load_text_to_image(s, where, checkpoint)
    if s.family == "preview-decoder":
        from models.hub_sd import load_preview_decoder

        return Bundle(s, load_preview_decoder(s.location, hub))
    if s.family == "vision":
        from transformers import AutoImageProcessor, ViTForImageClassification

        # "eager" attention returns the softmax weights; it goes through from_pretrained (5.24's
        # constructor refuses it) and is also written in the shipped config.
        model = ViTForImageClassification.from_pretrained(where, attn_implementation="eager", **common).eval()
        return Bundle(s, model, processor=AutoImageProcessor.from_pretrained(s.path))
    from diffusers import DDPMScheduler, UNet2DModel

    if s.source == "embedded":
        unet_dir = where if checkpoint is not None else str(Path(where) / "unet")
        unet = UNet2DModel.from_pretrained(unet_dir, torch_dtype=torch.float32)
        scheduler = DDPMScheduler.from_pretrained(s.path, subfolder="scheduler")
    else:  # Hub DDPM repos keep the UNet either at the root or under unet/
        try:
            unet = UNet2DModel.from_pretrained(where, subfolder="unet", torch_dtype=torch.float32, **hub)
        except OSError:
            unet = UNet2DModel.from_pretrained(where, torch_dtype=torch.float32, **hub)
        try:
            scheduler = DDPMScheduler.from_pretrained(where, subfolder="scheduler", **hub)
        except OSError:
            scheduler = DDPMScheduler.from_pretrained(where, **hub)
    return Bundle(s, unet.eval(), scheduler=scheduler)


def _load_text_to_image(s: ModelSpec, where: str, checkpoint: str | None) -> Bundle:
    """An embedded latent DiT: transformer/ (or a training checkpoint), vae/, scheduler/.
    Its attention modules get recording processors (models.attention_capture) at load time."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, PixArtTransformer2DModel

    from models.attention_capture import install_recorders

    if s.source == "hub":  # a Stable Diffusion repo: CLIP + UNet + VAE (models/hub_sd.py)
        from models.hub_sd import load_sd

        parts = load_sd(s.location, dict(cache_dir=hub_cache_dir()))
        return Bundle(s, **parts, preview_vae=_sd_preview_decoder())
    tdir = where if checkpoint is not None else str(Path(where) / "transformer")
    transformer = PixArtTransformer2DModel.from_pretrained(tdir, torch_dtype=torch.float32).eval()
    install_recorders(transformer)
    vae = AutoencoderKL.from_pretrained(s.path, subfolder="vae", torch_dtype=torch.float32).eval()
    scheduler = DDIMScheduler.from_pretrained(s.path, subfolder="scheduler")
    preview = None  # the small decoder for per-step pictures (training/fit_t2i_preview.py), when shipped
    if (Path(s.path) / "preview" / "config.json").exists():
        from diffusers import AutoencoderTiny

        preview = AutoencoderTiny.from_pretrained(s.path, subfolder="preview", torch_dtype=torch.float32).eval()
        # channels-last weights: its small convolutions run faster on oneDNN (75 latents, one run's
        # previews: 59 -> 45 ms on 1 thread, 34 -> 23 ms on 2; pixels within 1/255 of before)
        preview = preview.to(memory_format=torch.channels_last)
    return Bundle(s, transformer, scheduler=scheduler, vae=vae, preview_vae=preview)


def _sd_preview_decoder():
    """TAESD for a Stable Diffusion bundle's per-step previews when it is registered and loadable,
    else None (the previews fall back to the model's own VAE)."""
    from models.hub_sd import PREVIEW_DECODER

    if PREVIEW_DECODER in REGISTRY and is_available(PREVIEW_DECODER):
        try:
            return load(PREVIEW_DECODER).model
        except ModelUnavailable:
            pass
    return None


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
