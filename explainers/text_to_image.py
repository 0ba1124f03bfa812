"""Text to image the way Stable Diffusion does it, in miniature, with every step kept for display.

The stack (training/train_tiny_t2i.py trains it):
1. the prompt -> minilm's token states, one 384-d vector per token (the text encoder);
2. pure noise in a 4x16x16 *latent* space (not 32x32x3 pixels: 3x fewer values per step, and a space
   where every value carries meaning, so each step's work is spent on content, not pixel detail);
3. a diffusion transformer (PixArt-style DiT) over 64 latent patches (8x8, each 2x2 latents) predicts, at each step,
   how to remove the noise; in every block its patches read the prompt's tokens through
   cross-attention (what a classifier-free-guidance run does twice: with and without the prompt);
4. the autoencoder's decoder turns the final latent, and the model's guess at each step, into pixels;
   each step's noisy latent and the two guidance guesses go through the small preview decoder fitted
   to it (training/fit_t2i_preview.py), as TAESD does for Stable Diffusion.

`generate` validates its settings (explainers.t2i_spec) and returns the run for those settings,
computed once (MEMORY: identical requests share one computation). It records, for the first image,
the latent at every step, the current image and predicted clean image, the unconditional and
conditional guesses, and the attention the model really computed (models.attention_capture):
cross-attention per step, layer, head and token, and self-attention between patches. The sampling
loop itself is models.t2i_sampler.sample.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np
import torch

import models
from explainers import t2i_lexicon, text_to_image_sd
from explainers.compute import sharing_cores
from explainers.memory import MEMORY
from explainers.t2i_spec import (  # noqa: F401 - the tab's constants, re-read from here by older callers
    DEFAULT_GUIDANCE,
    DEFAULT_IMAGES,
    DEFAULT_MODEL,
    DEFAULT_STEPS,
    MAX_GUIDANCE,
    MAX_IMAGES,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    SPECIAL,
    STEP_RANGE,
    Settings,
    TextToImageResult,
    check_prompt,
    check_second_prompt,
    validate,
    word_maps,
    words_of,
)
from models.errors import InputError
from models.t2i_sampler import decode, pad_states, preview, sample, slerp, start_noise  # noqa: F401 - public here too
from models.text_image_data import MAX_TOKENS, training_vocabulary

RUNS = "text_to_image.run"  # MEMORY's namespace for runs
MEMORY.cap(RUNS, 24)


@dataclass(frozen=True)
class Prompt:
    """A prompt as the text encoder sees it."""

    text: str
    tokens: list[str]  # minilm word pieces, [CLS] ... [SEP]
    states: torch.Tensor  # (1, L, 384) token states
    truncated: bool  # longer than MAX_TOKENS tokens: the rest was cut
    read_as: tuple[tuple[str, str], ...] = ()  # (typed word, the word read instead): explainers.t2i_lexicon


def encode_prompt(text: str, read_unknown: bool = True) -> Prompt:
    """minilm token states for a prompt, cut at MAX_TOKENS tokens (the limit the model was trained with).
    read_unknown: size and colour words no training caption uses are first read through WordNet ('wee' ->
    'small', 'crimson' -> 'red'; explainers.t2i_lexicon)."""
    text, swaps = t2i_lexicon.read_as(text) if read_unknown else (text, ())
    enc = models.load("minilm")
    full = enc.tokenizer(text, truncation=False)["input_ids"]
    batch = enc.tokenizer(text, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    with torch.inference_mode():
        states = enc.model(**batch).last_hidden_state  # (1, L, 384)
    tokens = enc.tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
    return Prompt(text, tokens, states, truncated=len(full) > MAX_TOKENS, read_as=swaps)


def pad_prompts(prompts: list[Prompt]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack token states of different lengths: (B, L, 384) and a keep-mask (B, L)."""
    return pad_states([p.states for p in prompts])


def rare_words(tokens: list[str]) -> list[str]:
    """Words the model read (within its token limit) that no training caption uses."""
    vocab = training_vocabulary()
    words = [w.lower() for w, _ in words_of(tokens)]
    return [w for w in dict.fromkeys(words) if any(c.isalnum() for c in w) and w not in vocab]


WORD_PROBE = "a {} red 3 on a blue background"  # the sentence a word is read in to compare it with another


def word_vector(word: str) -> torch.Tensor:
    """minilm's vector (384,) for a word read in WORD_PROBE (its pieces averaged): the same context for every
    word, so two words' vectors can be compared."""
    p = encode_prompt(WORD_PROBE.format(word), read_unknown=False)
    n = len(p.tokens) - len(_probe_tokens())
    return p.states[0, 2:2 + max(n, 1)].mean(0)


@functools.lru_cache(maxsize=1)
def _probe_tokens() -> list[str]:
    return encode_prompt(WORD_PROBE.format("").replace("  ", " "), read_unknown=False).tokens


@functools.lru_cache(maxsize=1)
def learned_vectors() -> tuple[tuple[str, ...], torch.Tensor]:
    """The training captions' words (letters, 3 or more) and their unit vectors (N, 384), computed once."""
    words = tuple(sorted(w for w in training_vocabulary() if len(w) > 2 and w.isalpha()))
    return words, torch.nn.functional.normalize(torch.stack([word_vector(w) for w in words]), dim=-1)


