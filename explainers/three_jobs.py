"""One block, three jobs: the same Transformer block writes text, reads an image and draws latents.

`three_jobs` runs one forward pass of each embedded transformer and measures it:

- **tiny-gpt writes text**: word tokens, *causal* self-attention (a token sees itself and the
  tokens before it), one pass outputs the next token's probabilities.
- **tiny-vit reads an image**: a CLS token plus 49 patch tokens, *full* self-attention (a
  picture has no "before"), one pass outputs the probabilities of the ten digits.
- **tiny-t2i's DiT draws latents**: 64 latent-patch tokens with full self-attention, plus
  *cross-attention* from every patch to every word of the prompt; one pass outputs a
  prediction (here its guess of the clean image) from the noise at the first sampling step.

For each: the tokens, the attention mask as a matrix (which query may look at which key) and the
attention the model actually computed (mean over layers and heads), the parameters of the whole
model and of one block with the block's parts, FLOPs per forward pass and per block (PyTorch's
`FlopCounterMode`), and the median time of one pass. Nothing here is hard-coded: change the
inputs and every figure is measured again.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

import models
from explainers.memory import memoize
from explainers.text_input import check_number, clean_text
from models.errors import InputError
from models.t2i_sampler import attention_of, clean_latent, fresh_scheduler

DEFAULT_TEXT = "O Romeo, Romeo, wherefore art thou"
DEFAULT_DIGIT = 700  # a held-out 7
DEFAULT_PROMPT = "a red 7 on a blue background"
MAX_TEXT_TOKENS = 24  # enough for a sentence, small enough for a readable matrix
TIMED_PASSES = 5


@dataclass(frozen=True)
class Job:
    key: str  # "gpt" | "vit" | "dit"
    title: str
    model: str
    tokens: list[str]  # the query tokens, in order
    token_images: list[np.ndarray] | None  # thumbnails for patch tokens (ViT: (p, p) grey; DiT: none)
    mask: np.ndarray  # (T, T) 1 where a query token may attend to a key token (self-attention)
    attention: np.ndarray  # (T, T) self-attention computed, mean over layers and heads; rows sum to 1
    cross_tokens: list[str]  # DiT: the prompt's tokens (the keys of cross-attention); [] otherwise
    cross_mask: np.ndarray | None  # (T, L) 1 where a patch may read a word
    cross_attention: np.ndarray | None  # (T, L) mean over layers and heads; rows sum to 1
    parameters: int  # the whole network (DiT: without the frozen text encoder)
    blocks: int
    block_parameters: int  # one block
    block_parts: list[tuple[str, int]]  # (part of the block, its parameters), in order
    flops: int  # one forward pass
    block_flops: int  # block 0 within that pass
    seconds: float  # median of TIMED_PASSES passes
    output_labels: list[str]  # what one pass outputs, as a distribution (GPT, ViT) ...
    output_probs: np.ndarray | None
    input_image: np.ndarray | None  # ViT: the digit read; DiT: the noise it starts from (decoded)
    output_image: np.ndarray | None  # DiT: its guess of the clean image after one pass (decoded)


@dataclass(frozen=True)
class ThreeJobs:
    text: str
    digit_index: int
    prompt: str
    jobs: tuple[Job, Job, Job]


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _parts(block: torch.nn.Module) -> list[tuple[str, int]]:
    """The block's named parts with their parameters (a DiT block's adaLN table is a bare parameter)."""
    parts = [(name, _count(m)) for name, m in block.named_children()]
    parts += [(name, p.numel()) for name, p in block.named_parameters(recurse=False)]
    return parts


def _measure(fn, block_suffix: str) -> tuple[int, int, float]:
    """FLOPs of one call, FLOPs inside the module whose name ends with block_suffix, median seconds."""
    with torch.inference_mode(), FlopCounterMode(display=False) as fc:
        fn()
    total = int(fc.get_total_flops())
    per_module = fc.get_flop_counts()
    block = [sum(v.values()) for k, v in per_module.items() if k.endswith(block_suffix)]
    times = []
    with torch.inference_mode():
        for _ in range(TIMED_PASSES):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return total, int(block[0]) if block else 0, statistics.median(times)


def _mean_attention(stacked: np.ndarray) -> np.ndarray:
    """(layers, heads, Q, K) -> (Q, K), rows renormalised against float error."""
    m = stacked.astype(np.float64).mean(axis=(0, 1))
    return (m / m.sum(-1, keepdims=True)).astype(np.float32)


def gpt_job(text: str) -> Job:
    from explainers.attention import readable

    bundle = models.load("tiny-gpt")
    model, tok = bundle.model, bundle.tokenizer
    ids = tok(text, return_tensors="pt")["input_ids"][:, :MAX_TEXT_TOKENS]
    if ids.shape[1] == 0:
        raise InputError("The text gives no tokens; type a few words.")
    with torch.inference_mode():
        out = model(input_ids=ids, output_attentions=True)
    att = torch.stack(out.attentions)[:, 0].float().numpy()
    probs = torch.softmax(out.logits[0, -1].float(), -1).numpy()
    top = np.argsort(-probs)[:5]
    flops, block_flops, seconds = _measure(lambda: model(input_ids=ids), ".h.0")
    t = ids.shape[1]
    block = model.transformer.h[0]
    return Job("gpt", "GPT writes text", "tiny-gpt", readable(tok, ids[0].tolist()), None,
               np.tril(np.ones((t, t), np.float32)), _mean_attention(att), [], None, None,
               _count(model), len(model.transformer.h), _count(block), _parts(block), flops, block_flops, seconds,
               readable(tok, top.tolist()), probs[top], None, None)


def held_out_digit(index: int) -> np.ndarray:
    """One of the 1,000 held-out real digits (never trained on), (28, 28) in [0, 1]."""
    from models.digits import held_out_mask, mnist_digits

    x, _ = mnist_digits()
    pool = np.flatnonzero(held_out_mask(len(x)))
    i = check_number(index, "digit index", 0, len(pool) - 1, integer=True)
    return x[pool[int(i)]]


def vit_job(image: np.ndarray) -> Job:
    from explainers import vision

    r = vision.classify(image, centre=False)
    bundle = models.load(vision.MODEL)
    model = bundle.model
    mean, std = vision.pixel_stats(bundle)
    x = (torch.from_numpy(r.image.copy())[None, None] - mean) / std
    flops, block_flops, seconds = _measure(lambda: model(pixel_values=x), ".layers.0")
    t = r.attentions.shape[-1]
    block = model.vit.layers[0]
    tokens = ["CLS"] + [f"p{i + 1}" for i in range(t - 1)]
    return Job("vit", "ViT reads an image", vision.MODEL, tokens, list(r.patches), np.ones((t, t), np.float32),
               _mean_attention(r.attentions), [], None, None, _count(model), len(model.vit.layers),
               _count(block), _parts(block), flops, block_flops, seconds, [str(d) for d in range(10)], r.probs,
               r.image, None)


def dit_job(prompt: str, seed: int = 0) -> Job:
    from explainers import text_to_image as t2i
    from models.attention_capture import AttentionStore, recording

    bundle = models.load(t2i.DEFAULT_MODEL)
    dit = bundle.model
    p = t2i.encode_prompt(prompt)
    noise = t2i.start_noise(bundle, [seed])
    scheduler = fresh_scheduler(bundle)
    scheduler.set_timesteps(t2i.DEFAULT_STEPS)
    t = scheduler.timesteps[0]  # the first sampling step: pure noise in, a first guess out
    x = noise * scheduler.init_noise_sigma
    mask = torch.ones(1, p.states.shape[1])
    kwargs = dict(encoder_hidden_states=p.states, encoder_attention_mask=mask, timestep=t.reshape(1))
    store = AttentionStore()
    with torch.inference_mode(), recording(store):
        pred = dit(x, **kwargs).sample
    self_att = attention_of(store, "attn1").float().numpy()  # (layers, heads, Q, K)
    cross = attention_of(store, "attn2").float().numpy()
    x0 = clean_latent(scheduler, pred, t, x)
    noise_img, guess = t2i.decode(bundle, torch.cat([x, x0]))
    flops, block_flops, seconds = _measure(lambda: dit(x, **kwargs), "transformer_blocks.0")
    n = self_att.shape[-1]
    block = dit.transformer_blocks[0]
    words = list(p.tokens)
    return Job("dit", "DiT draws latents", t2i.DEFAULT_MODEL, [f"z{i + 1}" for i in range(n)], None,
               np.ones((n, n), np.float32), _mean_attention(self_att), words,
               np.ones((n, len(words)), np.float32), _mean_attention(cross), _count(dit),
               len(dit.transformer_blocks), _count(block), _parts(block), flops, block_flops, seconds, [], None,
               noise_img, guess)


@memoize(maxsize=16)
def _three_jobs(text: str, digit_index: int, prompt: str) -> ThreeJobs:
    return ThreeJobs(text, digit_index, prompt,
                     (gpt_job(text), vit_job(held_out_digit(digit_index)), dit_job(prompt)))


def three_jobs(text: str = DEFAULT_TEXT, digit_index: int = DEFAULT_DIGIT, prompt: str = DEFAULT_PROMPT) -> ThreeJobs:
    """One measured forward pass of each embedded transformer (identical requests computed once).

    text: what tiny-gpt reads (first MAX_TEXT_TOKENS tokens); digit_index: which of the 1,000
    held-out real digits tiny-vit reads; prompt: what the text-to-image DiT reads."""
    from explainers import text_to_image as t2i

    text = clean_text(text, example=DEFAULT_TEXT)
    prompt = t2i.check_prompt(prompt)
    i = int(check_number(digit_index, "digit index", 0, 999, integer=True))
    return _three_jobs(text, i, prompt)
