"""Masked (absorbing-state) diffusion for text: the MDLM / LLaDA training objective, its likelihood
bound, and LLaDA's sampler. The denoiser is a GPT-2 with the causal mask off (`config.is_causal =
False`: transformers then builds a bidirectional mask), started from tiny-gpt's weights with one
extra token, MASK, as Dream 7B and DiffuLLaMA adapt autoregressive models.

Forward process: each token of x0 is replaced by MASK with probability t (t ~ U(0, 1)). The model
reads x_t and predicts every masked token; the loss is the cross-entropy on the masked tokens
weighted by 1/t, an upper bound on the negative log-likelihood of x0 (Sahoo et al. 2024, Nie et al.
2025). Like Dream, the model keeps the autoregressive shift it was trained with: the logits at
position i-1 predict token i, so the output head keeps its old job; a start token (tiny-gpt's
<|endoftext|>) goes in front, so position 0 is predicted too. The longest input is therefore one
token shorter than tiny-gpt's context.

Sampling (LLaDA): the prompt, then `length` MASKs; at each of `steps` steps the model predicts every
masked token and the most confident k are kept, the rest stay masked; a kept token never changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch


def adapt_from_autoregressive(ar_model):
    """A bidirectional copy of a GPT-2 with one more token (MASK = the old vocabulary size), its
    embedding initialised to the mean of the others. Returns (model, mask_id)."""
    from transformers import GPT2LMHeadModel

    cfg = ar_model.config.to_dict()
    mask_id = cfg["vocab_size"]
    cfg.update(vocab_size=mask_id + 1, is_causal=False)
    cfg.pop("architectures", None)
    model = GPT2LMHeadModel(type(ar_model.config).from_dict(cfg))
    state = {k: v.float() for k, v in ar_model.state_dict().items()}
    wte = state["transformer.wte.weight"]
    state["transformer.wte.weight"] = torch.cat([wte, wte.mean(0, keepdim=True)])
    state.pop("lm_head.weight", None)  # tied to wte
    model.load_state_dict(state, strict=False)
    model.tie_weights()
    return model, mask_id


@torch.no_grad()
def reads_both_ways(model, mask_id: int, length: int = 12) -> bool:
    """True when the first position's prediction changes with the last token: the causal mask is
    really off. A transformers version that ignored `is_causal=False` would train a left-to-right
    model under the diffusion loss; the training script checks this before its first step."""
    g = torch.Generator().manual_seed(0)
    a = torch.randint(1, mask_id, (1, length), generator=g)
    b = a.clone()
    b[0, -1] = b[0, -1] % (mask_id - 1) + 1
    dev = next(model.parameters()).device
    la, lb = denoiser_logits(model, a.to(dev), mask_id), denoiser_logits(model, b.to(dev), mask_id)
    return not torch.allclose(la[0, 0], lb[0, 0])


def denoiser_logits(model, ids: torch.Tensor, mask_id: int) -> torch.Tensor:
    """(B, T) token ids with mask_id where masked -> (B, T, V) logits of p(x_i | x_t), V without MASK.
    The model reads [start] + ids; position i reads its output at i (the autoregressive shift kept)."""
    start = torch.full_like(ids[:, :1], model.config.bos_token_id)
    return model(input_ids=torch.cat([start, ids], 1)).logits.float()[:, :-1, :mask_id]


def mask_tokens(x0: torch.Tensor, t: torch.Tensor, mask_id: int, generator: torch.Generator | None = None):
    """The forward process: each token masked with probability t (one t per row). Returns (x_t, masked)."""
    u = torch.rand(x0.shape, generator=generator, device="cpu").to(x0.device)
    masked = u < t[:, None]
    return torch.where(masked, torch.full_like(x0, mask_id), x0), masked


ROW_BUCKET = 512


def diffusion_loss(model, x0: torch.Tensor, mask_id: int, generator: torch.Generator | None = None,
                   t: torch.Tensor | None = None, eps: float = 1e-3) -> torch.Tensor:
    """The MDLM / LLaDA objective per token: sum over masked tokens of -log p(x0_i | x_t) / t, divided
    by the number of tokens. Its expectation over t is >= the NLL per token."""
    b, n = x0.shape
    if t is None:  # stratified over the batch (MDLM's low-discrepancy sampler): a lower-variance estimate
        t = ((torch.arange(b) + torch.rand(b, generator=generator)) / b)[torch.randperm(b, generator=generator)]
        t = (t * (1 - eps) + eps).to(x0.device)
    xt, masked = mask_tokens(x0, t, mask_id, generator)
    # the same logits as denoiser_logits, but the output head runs only where a token is masked
    start = torch.full_like(xt[:, :1], model.config.bos_token_id)
    hidden = model.transformer(input_ids=torch.cat([start, xt], 1)).last_hidden_state[:, :-1]
    rows = masked.flatten().nonzero()[:, 0]
    # the head's input padded to a multiple of ROW_BUCKET rows: under CPU bfloat16 autocast oneDNN caches a
    # kernel per matrix shape, and a new number of masked tokens at every step grew the process by ~30 MB a step
    padded = torch.cat([rows, rows[:1].expand(-len(rows) % ROW_BUCKET)]) if len(rows) else rows
    logits = model.lm_head(hidden.flatten(0, 1)[padded]).float()[:len(rows), :mask_id]
    nll = torch.nn.functional.cross_entropy(logits, x0.flatten()[rows], reduction="none")
    return (nll / t[:, None].expand(b, n)[masked]).sum() / (b * n)


@torch.no_grad()
def nll_bound(model, windows: torch.Tensor, mask_id: int, samples: int = 16, seed: int = 0,
              batch: int = 16) -> float:
    """Monte Carlo estimate of the bound (nats per predicted token) over (N, T) windows; each window
    gets `samples` values of t, stratified over (0, 1) to lower the variance."""
    g = torch.Generator().manual_seed(seed)
    total, count = 0.0, 0
    dev = next(model.parameters()).device
    for i in range(0, len(windows), batch):
        x0 = windows[i:i + batch].to(dev)
        for s in range(samples):
            t = ((s + torch.rand(len(x0), generator=g)) / samples).clamp_min(1e-3).to(dev)
            total += float(diffusion_loss(model, x0, mask_id, g, t=t)) * len(x0)
            count += len(x0)
    return total / count


def reveal_counts(length: int, steps: int) -> list[int]:
    """Tokens revealed at each step: `length` spread as evenly as possible over `steps` (LLaDA's linear schedule)."""
    base, extra = divmod(length, steps)
    return [base + (1 if s < extra else 0) for s in range(steps)]


@dataclass(frozen=True)
class Unmasking:
    frames: torch.Tensor  # (steps + 1, P + L): frame 0 all masks after the prompt, the last none
    confidence: torch.Tensor  # (P + L,) the probability of each token when it was revealed (prompt: 1)
    revealed_at: torch.Tensor  # (P + L,) the step that revealed each token (prompt: 0)
    passes: int


def block_schedule(length: int, steps: int, blocks: int) -> list[tuple[int, int]]:
    """(block, tokens to reveal) per step: LLaDA's semi-autoregressive schedule. The continuation is cut
    into `blocks` equal blocks written left to right, each in steps // blocks steps (blocks must divide
    steps; 1 block: the plain schedule over the whole continuation)."""
    if blocks < 1 or steps % blocks or blocks > length:
        raise ValueError(f"{blocks} blocks must divide the {steps} steps and be at most the length {length}")
    sizes = reveal_counts(length, blocks)
    per = steps // blocks
    out = []
    for b, size in enumerate(sizes):
        out += [(b, k) for k in reveal_counts(size, min(per, size))] + [(b, 0)] * max(0, per - size)
    return out


@torch.no_grad()
def sample(model, prompt_ids: list[int], length: int, steps: int, mask_id: int, seed: int = 0,
           temperature: float = 0.0, progress: Callable[[int, int], None] | None = None, blocks: int = 1,
           remasking: str = "low_confidence") -> Unmasking:
    """LLaDA's sampler: predict every masked token (of the current block, with semi-autoregressive
    `blocks`) and keep k of them; the rest are masked again. remasking (LLaDA's generate.py names):
    "low_confidence" keeps the k surest, "random" keeps k chosen at random (MDLM's ancestral order)."""
    if remasking not in ("low_confidence", "random"):
        raise ValueError(f"remasking must be 'low_confidence' or 'random', not {remasking!r}")
    if steps < 1 or steps > length:
        raise ValueError(f"steps must be between 1 and the length ({length}), not {steps}")
    g = torch.Generator().manual_seed(int(seed))
    p = len(prompt_ids)
    x = torch.tensor([list(prompt_ids) + [mask_id] * length], dtype=torch.long)
    conf = torch.ones(p + length)  # the prompt is given
    when = torch.zeros(p + length, dtype=torch.long)
    frames = [x[0].clone()]
    starts = [p + sum(reveal_counts(length, blocks)[:b]) for b in range(blocks + 1)]
    for step, (block, k) in enumerate(block_schedule(length, steps, blocks), start=1):
        probs = torch.softmax(denoiser_logits(model, x, mask_id)[0] / max(temperature, 1e-6), -1)  # (T, V)
        if temperature > 0:
            guess = torch.multinomial(probs, 1, generator=g)[:, 0]
        else:
            guess = probs.argmax(-1)
        c = probs.gather(1, guess[:, None])[:, 0]
        masked = x[0] == mask_id
        masked[:starts[block]] = False
        masked[starts[block + 1]:] = False  # only the current block is written
        score = c if remasking == "low_confidence" else torch.rand(c.shape, generator=g)
        score = torch.where(masked, score, torch.full_like(score, -math.inf))
        pick = torch.topk(score, k).indices
        x[0, pick] = guess[pick]
        conf[pick] = c[pick]
        when[pick] = step
        frames.append(x[0].clone())
        if progress is not None:
            progress(step, steps)
    return Unmasking(torch.stack(frames), conf, when, steps)
