"""Text to image the way Stable Diffusion does it, in miniature, with every step kept for display.

The stack (models/train_tiny_t2i.py trains it):
1. the prompt -> minilm's token states, one 384-d vector per token (the text encoder);
2. pure noise in a 4x16x16 *latent* space (not 32x32x3 pixels: 3x fewer values per step, and a space
   where every value carries meaning, so each step's work is spent on content, not pixel detail);
3. a diffusion transformer (PixArt-style DiT) over 64 latent patches (8x8, each 2x2 latents) predicts, at each step,
   how to remove the noise; in every block its patches read the prompt's tokens through
   cross-attention (what a classifier-free-guidance run does twice: with and without the prompt);
4. the autoencoder's decoder turns the final latent (and each step's guess) into pixels.

`generate` records, for the first image, the latent at every step, the decoded current image and
predicted clean image, the unconditional and conditional guesses, and the attention the model
really computed (models.attention_capture): cross-attention per step, layer, head and token, and
self-attention between patches. Identical requests are computed once (bounded, single-flight cache).
"""

from __future__ import annotations

import contextvars
import functools
import time
from dataclasses import dataclass

import numpy as np
import torch

import models
from explainers.cache import bounded_cache
from explainers.text_input import check_number
from models.attention_capture import AttentionStore, recording
from models.text_image_data import MAX_TOKENS, training_vocabulary

DEFAULT_MODEL = "tiny-t2i"
DEFAULT_STEPS = 25
DEFAULT_GUIDANCE = 3.0  # best "all three right" in eval.json (3: 70.0%, 4: 69.5%, 5: 65.5%) and the best digit colour
STEP_RANGE = (2, 100)
MAX_GUIDANCE = 15.0
MAX_SEED = 2**31 - 1
MAX_IMAGES = 8
MAX_PROMPT_CHARS = 500
SPECIAL = ("[CLS]", "[SEP]", "[PAD]")

_progress: contextvars.ContextVar = contextvars.ContextVar("t2i_progress", default=None)


@dataclass(frozen=True)
class Prompt:
    """A prompt as the text encoder sees it."""

    text: str
    tokens: list[str]  # minilm word pieces, [CLS] ... [SEP]
    states: torch.Tensor  # (1, L, 384) token states
    truncated: bool  # longer than MAX_TOKENS tokens: the rest was cut


@dataclass(frozen=True)
class TextToImageResult:
    """One run. Per-step arrays describe the first image (seed `seed`); `images` holds all."""

    model: str
    prompt: str
    negative_prompt: str
    steps: int
    guidance: float
    seed: int
    tokens: list[str]  # (L,) the prompt's tokens, special ones included
    truncated: bool
    rare_words: list[str]  # words of the prompt no training caption used
    image: np.ndarray  # (H, W, 3) in [0, 1]: the final decoded image of the first seed
    images: np.ndarray  # (n_images, H, W, 3): seeds seed, seed + 1, ...
    latents: np.ndarray  # (steps + 1, C, h, w): x_T (pure noise) first, the final latent last
    decoded: np.ndarray  # (steps + 1, H, W, 3): each latent through the decoder
    x0_decoded: np.ndarray  # (steps, H, W, 3): the clean image predicted at each step
    x0_uncond: np.ndarray  # (steps, H, W, 3): ... from the unconditional (or negative-prompt) prediction
    x0_cond: np.ndarray  # (steps, H, W, 3): ... from the conditional prediction
    cross_attention: np.ndarray  # (steps, L, h, w): mean over layers and heads; sums to 1 over L
    cross_attention_heads: np.ndarray  # (steps, layers, heads, L, h, w) float16
    self_attention: np.ndarray  # (steps, h*w, h*w): mean over layers and heads; rows sum to 1
    timesteps: np.ndarray  # (steps,)
    seconds: float


