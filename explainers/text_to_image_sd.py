"""Real Stable Diffusion (e.g. `segmind/tiny-sd`) through the same views as the embedded model.

The stack is the one explainers/text_to_image.py shows in miniature, at full size:
1. the prompt -> CLIP's tokenizer (77 tokens, padded) -> CLIP's text transformer: one vector per token;
2. pure noise in a 4 x 64 x 64 latent (for 512 x 512 pixels);
3. a UNet predicts the noise at each step; in every transformer block of the UNet, its pixels read
   the prompt's tokens through cross-attention (`attn2`), at several resolutions;
4. the VAE's decoder turns the final latent into the image.

`generate_sd` returns the same `TextToImageResult` as the embedded model, so every view works:
- `tokens`: CLIP's tokens written in the house convention the views read: `[CLS]` for
  <|startoftext|>, `[SEP]` for the first <|endoftext|>, word pieces after the first as `##piece`
  (CLIP marks a word's *last* piece with </w>), and one `[PAD]` standing for all the padding
  positions (their attention is summed into it, so the maps still sum to 1 over the tokens).
- `cross_attention` (steps, L, g, g): captured from the UNet's own processors
  (models.attention_capture) in every `attn2` layer, each layer's map resized to one g x g grid
  (g = 16, or the latent side if smaller: area-averaged down, bilinear up, both keep the sum over
  tokens at 1), then averaged over heads and layers (DAAM, Tang et al. 2023).
  `cross_attention_heads` (steps, layers, heads, L, g, g): layers = the `attn2` layers in forward
  order (down blocks, mid block, up blocks), each resized the same way.
- `self_attention` (steps, P, P): the `attn1` layers of the *lowest-resolution* level only (8 x 8 for
  SD 1.5 at 512 px; 16 x 16 when the mid block was distilled away), averaged over those layers and
  heads, then pooled to at most 8 x 8 patches (queries averaged, keys summed: rows still sum to 1).
- `decoded`, `x0_decoded`, `x0_uncond`, `x0_cond`: per-step previews through the tiny preview
  decoder (`madebyollin/taesd`) when it is registered and loadable, else the model's own VAE, at
  most PREVIEW_SIDE pixels wide. `image` / `images` always come from the model's own VAE.
- `rare_words`: empty (CLIP was trained on the open web; there is no training caption list).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

import models
from explainers.memory import memoize
from explainers.t2i_spec import (
    MAX_GUIDANCE,
    MAX_IMAGES,
    MAX_SEED,
    STEP_RANGE,
    Settings,
    TextToImageResult,
    check_prompt,
)
from explainers.text_input import check_number
from models.attention_capture import AttentionStore, recording
from models.errors import InputError
from models.t2i_sampler import clean_latent, decode_images

DEFAULT_STEPS = 25
DEFAULT_GUIDANCE = 7.5  # Stable Diffusion's usual scale
MAP_GRID = 16  # side of the common grid the cross-attention maps are resized to
SELF_GRID = 8  # self-attention pooled to at most 8 x 8 patches (64 x 64 numbers per step)
PREVIEW_SIDE = 128  # per-step previews at most this wide: 4 previews x 25 steps of 512 x 512 would be 300 MB

MEASURED: dict[tuple[str, str], dict] = {}  # (model, device) -> seconds per part on the last run (sd_timing reads it)

try:  # ZeroGPU: the `spaces` package lends a GPU to the functions it decorates (a no-op elsewhere)
    import spaces

    on_gpu = spaces.GPU(duration=120)
    ZERO_GPU = True
except ImportError:
    ZERO_GPU = False

    def on_gpu(fn):
        return fn


def clip_tokens(tokens: list[str], n_real: int) -> list[str]:
    """CLIP's tokens of the real prompt (<|startoftext|> ... <|endoftext|>) in the house convention
    (see the module doc), plus '[PAD]' when padding follows."""
    out, word_open = [], False
    for i, tok in enumerate(tokens[:n_real]):
        if i == 0:
            out.append("[CLS]")
        elif i == n_real - 1:
            out.append("[SEP]")
        else:
            piece = tok.removesuffix("</w>")
            out.append("##" + piece if word_open else piece)
            word_open = not tok.endswith("</w>")
    return out + (["[PAD]"] if n_real < len(tokens) else [])


def encode_prompt_clip(bundle, text: str) -> tuple[torch.Tensor, list[str], int, bool]:
    """(states (1, 77, d) on the model's device, house-convention tokens, real length, truncated)."""
    tok = bundle.tokenizer
    limit = tok.model_max_length
    full = tok(text, truncation=False)["input_ids"]
    ids = tok(text, padding="max_length", max_length=limit, truncation=True, return_tensors="pt")["input_ids"]
    eos = (ids[0] == tok.eos_token_id).nonzero()
    n_real = int(eos[0]) + 1 if len(eos) else limit
    with torch.inference_mode():
        states = bundle.text_encoder(ids.to(bundle.text_encoder.device))[0]  # (1, 77, d)
    return states, clip_tokens(tok.convert_ids_to_tokens(ids[0].tolist()), n_real), n_real, len(full) > limit


def _merge_padding(probs: torch.Tensor, n_real: int) -> torch.Tensor:
    """(..., 77) attention over CLIP's positions -> (..., n_real [+ 1]): the padding positions summed."""
    if n_real >= probs.shape[-1]:
        return probs
    return torch.cat([probs[..., :n_real], probs[..., n_real:].sum(dim=-1, keepdim=True)], dim=-1)


def _to_grid(maps: torch.Tensor, g: int) -> torch.Tensor:
    """(N, C, s, s) -> (N, C, g, g): area average when shrinking, bilinear when growing (both are
    weighted means of neighbours, so a sum over C that is 1 stays 1)."""
    if maps.shape[-1] == g:
        return maps
    if maps.shape[-1] > g:
        return F.interpolate(maps, size=(g, g), mode="area")
    return F.interpolate(maps, size=(g, g), mode="bilinear", align_corners=False)


def _cross_step(store: AttentionStore, names: list[str], n_real: int, g: int) -> torch.Tensor:
    """One step's cross-attention: (layers, heads, L, g, g) on the CPU."""
    out = []
    for name in names:
        p = _merge_padding(store.maps[name][0][0], n_real)  # (heads, s*s, L)
        side = int(round(p.shape[1] ** 0.5))
        p = p.transpose(1, 2).reshape(p.shape[0], p.shape[2], side, side)
        out.append(_to_grid(p, g))
    heads = {m.shape[0] for m in out}
    if len(heads) > 1:  # layers with different head counts (SD 2.x): keep each layer's mean only
        out = [m.mean(dim=0, keepdim=True) for m in out]
    return torch.stack(out).float().cpu()


def _self_step(store: AttentionStore, names: list[str]) -> torch.Tensor:
    """One step's self-attention at the lowest resolution, mean over layers and heads, pooled to
    at most SELF_GRID x SELF_GRID patches: (P, P) on the CPU."""
    a = torch.stack([store.maps[n][0][0].mean(dim=0) for n in names]).mean(dim=0)  # (s*s, s*s)
    side = int(round(a.shape[0] ** 0.5))
    if side > SELF_GRID and side % SELF_GRID == 0:
        f, k = side // SELF_GRID, SELF_GRID
        a = a.reshape(k, f, k, f, k, f, k, f).mean(dim=(1, 3)).sum(dim=(3, 5))  # queries averaged, keys summed
        a = a.reshape(k * k, k * k)
    return a.float().cpu()


def start_noise_sd(unet, seeds: list[int]) -> torch.Tensor:
    """x_T per seed from its own CPU generator: the same picture on a CPU and on a GPU."""
    c, s = unet.config.in_channels, unet.config.sample_size
    return torch.stack([torch.randn((c, s, s), generator=torch.Generator().manual_seed(int(x))) for x in seeds])


@torch.inference_mode()
def denoise(bundle, cond: torch.Tensor, uncond: torch.Tensor, noise: torch.Tensor, steps: int,
            guidance: float, n_real: int, progress=None) -> dict:
    """The reverse process with classifier-free guidance, recording image 0. cond / uncond: (B, 77, d)."""
    from diffusers import DDIMScheduler

    from models.hub_sd import recorded_layers

    unet = bundle.model
    dev = unet.device
    cross_names, self_names = recorded_layers(unet)
    side = unet.config.sample_size
    g = min(MAP_GRID, side)
    scheduler = DDIMScheduler.from_config(bundle.scheduler.config)  # fresh per run: set_timesteps mutates it
    scheduler.set_timesteps(steps)
    n = noise.shape[0]
    x = noise.to(dev) * scheduler.init_noise_sigma
    states = torch.cat([uncond, cond]).to(dev)  # rows: n unconditional, then n conditional
    out = dict(latents=[x[0].cpu()], x0=[], x0_u=[], x0_c=[], cross=[], self_=[], timesteps=[])
    store = AttentionStore(keep=slice(n, n + 1))  # the conditional row of image 0
    t_unet = 0.0
    with recording(store):
        for i, t in enumerate(scheduler.timesteps):
            t0 = time.perf_counter()
            # 1. one batched UNet pass: the noise predicted without and with the prompt
            inp = scheduler.scale_model_input(torch.cat([x, x]), t)
            pred_u, pred_c = unet(inp, t.to(dev), encoder_hidden_states=states).sample.chunk(2)
            t_unet += time.perf_counter() - t0
            # 2. classifier-free guidance
            guided = pred_u + guidance * (pred_c - pred_u)
            # 3. the scheduler's update x_t -> x_{t-1}, with its guess of the clean latent
            step = scheduler.step(guided, t, x)
            out["x0"].append(step.pred_original_sample[0].cpu())
            out["x0_u"].append(clean_latent(scheduler, pred_u[:1], t, x[:1])[0].cpu())
            out["x0_c"].append(clean_latent(scheduler, pred_c[:1], t, x[:1])[0].cpu())
            out["cross"].append(_cross_step(store, cross_names, n_real, g))
            out["self_"].append(_self_step(store, self_names))
            out["timesteps"].append(int(t))
            store.clear()
            x = step.prev_sample
            out["latents"].append(x[0].cpu())
            if progress is not None:
                progress(i + 1, steps)
    out["final"] = x.cpu()
    out["unet_seconds"] = t_unet / steps
    return out


def generate_sd(bundle, prompt: str, steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE, seed: int = 0,
                negative_prompt: str = "", n_images: int = 1, progress=None) -> TextToImageResult:
    """A Stable Diffusion run with everything recorded (see the module doc). `bundle`: a loaded
    Bundle or its registry key. Identical requests are computed once (bounded, single-flight cache)."""
    key = bundle if isinstance(bundle, str) else bundle.key
    spec = models.spec(key)
    if spec.family != "text-to-image" or spec.source != "hub":
        raise InputError(f"{key!r} is not a Hub text-to-image (Stable Diffusion) model.")
    prompt, negative_prompt = check_prompt(prompt), check_prompt(negative_prompt, "negative prompt")
    steps = check_number(steps, "Steps", *STEP_RANGE, integer=True)
    guidance = check_number(guidance, "Guidance", 0, MAX_GUIDANCE)
    seed = check_number(seed, "Seed", 0, MAX_SEED, integer=True)
    n_images = check_number(n_images, "Images", 1, MAX_IMAGES, integer=True)
    return _generate_sd(key, prompt, steps, float(guidance), seed, negative_prompt, n_images, progress=progress)


def run_sd(s: Settings, progress=None) -> TextToImageResult:
    """The run for validated settings of a Hub model (explainers.text_to_image.run dispatches here)."""
    return generate_sd(s.model, s.prompt, s.steps, s.guidance, s.seed, s.negative_prompt, s.n_images, progress)


def peek_sd(s: Settings) -> TextToImageResult | None:
    return _generate_sd.peek(s.model, s.prompt, s.steps, s.guidance, s.seed, s.negative_prompt, s.n_images)


@on_gpu
def run_on_device(key: str, prompt: str, negative_prompt: str, steps: int, guidance: float, seed: int,
                  n_images: int, progress=None) -> dict:
    """Every step that touches the model, on its device (the one function ZeroGPU lends a GPU to);
    returns CPU tensors and numpy arrays only."""
    bundle = models.load(key)
    states, tokens, n_real, truncated = encode_prompt_clip(bundle, prompt)
    neg, _, _, _ = encode_prompt_clip(bundle, negative_prompt)
    noise = start_noise_sd(bundle.model, [seed + i for i in range(n_images)])
    run = denoise(bundle, states.expand(n_images, -1, -1), neg.expand(n_images, -1, -1), noise, steps, guidance,
                  n_real, progress)
    t1 = time.perf_counter()
    lat = torch.stack(run["latents"])  # (steps + 1, 4, h, w)
    x0, x0u, x0c = torch.stack(run["x0"]), torch.stack(run["x0_u"]), torch.stack(run["x0_c"])
    images = decode_images(bundle.vae, run["final"])  # the model's own VAE, full size
    t2 = time.perf_counter()
    previews = decode_images(bundle.preview_vae or bundle.vae, torch.cat([lat, x0, x0u, x0c]),
                             side=min(PREVIEW_SIDE, images.shape[1]))
    MEASURED[(key, str(bundle.model.device))] = dict(unet=run["unet_seconds"] / n_images, vae=(t2 - t1) / n_images,
                                                      preview=(time.perf_counter() - t2) / len(previews))
    return dict(tokens=tokens, truncated=truncated, images=images, previews=previews, latents=lat.numpy(),
                cross=torch.stack(run["cross"]), self_=torch.stack(run["self_"]).numpy(),
                timesteps=np.array(run["timesteps"]))


@memoize(maxsize=8, unkeyed=("progress",))
def _generate_sd(key, prompt, steps, guidance, seed, negative_prompt, n_images, progress=None) -> TextToImageResult:
    models.load(key)  # loaded here first (cached): on ZeroGPU the GPU worker process inherits it
    t0 = time.perf_counter()
    # ZeroGPU runs the decorated function in another process: a progress callback cannot follow it there
    out = run_on_device(key, prompt, negative_prompt, steps, guidance, seed, n_images,
                        None if ZERO_GPU else progress)
    k, previews, images = steps + 1, out["previews"], out["images"]
    cross = out["cross"]  # (steps, layers, heads, L, g, g)
    return TextToImageResult(
        model=key, prompt=prompt, negative_prompt=negative_prompt, steps=steps, guidance=guidance, seed=seed,
        tokens=out["tokens"], truncated=out["truncated"], rare_words=[], image=images[0], images=images,
        latents=out["latents"], decoded=previews[:k], x0_decoded=previews[k:k + steps],
        x0_uncond=previews[k + steps:k + 2 * steps], x0_cond=previews[k + 2 * steps:],
        cross_attention=cross.mean(dim=(1, 2)).numpy(), cross_attention_heads=cross.half().numpy(),
        self_attention=out["self_"], timesteps=out["timesteps"], seconds=time.perf_counter() - t0)