def nearest_learned(word: str) -> tuple[str, float]:
    """The training word whose vector is closest to `word`'s (cosine similarity). The denoiser reads only
    these vectors: a word never trained on can steer the picture only through words near it (measured for
    size words in the model card: 'teeny' 0.92 from 'tiny' was followed, 'wee' 0.43 was not)."""
    words, table = learned_vectors()
    sims = table @ torch.nn.functional.normalize(word_vector(word), dim=0)
    i = int(sims.argmax())
    return words[i], round(float(sims[i]), 2)


def generate(prompt: str, steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE, seed: int = 0,
             negative_prompt: str = "", model: str = DEFAULT_MODEL, n_images: int = 1,
             progress=None, excite=None) -> TextToImageResult:
    """Text to image with everything recorded (see the module doc). Empty prompt: unconditional.
    excite: prompt words to raise with Attend-and-Excite (models.t2i_sampler); the recorded attention is
    the excited run's own."""
    return run(validate(prompt, steps, guidance, seed, negative_prompt, model, n_images, excite), progress)


def run(s: Settings, progress=None) -> TextToImageResult:
    """The run for validated settings: from MEMORY, or computed once (progress: called as progress(i, steps))."""
    if not s.embedded:  # Stable Diffusion repos: explainers/text_to_image_sd.py
        return text_to_image_sd.run_sd(s, progress)
    return MEMORY.get(RUNS, s, lambda: compute(s, progress), greedy=True)  # batched DiT passes gain from every core


def peek(s: Settings) -> TextToImageResult | None:
    """The stored run for these settings, or None (never computes)."""
    return MEMORY.peek(RUNS, s) if s.embedded else text_to_image_sd.peek_sd(s)


def compute(s: Settings, progress=None) -> TextToImageResult:
    """One recorded run, every image of it in one batch."""
    bundle = models.load(s.model)
    t0 = time.perf_counter()
    n = s.n_images
    p, neg = encode_prompt(s.prompt), encode_prompt(s.negative_prompt)
    cond = (p.states.expand(n, -1, -1), torch.ones(n, p.states.shape[1]))
    uncond = (neg.states.expand(n, -1, -1), torch.ones(n, neg.states.shape[1]))
    noise = start_noise(bundle, [s.seed + i for i in range(n)])
    out = sample(bundle, cond, uncond, noise, s.steps, s.guidance, record=True, progress=sharing_cores(progress),
                 excite=excite_groups(p.tokens, s.excite))
    lat = torch.stack(out["latents"])  # (steps + 1, C, h, w)
    x0, x0u, x0c = torch.stack(out["x0"]), torch.stack(out["x0_u"]), torch.stack(out["x0_c"])
    # The full decoder for what the run delivers and for the model's guess at each step (the word maps
    # are drawn over it); the small preview decoder for the noisy x_t and the two guidance guesses.
    full = decode(bundle, torch.cat([out["final"], x0]))
    images, x0_pics = full[:n], full[n:]
    pics = preview(bundle, torch.cat([lat[:-1], x0u, x0c]))
    k = s.steps
    cross = torch.stack(out["cross"])  # (steps, layers, heads, h*w, L)
    side = bundle.model.config.sample_size // bundle.model.config.patch_size
    cross = cross.permute(0, 1, 2, 4, 3).reshape(*cross.shape[:3], cross.shape[-1], side, side)
    selfa = torch.stack(out["self_"]).mean(dim=(1, 2))  # (steps, h*w, h*w)
    rare = rare_words(p.tokens)
    return TextToImageResult(
        model=s.model, prompt=s.prompt, negative_prompt=s.negative_prompt, steps=s.steps, guidance=s.guidance,
        seed=s.seed, tokens=p.tokens, truncated=p.truncated, rare_words=rare,
        rare_nearest=tuple((w, *nearest_learned(w)) for w in rare),
        image=images[0], images=images, latents=lat.numpy(), decoded=np.concatenate([pics[:k], images[:1]]),
        x0_decoded=x0_pics, x0_uncond=pics[k:2 * k], x0_cond=pics[2 * k:3 * k],
        cross_attention=cross.mean(dim=(1, 2)).numpy(), cross_attention_heads=cross.half().numpy(),
        self_attention=selfa.numpy(), timesteps=np.array(out["timesteps"]), seconds=time.perf_counter() - t0,
        excite=s.excite, read_as=tuple(dict.fromkeys(p.read_as + neg.read_as)))  # the negative prompt is read alike


def excite_groups(tokens: list[str], words: tuple[str, ...]) -> list[list[int]] | None:
    """The token indices of each word to excite (a word's pieces together), or None for a plain run."""
    if not words:
        return None
    groups = {w.lower(): idx for w, idx in words_of(tokens)}
    missing = [w for w in words if w not in groups]
    if missing:
        raise InputError(f"{', '.join(repr(w) for w in missing)}: not among the first {MAX_TOKENS} tokens the model "
                         "reads; shorten the prompt.")
    return [groups[w] for w in words]