def encode_prompt(text: str) -> Prompt:
    """minilm token states for a prompt, cut at MAX_TOKENS tokens (the limit the model was trained with)."""
    enc = models.load("minilm")
    full = enc.tokenizer(text, truncation=False)["input_ids"]
    batch = enc.tokenizer(text, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    with torch.inference_mode():
        states = enc.model(**batch).last_hidden_state  # (1, L, 384)
    tokens = enc.tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
    return Prompt(text, tokens, states, truncated=len(full) > MAX_TOKENS)


def check_prompt(text: object, what: str = "prompt") -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise ValueError(f"The {what} must be text, not {type(text).__name__}.")
    if len(text) > MAX_PROMPT_CHARS:
        raise ValueError(f"The {what} is {len(text):,} characters long; the limit is {MAX_PROMPT_CHARS}. Shorten it.")
    return " ".join(text.split())


def _pad(prompts: list[Prompt]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack token states of different lengths: (B, L, 384) and a keep-mask (B, L)."""
    n = max(p.states.shape[1] for p in prompts)
    states = torch.zeros(len(prompts), n, prompts[0].states.shape[2])
    mask = torch.zeros(len(prompts), n)
    for i, p in enumerate(prompts):
        states[i, : p.states.shape[1]] = p.states[0]
        mask[i, : p.states.shape[1]] = 1
    return states, mask


def start_noise(bundle, seeds: list[int]) -> torch.Tensor:
    """x_T for each seed, drawn from its own generator: an image depends only on its seed."""
    cfg = bundle.model.config
    shape = (cfg.in_channels, cfg.sample_size, cfg.sample_size)
    return torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(int(s))) for s in seeds])


def slerp(a: torch.Tensor, b: torch.Tensor, w: float) -> torch.Tensor:
    """Spherical interpolation: keeps the norm that Gaussian noise of this size has."""
    af, bf = a.flatten(), b.flatten()
    omega = torch.arccos(torch.clamp(torch.dot(af / af.norm(), bf / bf.norm()), -1, 1))
    if omega.abs() < 1e-4:
        return (1 - w) * a + w * b
    return (torch.sin((1 - w) * omega) * a + torch.sin(w * omega) * b) / torch.sin(omega)


@torch.inference_mode()
def sample(bundle, cond: tuple[torch.Tensor, torch.Tensor], uncond: tuple[torch.Tensor, torch.Tensor],
           noise: torch.Tensor, steps: int, guidance: float, record: bool = False, progress=None) -> dict:
    """The reverse process in latent space with classifier-free guidance.

    cond / uncond: (states (B, L, 384), mask (B, L)) for the prompt and for the empty or negative prompt.
    noise: (B, C, h, w) starting latents. Returns the final latents and, if `record`, every
    intermediate of image 0 and the attention it used.
    """
    dit, scheduler = bundle.model, _scheduler(bundle)
    n = noise.shape[0]
    states, mask = _pad_pair(cond, uncond)  # rows: n unconditional, then n conditional
    scheduler.set_timesteps(steps)
    x = noise * scheduler.init_noise_sigma
    out = dict(latents=[x[0].clone()], x0=[], x0_u=[], x0_c=[], cross=[], self_=[], timesteps=[])
    store = AttentionStore(keep=slice(n, n + 1), enabled=record)  # the conditional row of image 0
    with recording(store):
        for i, t in enumerate(scheduler.timesteps):
            # 1. one batched pass: the prediction without and with the prompt
            pred = dit(torch.cat([x, x]), encoder_hidden_states=states, encoder_attention_mask=mask,
                       timestep=t.expand(2 * n)).sample
            pred_u, pred_c = pred.chunk(2)
            # 2. classifier-free guidance: move from the unconditional prediction towards the prompt's
            guided = pred_u + guidance * (pred_c - pred_u)
            # 3. the scheduler's own update: x_t -> x_{t-1}, and its guess of the clean latent
            step = scheduler.step(guided, t, x)
            if record:
                out["x0"].append(step.pred_original_sample[0].clone())
                out["x0_u"].append(_x0(scheduler, pred_u[:1], t, x[:1])[0])
                out["x0_c"].append(_x0(scheduler, pred_c[:1], t, x[:1])[0])
                out["cross"].append(_stack(store, "attn2"))
                out["self_"].append(_stack(store, "attn1"))
                out["timesteps"].append(int(t))
                store.clear()
            x = step.prev_sample
            if record:
                out["latents"].append(x[0].clone())
            if progress is not None:
                progress(i + 1, steps)
    out["final"] = x
    return out


def _pad_pair(cond, uncond) -> tuple[torch.Tensor, torch.Tensor]:
    (cs, cm), (us, um) = cond, uncond
    n = max(cs.shape[1], us.shape[1])
    pad = lambda s, m: (torch.nn.functional.pad(s, (0, 0, 0, n - s.shape[1])),  # noqa: E731
                        torch.nn.functional.pad(m, (0, n - m.shape[1])))
    (us, um), (cs, cm) = pad(us, um), pad(cs, cm)
    return torch.cat([us, cs]), torch.cat([um, cm])


def _scheduler(bundle):
    """A fresh scheduler per run (set_timesteps mutates it; runs happen in parallel)."""
    return bundle.scheduler.__class__.from_config(bundle.scheduler.config, timestep_spacing="trailing")


def _x0(scheduler, pred: torch.Tensor, t, x: torch.Tensor) -> torch.Tensor:
    """The clean latent implied by one v-prediction (or epsilon) at timestep t."""
    a = scheduler.alphas_cumprod[int(t)]
    if scheduler.config.prediction_type == "v_prediction":
        return a.sqrt() * x - (1 - a).sqrt() * pred
    return (x - (1 - a).sqrt() * pred) / a.sqrt()


def _stack(store: AttentionStore, kind: str) -> torch.Tensor:
    """(layers, heads, queries, keys) of one step, layers in block order."""
    names = sorted((k for k in store.maps if k.endswith(kind)), key=lambda k: int(k.split(".")[1]))
    return torch.stack([store.maps[k][0][0] for k in names])


def decode(bundle, latents: torch.Tensor) -> np.ndarray:
    """(N, C, h, w) latents -> (N, H, W, 3) images in [0, 1]."""
    vae = bundle.vae
    with torch.inference_mode():
        img = vae.decode(latents / vae.config.scaling_factor).sample
    return ((img.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()


def rare_words(text: str) -> list[str]:
    words = [w.strip(".,;:!?'\"()").lower() for w in text.split()]
    vocab = training_vocabulary()
    return [w for w in dict.fromkeys(words) if w and w not in vocab]


def generate(prompt: str, steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE, seed: int = 0,
             negative_prompt: str = "", model: str = DEFAULT_MODEL, n_images: int = 1,
             progress=None) -> TextToImageResult:
    """Text to image with everything recorded (see the module doc). Empty prompt: unconditional."""
    prompt, negative_prompt = check_prompt(prompt), check_prompt(negative_prompt, "negative prompt")
    steps = check_number(steps, "Steps", *STEP_RANGE, integer=True)
    guidance = check_number(guidance, "Guidance", 0, MAX_GUIDANCE)
    seed = check_number(seed, "Seed", 0, MAX_SEED, integer=True)
    n_images = check_number(n_images, "Images", 1, MAX_IMAGES, integer=True)
    if models.spec(model).family != "text-to-image":
        raise ValueError(f"{model!r} is not a text-to-image model.")
    if models.spec(model).source == "hub":  # Stable Diffusion repos: explainers/text_to_image_sd.py
        from explainers.text_to_image_sd import generate_sd

        return generate_sd(model, prompt, steps, guidance, seed, negative_prompt, n_images, progress)
    token = _progress.set(progress)
    try:
        return _generate(prompt, steps, float(guidance), seed, negative_prompt, model, n_images)
    finally:
        _progress.reset(token)


@bounded_cache(maxsize=24)
def _generate(prompt, steps, guidance, seed, negative_prompt, model, n_images) -> TextToImageResult:
    bundle = models.load(model)
    t0 = time.perf_counter()
    p, neg = encode_prompt(prompt), encode_prompt(negative_prompt)
    cond = (p.states.expand(n_images, -1, -1), torch.ones(n_images, p.states.shape[1]))
    uncond = (neg.states.expand(n_images, -1, -1), torch.ones(n_images, neg.states.shape[1]))
    noise = start_noise(bundle, [seed + i for i in range(n_images)])
    run = sample(bundle, cond, uncond, noise, steps, guidance, record=True, progress=_progress.get())
    lat = torch.stack(run["latents"])  # (steps + 1, C, h, w)
    x0, x0u, x0c = torch.stack(run["x0"]), torch.stack(run["x0_u"]), torch.stack(run["x0_c"])
    pics = decode(bundle, torch.cat([lat, x0, x0u, x0c, run["final"]]))
    k = steps + 1
    cross = torch.stack(run["cross"])  # (steps, layers, heads, h*w, L)
    side = bundle.model.config.sample_size // bundle.model.config.patch_size
    cross = cross.permute(0, 1, 2, 4, 3).reshape(*cross.shape[:3], cross.shape[-1], side, side)
    selfa = torch.stack(run["self_"]).mean(dim=(1, 2))  # (steps, h*w, h*w)
    return TextToImageResult(
        model=model, prompt=prompt, negative_prompt=negative_prompt, steps=steps, guidance=guidance, seed=seed,
        tokens=p.tokens, truncated=p.truncated, rare_words=rare_words(prompt),
        image=pics[-n_images], images=pics[-n_images:], latents=lat.numpy(), decoded=pics[:k],
        x0_decoded=pics[k:k + steps], x0_uncond=pics[k + steps:k + 2 * steps], x0_cond=pics[k + 2 * steps:k + 3 * steps],
        cross_attention=cross.mean(dim=(1, 2)).numpy(), cross_attention_heads=cross.half().numpy(),
        self_attention=selfa.numpy(), timesteps=np.array(run["timesteps"]), seconds=time.perf_counter() - t0)


def word_maps(tokens: list[str], maps: np.ndarray, skip_special: bool = True) -> tuple[list[str], np.ndarray]:
    """Merge word pieces ('pur', '##ple') into words: a word's map is the mean of its pieces' (DAAM).
    maps: (..., L, h, w) -> (words, (..., W, h, w))."""
    groups: list[tuple[str, list[int]]] = []
    for i, tok in enumerate(tokens):
        if tok.startswith("##") and groups:
            groups[-1] = (groups[-1][0] + tok[2:], groups[-1][1] + [i])
        elif not (skip_special and tok in SPECIAL):
            groups.append((tok, [i]))
    if not groups:
        return [], maps[..., :0, :, :]
    return [w for w, _ in groups], np.stack([maps[..., idx, :, :].mean(axis=-3) for _, idx in groups], axis=-3)


# ---- comparisons built on generate/sample -------------------------------------------------

def _embedded_only(model: str, what: str) -> None:
    if models.spec(model).family != "text-to-image" or models.spec(model).source != "embedded":
        raise ValueError(f"{what} works with the embedded text-to-image model ({DEFAULT_MODEL}), not {model!r}.")


@dataclass(frozen=True)
class Interpolation:
    kind: str  # "seeds" or "prompts"
    weights: np.ndarray  # (k,) 0 -> the first end, 1 -> the second
    images: np.ndarray  # (k, H, W, 3)
    labels: list[str]


def interpolate(prompt: str, seed: int = 0, other_seed: int | None = None, other_prompt: str | None = None,
                k: int = 7, steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE,
                model: str = DEFAULT_MODEL) -> Interpolation:
    """A strip of k images with everything fixed but one thing: the starting noise (slerp between two
    seeds) or the prompt (a straight line between the two prompts' token states, padded to one length)."""
    prompt = check_prompt(prompt)
    _embedded_only(model, "Interpolation")
    seed = check_number(seed, "Seed", 0, MAX_SEED, integer=True)
    k = check_number(k, "Images", 3, 12, integer=True)
    steps = check_number(steps, "Steps", *STEP_RANGE, integer=True)
    guidance = check_number(guidance, "Guidance", 0, MAX_GUIDANCE)
    return _interpolate(prompt, seed, other_seed, check_prompt(other_prompt) if other_prompt else None, k,
                        steps, float(guidance), model)


@bounded_cache(maxsize=8)
def _interpolate(prompt, seed, other_seed, other_prompt, k, steps, guidance, model) -> Interpolation:
    bundle = models.load(model)
    w = np.linspace(0, 1, k)
    empty = encode_prompt("")
    uncond = (empty.states.expand(k, -1, -1), torch.ones(k, empty.states.shape[1]))
    a = encode_prompt(prompt)
    if other_prompt is None:  # two seeds, one prompt
        other_seed = seed + 1 if other_seed is None else check_number(other_seed, "Other seed", 0, MAX_SEED, integer=True)
        n0, n1 = start_noise(bundle, [seed, other_seed])
        noise = torch.stack([slerp(n0, n1, float(x)) for x in w])
        cond = (a.states.expand(k, -1, -1), torch.ones(k, a.states.shape[1]))
        labels = [f"seed {seed}" if x == 0 else f"seed {other_seed}" if x == 1 else f"{x:.2f}" for x in w]
        kind = "seeds"
    else:  # two prompts, one seed
        b = encode_prompt(other_prompt)
        (s, m) = _pad([a, b])
        wt = torch.tensor(w, dtype=torch.float32).view(-1, 1, 1)
        cond = ((1 - wt) * s[0] + wt * s[1], torch.maximum(m[0], m[1]).expand(k, -1))
        noise = start_noise(bundle, [seed]).expand(k, -1, -1, -1)
        labels = [prompt if x == 0 else other_prompt if x == 1 else f"{x:.2f}" for x in w]
        kind = "prompts"
    out = sample(bundle, cond, uncond, noise, steps, guidance)
    return Interpolation(kind, w, decode(bundle, out["final"]), labels)


@dataclass(frozen=True)
class LatentCosts:
    """Why latents: what one denoising step costs here vs in pixel space, measured with FlopCounterMode."""

    latent_values: int  # C x h x w
    pixel_values: int  # 3 x H x W of the decoded image
    dit_flops: int  # one DiT pass, one image
    dit_params: int
    decoder_flops: int  # decoding once, at the end
    vae_params: int
    unet_flops: int  # one pass of the pixel-space tiny-ddpm UNet (28 x 28 x 1), one image
    unet_params: int
    unet_values: int


@functools.lru_cache(maxsize=4)
def latent_costs(model: str = DEFAULT_MODEL) -> LatentCosts:
    from torch.utils.flop_counter import FlopCounterMode

    _embedded_only(model, "The latent-cost comparison")
    bundle, ddpm = models.load(model), models.load("tiny-ddpm")
    cfg = bundle.model.config
    x = torch.zeros(1, cfg.in_channels, cfg.sample_size, cfg.sample_size)
    p = encode_prompt("a red 7 on a blue background")

    def flops(fn) -> int:
        with torch.inference_mode(), FlopCounterMode(display=False) as fc:
            fn()
        return int(fc.get_total_flops())

    dit = flops(lambda: bundle.model(x, encoder_hidden_states=p.states, timestep=torch.tensor([500])))
    dec = flops(lambda: bundle.vae.decode(x))
    u = ddpm.model.config
    ux = torch.zeros(1, u.in_channels, u.sample_size, u.sample_size)
    unet = flops(lambda: ddpm.model(ux, torch.tensor([500]), class_labels=torch.tensor([7])))
    n = lambda m: sum(q.numel() for q in m.parameters())  # noqa: E731
    side = cfg.sample_size * 2 ** (len(bundle.vae.config.block_out_channels) - 1)
    return LatentCosts(x.numel(), 3 * side * side, dit, n(bundle.model), dec, n(bundle.vae), unet, n(ddpm.model),
                       ux.numel())


@bounded_cache(maxsize=8)
def during_training(prompt: str, seed: int = 0, steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE,
                    model: str = DEFAULT_MODEL) -> list[tuple[str, np.ndarray]]:
    """The same prompt and seed through the denoiser checkpoints kept during training, then the final one."""
    prompt = check_prompt(prompt)
    _embedded_only(model, "The training view")
    out = []
    p, empty = encode_prompt(prompt), encode_prompt("")  # the text encoder is the same for every checkpoint
    for name in [*models.checkpoints(model), None]:
        bundle = models.load(model, checkpoint=name)
        run = sample(bundle, (p.states, torch.ones(1, p.states.shape[1])), (empty.states, torch.ones(1, empty.states.shape[1])),
                     start_noise(bundle, [seed]), steps, guidance)
        label = f"training step {int(name.split('-')[1]):,}" if name else "final (shipped)"
        out.append((label, decode(bundle, run["final"])[0]))
    return out
